"""Grouped calls against one call per atom: small atoms ready together asked in one call, or alone.

For each request, two cold runs (`mge run`, through the real SDK), each in a fresh home against a fresh
simulator with the same settings: a lognormal latency (mean 1 s, p95 3 s) plus generation time (80
output tokens a second: a call that asks for five atoms waits for all their code), a rate limit, and
defects level-1 validation sees in a share of first answers (so some parts are retried alone). One run asks every
atom alone (`MGE_ATOMS_PER_CALL=1`), the other up to `--per-call` small atoms at a time. Prompt caching
is on in both, as it is by default.

Per run: atom_results' calls, prompt and output tokens, cost and makespan; the run's cost; retries;
precision. Grouping is worth keeping only if it saves cost without losing precision.

    python benchmarks/grouped_calls.py                     # task-api, blog, task-board (about 10 minutes)
    python benchmarks/grouped_calls.py --requests all --json grouped.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import dagster as dg
from dual_run import simulated_env
from economics import DEFAULT_REQUESTS, select_requests

from mge_assets.canary.gold import GoldCanary, load_gold_set
from mge_assets.definitions import defs
from mge_assets.readback.report import read_report
from mge_assets.simulator import SimulatorSettings, running_simulator

ROOT = Path(__file__).resolve().parent.parent
# defects level-1 validation sees, so they are retried: one a project's tests alone would see fails a
# gate, and the run compares nothing
VISIBLE_DEFECTS = ("syntax", "wrong_name")


@dataclass
class Run:
    request: str
    per_call: int
    atom_calls: int
    prompt_tokens: int  # atom_results: input, cache writes and cache reads
    output_tokens: int
    atom_cost_usd: float
    run_cost_usd: float
    makespan_s: float  # atom_results
    retried: int
    precision: float | None
    defects_injected: int
    wall_s: float


def main() -> int:
    args = _arguments()
    canaries = select_requests(load_gold_set(args.gold_set), args.requests)
    settings = SimulatorSettings(
        latency_mean_s=args.latency,
        latency_p95_s=3 * args.latency,
        output_tokens_per_s=args.output_tokens_per_s,
        requests_per_minute=args.rpm,
        defect_rate=args.defect_rate,
        defect_kinds=VISIBLE_DEFECTS,
        seed=args.seed,
    )
    runs: list[Run] = []
    with contextlib.ExitStack() as stack:
        work = args.work or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mge-grouped-")))
        for canary in canaries:
            for per_call in (1, args.per_call):
                runs.append(run(canary, per_call, settings, work.resolve() / f"{canary.name}-{per_call}", args.model))
    summary = summarize(runs, args.per_call)
    print_table(runs, summary, args)
    if args.json:
        args.json.write_text(json.dumps(summary | {"runs": [asdict(r) for r in runs]}, indent=1))
    return 0


def run(canary: GoldCanary, per_call: int, settings: SimulatorSettings, home: Path, model: str) -> Run:
    """A cold `mge run` of the request in `home`, its figures read back from the instance."""
    home.mkdir(parents=True, exist_ok=True)
    request = home / f"{canary.name}.md"
    request.write_text(canary.path.read_text())
    with running_simulator(settings) as (url, simulator):
        env = simulated_env(url, home, model, ROOT / "examples" / "gold_set.yaml") | {
            "MGE_ATOMS_PER_CALL": str(per_call)
        }
        began = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "mge_assets.cli", "run", str(request)],
            cwd=home,
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - began
        injected = sum(simulator.stats.defects_injected.values())
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"{canary.name} ({per_call} per call): mge run failed (exit {done.returncode})")
    report = read_report(dg.DagsterInstance.from_config(str(home / "dagster_home")), defs, canary.name)
    atoms = report.calls["atom_results"]
    precision = report.metadata("precision_report", "precision")
    figures = Run(
        request=canary.name,
        per_call=per_call,
        atom_calls=int(atoms["model_calls"]),
        prompt_tokens=int(atoms["input_tokens"] + atoms["cache_write_tokens"] + atoms["cache_read_tokens"]),
        output_tokens=int(atoms["output_tokens"]),
        atom_cost_usd=round(atoms["cost_usd"], 6),
        run_cost_usd=round(report.call_total("cost_usd"), 6),
        makespan_s=float(report.metadata("atom_results", "makespan_s", 0.0)),
        retried=int(report.metadata("atom_results", "retried", 0)),
        precision=float(precision) if precision is not None else None,
        defects_injected=injected,
        wall_s=round(wall, 1),
    )
    print(
        f"  {canary.name:<14} {per_call} per call: {figures.atom_calls:>4} calls ${figures.atom_cost_usd:.4f} "
        f"makespan {figures.makespan_s:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return figures


def summarize(runs: list[Run], per_call: int) -> dict:
    """Grouped against alone, over every request: the share saved of each figure, the precision change."""
    alone = [r for r in runs if r.per_call == 1]
    grouped = [r for r in runs if r.per_call == per_call]

    def saved(field: str) -> float:
        base = sum(getattr(r, field) for r in alone)
        return round(1 - sum(getattr(r, field) for r in grouped) / base, 4) if base else 0.0

    pairs = [(g.precision, a.precision) for g, a in zip(grouped, alone, strict=True)]
    scored = [(g, a) for g, a in pairs if g is not None and a is not None]
    return {
        "per_call": per_call,
        "calls_saved": saved("atom_calls"),
        "prompt_tokens_saved": saved("prompt_tokens"),
        "output_tokens_saved": saved("output_tokens"),
        "atom_cost_saved": saved("atom_cost_usd"),
        "run_cost_saved": saved("run_cost_usd"),
        "makespan_saved": saved("makespan_s"),
        "precision_change": round(sum(g - a for g, a in scored) / len(scored), 4) if scored else 0.0,
    }


def print_table(runs: list[Run], summary: dict, args: argparse.Namespace) -> None:
    print(
        f"simulator: latency mean {args.latency} s (p95 {3 * args.latency} s) + {args.output_tokens_per_s:g} output "
        f"tokens/s, {args.rpm:g} requests/min, defect rate {args.defect_rate}, seed {args.seed}, model {args.model}"
    )
    print(
        "| request        | atoms per call | calls | prompt tokens | output tokens | atoms $ | run $   "
        "| makespan s | retried | precision |"
    )
    print("|" + "---|" * 10)
    for r in runs:
        precision = f"{r.precision:.4f}" if r.precision is not None else "-"
        print(
            f"| {r.request:<14} | {r.per_call:>14} | {r.atom_calls:>5} | {r.prompt_tokens:>13,} "
            f"| {r.output_tokens:>13,} | {r.atom_cost_usd:>7.4f} | {r.run_cost_usd:>7.4f} | {r.makespan_s:>10.1f} "
            f"| {r.retried:>7} | {precision:>9} |"
        )
    print()
    change = {key: -value for key, value in summary.items() if key.endswith("_saved")}
    print(
        f"Up to {summary['per_call']} atoms per call, against one: calls {change['calls_saved']:+.0%}, prompt tokens "
        f"{change['prompt_tokens_saved']:+.0%}, output tokens {change['output_tokens_saved']:+.0%}, atom cost "
        f"{change['atom_cost_saved']:+.0%}, run cost {change['run_cost_saved']:+.0%}, makespan "
        f"{change['makespan_saved']:+.0%}; precision change {summary['precision_change']:+.4f}"
    )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold-set", type=Path, default=ROOT / "examples" / "gold_set.yaml")
    parser.add_argument("--requests", default=",".join(DEFAULT_REQUESTS), help="comma-separated names, or 'all'")
    parser.add_argument("--per-call", type=int, default=5, help="atoms per grouped call (default 5)")
    parser.add_argument("--latency", type=float, default=1.0, help="mean seconds before a simulated answer starts")
    parser.add_argument("--output-tokens-per-s", type=float, default=80.0, help="simulated generation speed")
    parser.add_argument("--rpm", type=float, default=120.0, help="the simulator's requests per minute")
    parser.add_argument("--defect-rate", type=float, default=0.1, help="share of first answers with a defect")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model", default="claude-sonnet-4-6")
    parser.add_argument("--json", type=Path, help="also write the summary and every run here")
    parser.add_argument("--work", type=Path, help="run in this folder and keep it (default: a temporary one)")
    return parser.parse_args()


if __name__ == "__main__":
    raise SystemExit(main())
