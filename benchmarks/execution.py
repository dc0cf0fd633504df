"""Benchmark of wave execution against the simulator, through the real SDK.

For generated projects of 100, 800 and 3,000 atoms (a layered call graph of realistic depth and
width: 2.5·ln(n) levels, most atoms near the leaves, each calling one atom of the level below and up
to two deeper ones), with lognormal latency (mean 1 s) and a rate limit, it prints per run:
makespan; the lower bound max(critical path, calls ÷ the rate limit's capacity) and their ratio; the
makespan of a strict wave-barrier schedule on the same graph; peak and mean concurrency; 429s and
requests sent before a retry-after; retries; defects injected, caught and repaired; atoms valid; cost;
peak memory. Then the budget overshoot with 100 calls in flight and the engine's own overhead per atom
(an instant in-process model and no validation, so only the engine is timed).

    python benchmarks/execution.py                      # 100, 800 and 3000 atoms
    python benchmarks/execution.py --sizes 100 --json execution.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
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


async def run_once(url: str, atoms, graph, files, workdir: Path, rpm: float, barrier: bool) -> dict:
    governor = RateGovernor(initial=4, maximum=96, max_pause_s=30)
    backend = AnthropicBackend("simulated", MODEL, base_url=url, governor=governor, max_wait_s=30)
    finished_at: list[float] = []
    client = ModelClient(backend, on_record=lambda record: finished_at.append(time.monotonic()))
    checker = TypeChecker(files, workdir / ("barrier" if barrier else "project"), mypy_cache_dir())
    validator = AtomValidator({p: c.encode() for p, c in files.items()}, checker)
    await checker.check("bench/__init__.py", files["bench/__init__.py"])  # the baseline, before the clock starts
    started = time.monotonic()
    report = await execute_atoms(
        atoms, graph, client, build, validator, "bench", ExecutionSettings(workers=96, barrier=barrier)
    )
    await backend.client.close()
    outcomes = report.outcomes
    service = {o.atom_id: o.latency_s + o.validation_s for o in outcomes}
    calls = sum(o.model_calls for o in outcomes)
    steady = sorted(t - started for t in finished_at)
    lo, hi = steady[len(steady) // 10], steady[(len(steady) * 9) // 10]
    steady_rate = (len(steady) * 0.8) / (hi - lo) if hi > lo else 0.0
    return {
        "makespan_s": report.makespan_s,
        "critical_path_s": critical_path(graph, service),
        "calls": calls,
        "rate_capacity_s": calls / (rpm / 60.0),
        "peak_concurrency": governor.stats.peak_in_flight,
        "mean_concurrency": governor.mean_in_flight(report.makespan_s),
        "rate_limit_utilization": steady_rate / (rpm / 60.0),
        "retries": sum(max(0, o.attempts - 1) for o in outcomes),
        "caught": sum(1 for o in outcomes if o.history and o.history[0].get("problems") and o.attempts > 1),
        "atoms_valid": sum(o.status == "valid" for o in outcomes) / len(outcomes),
        "cost_usd": sum(o.cost_usd for o in outcomes),
        "throttled": governor.stats.throttled,
    }


def critical_path(graph: DependencyGraph, service: dict[str, float]) -> float:
    depends = graph.dependencies()
    finish: dict[str, float] = {}
    for wave in graph.waves:
        for atom in wave:
            finish[atom] = service[atom] + max((finish[d] for d in depends[atom]), default=0.0)
    return max(finish.values(), default=0.0)


def stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/_simulator/stats") as response:
        return json.loads(response.read())


def start_simulator(args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
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
    for _ in range(200):
        try:
            stats(url)
            return process, url
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the simulator did not start")


def measure(size: int, args: argparse.Namespace, workdir: Path) -> dict:
    files, calls = generate(size, args.seed)
    atoms, graph = atoms_and_graph(files, calls)
    row: dict = {"atoms": len(atoms), "waves": len(graph.waves)}
    process, url = start_simulator(args)
    try:
        before = stats(url)
        run = asyncio.run(run_once(url, atoms, graph, files, workdir / f"n{size}", args.rpm, barrier=False))
        after = stats(url)
        if not args.no_barrier:
            barrier = asyncio.run(run_once(url, atoms, graph, files, workdir / f"n{size}", args.rpm, barrier=True))
            row["barrier_makespan_s"] = round(barrier["makespan_s"], 2)
    finally:
        process.terminate()
        process.wait()
    requests = after["requests"] - before["requests"]
    throttled = after["status"].get("429", 0) - before["status"].get("429", 0)
    injected = after["defects_injected_total"] - before["defects_injected_total"]
    lower = max(run["critical_path_s"], run["rate_capacity_s"])
    row |= {
        "makespan_s": round(run["makespan_s"], 2),
        "lower_bound_s": round(lower, 2),
        "critical_path_s": round(run["critical_path_s"], 2),
        "rate_bound_s": round(run["rate_capacity_s"], 2),
        "ratio": round(run["makespan_s"] / lower, 3),
        "barrier_speedup": round(row["barrier_makespan_s"] / run["makespan_s"], 2)
        if "barrier_makespan_s" in row
        else None,
        "peak_concurrency": run["peak_concurrency"],
        "mean_concurrency": round(run["mean_concurrency"], 1),
        "rate_limit_utilization": round(run["rate_limit_utilization"], 3),
        "requests": requests,
        "answered_429": throttled,
        "share_429": round(throttled / requests, 4) if requests else 0.0,
        "sent_before_retry_after": after["early_requests"] - before["early_requests"],
        "retries": run["retries"],
        "defects_injected": injected,
        "defects_caught": run["caught"],
        "defects_repaired": after["defects_repaired"] - before["defects_repaired"],
        "atoms_valid": round(run["atoms_valid"], 4),
        "cost_usd": round(run["cost_usd"], 4),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    row["overhead_ms_per_atom"] = round(engine_overhead(atoms, graph) * 1000, 3)
    return row


# -- budget overshoot and engine overhead ----------------------------------------------------------


class InstantBackend:
    """Answers the draft back at once: what is left of the time is the engine's own."""

    name = model = "offline"

    async def complete(self, request: ModelRequest) -> ModelResponse:
        return ModelResponse(text=render_code(extract(request.prompt)["draft"]), model="offline")


def engine_overhead(atoms: list[Atom], graph: DependencyGraph) -> float:
    def accept(atom: Atom, code: str) -> Verdict:
        return Verdict()

    report = asyncio.run(
        execute_atoms(atoms, graph, ModelClient(InstantBackend()), build, accept, "bench", ExecutionSettings())
    )
    return report.makespan_s / len(atoms)


def overshoot(args: argparse.Namespace, in_flight: int = 100) -> dict:
    process, url = start_simulator(argparse.Namespace(**{**vars(args), "rpm": 0, "defect_rate": 0}))
    try:
        backend = AnthropicBackend(
            "simulated", MODEL, base_url=url, governor=RateGovernor(initial=in_flight, maximum=in_flight)
        )
        files, calls = generate(in_flight, args.seed)
        atoms, _ = atoms_and_graph(files, calls)
        budget = Budget(cap_usd=0.1)
        client = ModelClient(backend, budget=budget)
        peak = 0

        async def call(atom: Atom) -> None:
            nonlocal peak
            with contextlib.suppress(BudgetExceededError):
                await client.complete(build(atom, 1, [], "", {}))
            peak = max(peak, backend.governor.stats.peak_in_flight)

        async def run() -> None:
            await asyncio.gather(*(call(a) for a in atoms[:in_flight]))
            await backend.client.close()

        asyncio.run(run())
    finally:
        process.terminate()
        process.wait()
    spent = sum(r.cost_usd for r in client.records)
    return {
        "in_flight": in_flight,
        "cap_usd": budget.cap_usd,
        "spent_usd": round(spent, 6),
        "answered": sum(1 for r in client.records if not r.error),
        "overshoot_usd": max(0.0, spent - budget.cap_usd),
    }


# -- output ------------------------------------------------------------------------------------------

COLUMNS = [
    ("atoms", "atoms"), ("waves", "waves"), ("makespan_s", "makespan s"), ("lower_bound_s", "lower bound s"),
    ("ratio", "ratio"), ("barrier_makespan_s", "barrier s"), ("barrier_speedup", "vs barrier"),
    ("peak_concurrency", "peak conc"), ("mean_concurrency", "mean conc"),
    ("rate_limit_utilization", "rate used"), ("share_429", "429 share"),
    ("sent_before_retry_after", "early"), ("retries", "retries"), ("defects_injected", "defects"),
    ("defects_caught", "caught"), ("defects_repaired", "repaired"), ("atoms_valid", "valid"),
    ("cost_usd", "cost $"), ("peak_memory_mb", "mem MB"), ("overhead_ms_per_atom", "overhead ms"),
]  # fmt: skip


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
        f"\nbudget: {budget['in_flight']} calls in flight, cap ${budget['cap_usd']}, spent ${budget['spent_usd']}, "
        f"{budget['answered']} answered, overshoot ${budget['overshoot_usd']}"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"runs": rows, "budget": budget, "settings": vars(args)}, default=str, indent=1)
        )


if __name__ == "__main__":
    main()
