"""Benchmark of wave execution against the simulator, through the real SDK.

For generated projects of 100, 800 and 3,000 atoms (a layered call graph of realistic depth and
width: 2.5·ln(n) levels, most atoms near the leaves, each calling one atom of the level below and up
to two deeper ones), with lognormal latency (mean 1 s) and a rate limit, it prints per run:
makespan; the lower bound max(critical path, admitted requests beyond the bucket's first fill ÷ the
rate) and their ratio, the critical path taken from the latency the simulator served plus the
engine's validation time; the makespan of a strict wave-barrier schedule on the same graph, run
against a fresh simulator with the same seed (latency is drawn from each request, so both schedules
face the same latencies and defects); peak and mean concurrency and the mean AIMD limit; latency as
served and as seen by the client (a gap between them is a busy machine); the share of the limit used
and of requests answered 429, in the steady state between the 10th and 90th percent of admitted
requests; retries sent before their retry-after (counted by the simulator, per refused request);
defects injected, caught (the atom's first answer rejected), repaired; atoms valid and atoms whose
final code is right; cost; peak memory; mypy's runs and its waits; CPU per atom. Then the budget
overshoot of 100 workers calling until the budget refuses them, and the engine's own overhead per
atom (an instant model behind a governor and no validation: wall clock and CPU time), and a table of
the targets.

    python benchmarks/execution.py                      # 100, 800 and 3000 atoms
    python benchmarks/execution.py --sizes 100 --json execution.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

from mge_assets.atomize import Atom, atomize_file
from mge_assets.errors import BudgetExceededError
from mge_assets.execute import AtomValidator, ExecutionSettings, Verdict, execute_atoms
from mge_assets.execute.typecheck import TypeChecker
from mge_assets.graph.model import DependencyGraph, Edge
from mge_assets.llm import Budget, ModelClient, ModelRequest, ModelResponse
from mge_assets.llm.answers import render_code
from mge_assets.llm.anthropic_backend import AnthropicBackend
from mge_assets.llm.envelope import embed, extract
from mge_assets.llm.governor import RateGovernor
from mge_assets.llm.pricing import estimate_tokens, worst_case_usd
from mge_assets.settings import mypy_cache_dir

MODEL = "claude-haiku-4-5"
PER_FILE = 50


# -- the generated project ------------------------------------------------------------------------


def generate(size: int, seed: int) -> tuple[dict[str, str], list[tuple[int, list[int]]]]:
    """Files of a package `bench` and, per function index, the functions it calls."""
    rng = random.Random(seed)
    depth = max(5, round(2.5 * math.log(size)))
    weights = [0.85**level for level in range(depth)]
    counts = [max(1, round(size * w / sum(weights))) for w in weights]
    counts[0] += size - sum(counts)
    levels: list[list[int]] = []
    index = 0
    for count in counts:
        levels.append(list(range(index, index + count)))
        index += count
    calls: list[tuple[int, list[int]]] = []
    for level, members in enumerate(levels):
        for function in members:
            deps: set[int] = set()
            if level:
                deps.add(rng.choice(levels[level - 1]))
                for _ in range(rng.choice([0, 0, 1, 1, 2])):
                    deps.add(rng.choice(levels[rng.randrange(level)]))
            calls.append((function, sorted(deps)))
    order = list(range(size))
    rng.shuffle(order)
    module_of = {f: order.index(f) // PER_FILE for f in range(size)}
    files: dict[str, list[str]] = {}
    for function, deps in sorted(calls):
        files.setdefault(f"bench/m{module_of[function]:03d}.py", []).append(_function(function, deps))
    result = {"bench/__init__.py": '"""Generated benchmark package."""\n'}
    for path, bodies in files.items():
        module = int(path[-6:-3])
        imported = sorted({d for f, deps in calls if module_of[f] == module for d in deps if module_of[d] != module})
        header = [f'"""Module {module}."""\n']
        by_module: dict[int, list[int]] = {}
        for dep in imported:
            by_module.setdefault(module_of[dep], []).append(dep)
        header += [
            f"from bench.m{m:03d} import {', '.join(f'f_{d}' for d in ds)}\n" for m, ds in sorted(by_module.items())
        ]
        result[path] = "".join(header) + "".join(bodies)
    return result, calls


def _function(index: int, deps: list[int]) -> str:
    lines = [f"\n\ndef f_{index}(x: int) -> int:\n", f'    """Step {index}."""\n']
    names = []
    for number, dep in enumerate(deps):
        name = f"v{number}"
        lines.append(f"    {name} = f_{dep}(x + {number})\n")
        names.append(name)
    lines.append(f"    total = {' + '.join(names) or 'x * 2'} + {index}\n")
    lines.append("    return total\n")
    return "".join(lines)


def atoms_and_graph(files: dict[str, str], calls: list[tuple[int, list[int]]]) -> tuple[list[Atom], DependencyGraph]:
    atoms = [a for path, code in files.items() for a in atomize_file(path, code.encode())]
    by_symbol = {a.symbol: a.id for a in atoms if a.kind == "function"}
    edges = [
        Edge(source=by_symbol[f"f_{f}"], target=by_symbol[f"f_{d}"], type="call") for f, deps in calls for d in deps
    ]
    depends: dict[str, set[str]] = {a.id: set() for a in atoms}
    for edge in edges:
        depends[edge.source].add(edge.target)
    waves, placed = [], set()
    while len(placed) < len(atoms):
        wave = tuple(a.id for a in atoms if a.id not in placed and depends[a.id] <= placed)
        waves.append(wave)
        placed |= set(wave)
    graph = DependencyGraph(
        nodes=tuple(a.id for a in atoms), edges=tuple(edges), broken=(), unresolved=(), waves=tuple(waves)
    )
    return atoms, graph


def build(atom: Atom, attempt: int, errors: list[str], rejected: str, final_code: dict[str, str]) -> ModelRequest:
    """The shape of the pipeline's write_atom prompt: context, dependencies' final code, feedback."""
    context = "\n".join(f"```python\n{code}```" for code in final_code.values())
    retry = f"\nYour previous answer was rejected: {errors[-1]}\n{rejected}\nCorrect it." if errors else ""
    payload = {
        "atom": {"id": atom.id, "file": atom.file, "kind": atom.kind, "symbol": atom.symbol},
        "draft": atom.code,
        "feedback": bool(errors),
    }
    prompt = f"Write `{atom.symbol}`. It uses:\n{context}\nIts draft:\n{atom.code}{retry}\n" + embed(
        "write_atom", payload
    )
    temperature = (0.7, 0.5, 0.3, 0.3)[min(attempt, 4) - 1]
    return ModelRequest("write_atom", "You write production Python, one unit at a time.", prompt, temperature, 1024)


# -- one run against the simulator -----------------------------------------------------------------


async def run_once(url: str, atoms, graph, files, workdir: Path, barrier: bool) -> dict:
    """One execution of the graph against a fresh simulator: the engine's report and what it measured."""
    governor = RateGovernor(initial=4, maximum=96, max_pause_s=30)
    backend = AnthropicBackend("simulated", MODEL, base_url=url, governor=governor, max_wait_s=30)
    client = ModelClient(backend)
    checker = TypeChecker(files, workdir / ("barrier" if barrier else "project"), mypy_cache_dir())
    validator = AtomValidator({p: c.encode() for p, c in files.items()}, checker)
    await checker.check("bench/__init__.py", files["bench/__init__.py"])  # the baseline, before the clock starts
    cpu = time.process_time()
    report = await execute_atoms(
        atoms, graph, client, build, validator, "bench", ExecutionSettings(workers=96, barrier=barrier)
    )
    cpu = time.process_time() - cpu
    await backend.client.close()
    return {
        "report": report,
        "peak_concurrency": governor.stats.peak_in_flight,
        "mean_concurrency": governor.mean_in_flight(report.makespan_s),
        "cpu_s": cpu,
        "checker": checker,
        "client_latency_s": [r.latency_s for r in client.records if not r.error],
        "limit_mean": time_weighted(governor.stats.limit_history, report.makespan_s),
    }


def time_weighted(history: list[tuple[float, float]], elapsed_s: float) -> float:
    """The mean of the concurrency limit over the run, from its (time, value) changes."""
    if not history:
        return 0.0
    end = history[0][0] + elapsed_s
    spans = zip(history, [t for t, _ in history[1:]] + [end], strict=True)
    total = sum(value * max(0.0, until - at) for (at, value), until in spans)
    return total / max(1e-9, end - history[0][0])


def critical_path(graph: DependencyGraph, service: dict[str, float]) -> float:
    depends = graph.dependencies()
    finish: dict[str, float] = {}
    for wave in graph.waves:
        for atom in wave:
            finish[atom] = service.get(atom, 0.0) + max((finish[d] for d in depends[atom]), default=0.0)
    return max(finish.values(), default=0.0)


def steady_state(timeline: list[tuple[float, int]], rpm: float) -> dict[str, float]:
    """Between the arrivals of the 10th and 90th percent of the admitted requests (the ramp-up at
    the start and the tail of the critical path at the end left out): the share of the limit used
    and the share of requests answered 429."""
    admitted = [t for t, status in timeline if status != 429]
    if len(admitted) < 10:
        return {"utilization": 0.0, "share_429": 0.0}
    lo, hi = admitted[len(admitted) // 10], admitted[(len(admitted) * 9) // 10]
    inside = [status for t, status in timeline if lo <= t <= hi]
    used = sum(status != 429 for status in inside)
    return {
        "utilization": used / ((hi - lo) * rpm / 60.0) if hi > lo else 0.0,
        "share_429": sum(status == 429 for status in inside) / len(inside) if inside else 0.0,
    }


def stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/_simulator/stats") as response:
        return json.loads(response.read())


@contextlib.contextmanager
def simulator(args: argparse.Namespace):
    """A fresh simulator process (its own core, like the real API): yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable, "-m", "mge_assets.cli", "simulate", "--port", str(port),
        "--latency-mean", str(args.latency_mean), "--latency-p95", str(args.latency_p95),
        "--rpm", str(args.rpm), "--burst", str(args.burst), "--defect-rate", str(args.defect_rate),
        "--seed", str(args.seed),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                stats(url)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise SystemExit("the simulator did not start")
        yield url
    finally:
        process.terminate()
        process.wait()


def measure(size: int, args: argparse.Namespace, workdir: Path) -> dict:
    files, calls = generate(size, args.seed)
    atoms, graph = atoms_and_graph(files, calls)
    load_before = os.getloadavg()[0]
    with simulator(args) as url:
        run = asyncio.run(run_once(url, atoms, graph, files, workdir / f"n{size}", barrier=False))
        served = stats(url)
    barrier_makespan = None
    if not args.no_barrier:  # a fresh simulator with the same seed: the same defects and latencies
        with simulator(args) as url:
            barrier = asyncio.run(run_once(url, atoms, graph, files, workdir / f"n{size}", barrier=True))
            barrier_makespan = barrier["report"].makespan_s
    report = run["report"]
    outcomes = {o.atom_id: o for o in report.outcomes}
    # The lower bound from what the simulator served: model latency of every answer of an atom, plus
    # the validation of its answers (as the engine timed it), along the longest chain; and the rate
    # limit's time for every admitted request beyond the bucket's first fill.
    model_s = {a: float(served["atom_latency_s"].get(a, 0.0)) for a in outcomes}
    service = {a: model_s[a] + outcomes[a].validation_s for a in outcomes}
    requests = served["requests"]
    throttled = served["status"].get("429", 0)
    admitted = requests - throttled
    rate = args.rpm / 60.0
    rate_bound = max(0.0, admitted - rate * args.burst) / rate
    path = critical_path(graph, service)
    lower = max(path, rate_bound)
    steady = steady_state([tuple(x) for x in served["timeline"]], args.rpm)
    defective = set(served["defective_atoms"])
    rejected_first = {a for a, o in outcomes.items() if o.history and o.history[0].get("problems")}
    drafts = {a.id: a.code for a in atoms}
    return {
        "atoms": len(atoms),
        "waves": len(graph.waves),
        "makespan_s": round(report.makespan_s, 2),
        "lower_bound_s": round(lower, 2),
        "critical_path_s": round(path, 2),
        "critical_path_model_s": round(critical_path(graph, model_s), 2),
        "rate_bound_s": round(rate_bound, 2),
        "bound_by": "rate" if rate_bound >= path else "path",
        "ratio": round(report.makespan_s / lower, 3),
        "barrier_makespan_s": round(barrier_makespan, 2) if barrier_makespan else None,
        "barrier_speedup": round(barrier_makespan / report.makespan_s, 2) if barrier_makespan else None,
        "peak_concurrency": run["peak_concurrency"],
        "mean_concurrency": round(run["mean_concurrency"], 1),
        "mean_limit": round(run["limit_mean"], 1),
        "latency_server_s": round(sum(model_s.values()) / max(1, served["answered"]), 3),
        "latency_client_s": round(sum(run["client_latency_s"]) / max(1, len(run["client_latency_s"])), 3),
        "rate_limit_utilization": round(steady["utilization"], 3),
        "requests": requests,
        "answered_429": throttled,
        "share_429": round(throttled / requests, 4) if requests else 0.0,
        "steady_share_429": round(steady["share_429"], 4),
        "early_retries": served["early_retries"],
        "sent_in_retry_after": served["early_requests"],
        "retries": sum(max(0, o.attempts - 1) for o in outcomes.values()),
        "defects_injected": len(defective),
        "defects_caught": len(defective & rejected_first),
        "false_rejections": len(rejected_first - defective),
        "defects_repaired": sum(outcomes[a].status == "valid" and outcomes[a].code == drafts[a] for a in defective),
        "atoms_valid": round(sum(o.status == "valid" for o in outcomes.values()) / len(outcomes), 4),
        "atoms_correct": round(sum(o.code == drafts[a] for a, o in outcomes.items()) / len(outcomes), 4),
        "cost_usd": round(sum(o.cost_usd for o in outcomes.values()), 4),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "mypy_runs": run["checker"].runs,
        "mypy_s": round(run["checker"].run_s, 1),
        "mypy_waited_s": round(run["checker"].waited_s, 1),
        "cpu_ms_per_atom": round(run["cpu_s"] * 1000 / len(atoms), 2),
        "load_avg": round((load_before + os.getloadavg()[0]) / 2, 1),
        **engine_overhead(atoms, graph),
    }


# -- budget overshoot and engine overhead ----------------------------------------------------------


class InstantBackend:
    """Answers the draft back at once, through a governor like the real backend: what is left of the
    time is the engine's own (scheduling, prompts, the client and its budget, the governor)."""

    name = model = MODEL

    def __init__(self) -> None:
        self.governor = RateGovernor(initial=96, maximum=96)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        await self.governor.acquire(request.priority, 100)
        try:
            await asyncio.sleep(0)  # a real call yields to the loop at least once
            text = render_code(extract(request.prompt)["draft"])
        finally:
            self.governor.release()
        self.governor.on_success()
        return ModelResponse(text=text, model=MODEL)


def engine_overhead(atoms: list[Atom], graph: DependencyGraph) -> dict[str, float]:
    """Wall clock and CPU per atom with a model and a validator that take no time (the CPU time is
    what to read on a busy machine: the wall clock then also counts waiting for a core)."""

    def accept(atom: Atom, code: str) -> Verdict:
        return Verdict()

    client = ModelClient(InstantBackend(), budget=Budget(cap_usd=1e6), on_record=lambda record: None)
    cpu = time.process_time()
    report = asyncio.run(execute_atoms(atoms, graph, client, build, accept, "bench", ExecutionSettings(workers=96)))
    cpu = time.process_time() - cpu
    return {
        "overhead_ms_per_atom": round(report.makespan_s * 1000 / len(atoms), 3),
        "overhead_cpu_ms_per_atom": round(cpu * 1000 / len(atoms), 3),
    }


def overshoot(args: argparse.Namespace, in_flight: int = 100) -> dict:
    """100 workers call the model until the budget refuses them; the cap leaves room for all 100 at the
    start, so they really are in flight together, and spend runs right up to the cap."""
    files, calls = generate(in_flight, args.seed)
    atoms, _ = atoms_and_graph(files, calls)
    requests = [build(a, 1, [], "", {}) for a in atoms[:in_flight]]
    worst = max(worst_case_usd(MODEL, estimate_tokens(r.system + r.prompt), r.max_tokens) for r in requests)
    budget = Budget(cap_usd=round(worst * in_flight * 1.2, 4))
    settings = argparse.Namespace(**{**vars(args), "rpm": 0, "defect_rate": 0})
    with simulator(settings) as url:
        governor = RateGovernor(initial=in_flight, maximum=in_flight)
        backend = AnthropicBackend("simulated", MODEL, base_url=url, governor=governor)
        client = ModelClient(backend, budget=budget)

        async def worker(request: ModelRequest) -> None:
            with contextlib.suppress(BudgetExceededError):
                for attempt in itertools.count():
                    await client.complete(replace(request, prompt=f"{request.prompt}\n<!-- call {attempt} -->"))

        async def run() -> None:
            await asyncio.gather(*(worker(r) for r in requests))
            await backend.client.close()

        asyncio.run(run())
    spent = sum(r.cost_usd for r in client.records)
    return {
        "in_flight": in_flight,
        "peak_in_flight": governor.stats.peak_in_flight,
        "cap_usd": budget.cap_usd,
        "spent_usd": round(spent, 6),
        "answered": sum(1 for r in client.records if not r.error),
        "overshoot_usd": round(max(0.0, spent - budget.cap_usd), 6),
    }


# -- output ------------------------------------------------------------------------------------------

COLUMNS = [
    ("atoms", "atoms"), ("waves", "waves"), ("makespan_s", "makespan s"), ("lower_bound_s", "lower bound s"),
    ("bound_by", "bound by"), ("ratio", "ratio"), ("barrier_makespan_s", "barrier s"),
    ("barrier_speedup", "vs barrier"), ("peak_concurrency", "peak conc"), ("mean_concurrency", "mean conc"),
    ("mean_limit", "mean limit"), ("latency_server_s", "latency s"), ("latency_client_s", "seen latency s"),
    ("rate_limit_utilization", "rate used"), ("share_429", "429 share"), ("steady_share_429", "429 steady"),
    ("early_retries", "early retries"), ("retries", "retries"), ("defects_injected", "defects"),
    ("defects_caught", "caught"), ("defects_repaired", "repaired"), ("atoms_valid", "valid"),
    ("atoms_correct", "correct"), ("cost_usd", "cost $"), ("peak_memory_mb", "mem MB"),
    ("mypy_runs", "mypy runs"), ("mypy_s", "mypy s"), ("mypy_waited_s", "mypy wait s"),
    ("overhead_ms_per_atom", "overhead ms"), ("overhead_cpu_ms_per_atom", "overhead cpu ms"),
    ("cpu_ms_per_atom", "cpu ms"), ("load_avg", "load"),
]  # fmt: skip


def targets(rows: list[dict], budget: dict) -> list[tuple[str, str, bool]]:
    """Each target of the benchmark: what it asks, what was measured, whether it holds."""
    rated = [r for r in rows if r["bound_by"] == "rate"]
    injected = sum(r["defects_injected"] for r in rows)
    caught = sum(r["defects_caught"] for r in rows)
    at_800 = [r for r in rows if 700 <= r["atoms"] <= 900 and r["barrier_speedup"]]
    found = [
        (
            "makespan ≤ 1.15× lower bound",
            ", ".join(str(r["ratio"]) for r in rows),
            all(r["ratio"] <= 1.15 for r in rows),
        ),
        (
            "≥ 1.3× faster than the wave barrier at 800 atoms",
            ", ".join(str(r["barrier_speedup"]) for r in at_800) or "not run",
            bool(at_800) and all(r["barrier_speedup"] >= 1.3 for r in at_800),
        ),
        (
            "rate-bound runs: ≥ 85% of the limit used in steady state",
            ", ".join(str(r["rate_limit_utilization"]) for r in rated) or "no rate-bound run",
            bool(rated) and all(r["rate_limit_utilization"] >= 0.85 for r in rated),
        ),
        (
            "rate-bound runs: < 2% of requests answered 429 in steady state",
            ", ".join(str(r["steady_share_429"]) for r in rated) or "no rate-bound run",
            bool(rated) and all(r["steady_share_429"] < 0.02 for r in rated),
        ),
        (
            "no retry sent before its retry-after",
            str(sum(r["early_retries"] for r in rows)),
            all(r["early_retries"] == 0 for r in rows),
        ),
        ("≥ 95% of injected defects caught", f"{caught}/{injected}", injected > 0 and caught >= 0.95 * injected),
        (
            "≥ 99% of atoms valid after retries",
            ", ".join(str(r["atoms_valid"]) for r in rows),
            all(r["atoms_valid"] >= 0.99 for r in rows),
        ),
        (
            f"budget overshoot 0 with {budget['in_flight']} calls in flight",
            f"${budget['overshoot_usd']} (peak {budget['peak_in_flight']} in flight)",
            budget["overshoot_usd"] == 0 and budget["peak_in_flight"] >= budget["in_flight"],
        ),
        (
            "engine overhead < 2 ms per atom",
            ", ".join(str(r["overhead_ms_per_atom"]) for r in rows),
            all(r["overhead_ms_per_atom"] < 2 for r in rows),
        ),
    ]
    return [(name, value, bool(ok)) for name, value, ok in found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 800, 3000])
    parser.add_argument("--latency-mean", type=float, default=1.0)
    parser.add_argument("--latency-p95", type=float, default=2.5)
    parser.add_argument("--rpm", type=float, default=1200.0, help="the simulator's requests per minute")
    parser.add_argument("--burst", type=float, default=1.0, help="bucket size in seconds of refill")
    parser.add_argument("--defect-rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-barrier", action="store_true", help="skip the wave-barrier runs")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for size in args.sizes:
            rows.append(measure(size, args, Path(directory)))
            print(f"measured {size} atoms", file=sys.stderr, flush=True)
    budget = overshoot(args)
    for row in rows:
        row["overshoot_usd"] = budget["overshoot_usd"]
    print(
        f"simulator: lognormal latency mean {args.latency_mean} s, p95 {args.latency_p95} s; rate limit "
        f"{args.rpm:.0f} requests/min (bucket {args.burst} s); defect rate {args.defect_rate}; model {MODEL}"
    )
    print("| " + " | ".join(title for _, title in COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for row in rows:
        print("| " + " | ".join(str(row.get(key, "")) for key, _ in COLUMNS) + " |")
    print(
        f"\nbudget: {budget['in_flight']} workers (peak {budget['peak_in_flight']} calls in flight), cap "
        f"${budget['cap_usd']}, spent ${budget['spent_usd']} in {budget['answered']} answers, "
        f"overshoot ${budget['overshoot_usd']}"
    )
    checked = targets(rows, budget)
    print("\n| target | measured | holds |\n|---|---|---|")
    for name, value, ok in checked:
        print(f"| {name} | {value} | {'yes' if ok else 'NO'} |")
    if args.json:
        summary = [{"target": n, "measured": v, "holds": ok} for n, v, ok in checked]
        args.json.write_text(
            json.dumps(
                {"runs": rows, "budget": budget, "targets": summary, "settings": vars(args)}, default=str, indent=1
            )
        )


if __name__ == "__main__":
    main()
