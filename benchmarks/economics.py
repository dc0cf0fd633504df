"""What MGE's savings are worth: gold requests edited one thing at a time and re-run, against no caching.

For each request, in one MGE home (its response cache, checkpoints and recorded inputs) and one
simulator (its prompt cache), through the real SDK:

1. a cold run of the request as shipped;
2. three edits, each applied to the text of the run before and re-run: a field added to the first
   entity (`one_entity`), the number of the first bounded rule changed (`rule_number`, when it has
   one), a new title and an HTML comment (`cosmetic`).

Each edited text is also run with no caching at all (`no_cache`): a fresh home, `MGE_PROMPT_CACHING=0`,
so every call is made and every prompt token paid in full. The simulator answers after a lognormal
latency (mean 1 s, p95 3 s, `--latency`), the same for both.

The headline compares the one-entity edit's re-run with the same text run with no caching (the "re-run
of the gold set after one edit each"): model calls, cost and wall time saved, precision unchanged.

    python benchmarks/economics.py                        # task-api, blog, task-board (about 25 minutes)
    python benchmarks/economics.py --requests all --json economics.json

`--json PATH` writes the summary: calls_saved, cost_saved, wall_saved (shares, 0-1, against no
caching), cache_read_share (prompt tokens read from the cache in the cold runs), one_entity_edit_call_share
(the edit's calls over the cold run's), cosmetic_edit_calls, precision_change, and every run's figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from dual_run import simulated_env

from mge_assets.canary.gold import GoldCanary, load_gold_set
from mge_assets.simulator import SimulatorSettings, running_simulator

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REQUESTS = ("task-api", "blog", "task-board")
MODEL_LINE = re.compile(r"^Model: (\d+) calls, (\d+) cache hits, ([\d,]+) tokens in, ([\d,]+) out, \$([\d.]+)", re.M)
CACHE_LINE = re.compile(r"prompt cache read (\d+)% of ([\d,]+) prompt tokens, saving \$(-?[\d.]+)")
PRECISION_LINE = re.compile(r"^Precision: ([\d.]+)", re.M)
BOUNDED = re.compile(r"^(- .*\b(?:between|at most|at least|no more than|up to)\b.*?)(\d+)(\D*)$", re.M)


@dataclass
class Run:
    request: str
    edit: str  # cold, one_entity, rule_number, cosmetic
    caching: bool
    calls: int
    cache_hits: int
    cost_usd: float
    prompt_tokens: int
    cache_read_share: float
    precision: float | None
    wall_s: float


def main() -> int:
    args = _arguments()
    canaries = select_requests(load_gold_set(args.gold_set), args.requests)
    settings = SimulatorSettings(latency_mean_s=args.latency, latency_p95_s=3 * args.latency, seed=args.seed)
    runs: list[Run] = []
    with contextlib.ExitStack() as stack:
        work = args.work or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mge-economics-")))
        for canary in canaries:
            runs += request_runs(canary, settings, work.resolve() / canary.name, args.model)
    summary = summarize(runs)
    print_table(runs, summary, args)
    if args.json:
        args.json.write_text(json.dumps(summary | {"runs": [asdict(r) for r in runs]}, indent=1))
    return 0


def edits(text: str) -> dict[str, str]:
    """The single edits of a request, each applied to the text of the one before it."""
    entity = re.search(r"^(## Entities\n+- [^\n]+)$", text, re.M)
    if entity is None:
        raise SystemExit("a request without an '## Entities' list cannot be edited by this benchmark")
    one_entity = text.replace(entity.group(1), entity.group(1) + ", benchmark_note (str)", 1)
    result = {"one_entity": one_entity}
    bounded = BOUNDED.search(one_entity)
    if bounded is not None:
        line = bounded.group(0)
        result["rule_number"] = one_entity.replace(
            line, f"{bounded.group(1)}{int(bounded.group(2)) + 1}{bounded.group(3)}"
        )
    latest = result.get("rule_number", one_entity)
    result["cosmetic"] = re.sub(
        r"^# .*$", "# Retitled for the benchmark\n<!-- edited: a comment -->", latest, count=1, flags=re.M
    )
    return result


def request_runs(canary: GoldCanary, settings: SimulatorSettings, work: Path, model: str) -> list[Run]:
    """The cold run and each edit's re-run in one home, then each edited text with no caching."""
    text = canary.path.read_text()
    changed = edits(text)
    runs = []
    with running_simulator(settings) as (url, _simulator):
        home = work / "cached"
        runs.append(run(canary.name, "cold", text, home, url, model, caching=True))
        for edit, edited in changed.items():
            runs.append(run(canary.name, edit, edited, home, url, model, caching=True))
    for edit, edited in changed.items():  # a simulator of their own: nothing in its prompt cache either
        with running_simulator(settings) as (url, _simulator):
            runs.append(run(canary.name, edit, edited, work / f"no-cache-{edit}", url, model, caching=False))
    return runs


def run(name: str, edit: str, text: str, home: Path, url: str, model: str, caching: bool) -> Run:
    """`mge run` of `text` in `home`, timed as a whole process, its figures read from its report."""
    home.mkdir(parents=True, exist_ok=True)
    request = home / f"{name}.md"
    request.write_text(text)
    env = simulated_env(url, home, model, ROOT / "examples" / "gold_set.yaml")
    env["MGE_PROMPT_CACHING"] = "1" if caching else "0"
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mge_assets.cli", "run", str(request)], cwd=home, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - began
    model_line, cache_line = MODEL_LINE.search(done.stdout), CACHE_LINE.search(done.stdout)
    if done.returncode != 0 or model_line is None or cache_line is None:  # every request run passes its gates
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"{name} ({edit}): mge run failed (exit {done.returncode})")
    precision = PRECISION_LINE.search(done.stdout)
    figures = Run(
        request=name,
        edit=edit,
        caching=caching,
        calls=int(model_line.group(1)),
        cache_hits=int(model_line.group(2)),
        cost_usd=float(model_line.group(5)),
        prompt_tokens=int(cache_line.group(2).replace(",", "")),
        cache_read_share=int(cache_line.group(1)) / 100,
        precision=float(precision.group(1)) if precision else None,
        wall_s=round(wall, 1),
    )
    print(
        f"  {name:<14} {edit:<12} {'cached' if caching else 'no cache':<9} {figures.calls:>4} calls "
        f"${figures.cost_usd:.4f} {figures.wall_s:>6.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return figures


def summarize(runs: list[Run]) -> dict:
    """The summary's shares, from the runs of every request."""

    def pick(edit: str, caching: bool) -> list[Run]:
        return [r for r in runs if r.edit == edit and r.caching is caching]

    edited, baseline, cold = pick("one_entity", True), pick("one_entity", False), pick("cold", True)

    def saved(field: str) -> float:
        base = sum(getattr(r, field) for r in baseline)
        return round(1 - sum(getattr(r, field) for r in edited) / base, 4) if base else 0.0

    read = sum(r.cache_read_share * r.prompt_tokens for r in cold)
    prompt = sum(r.prompt_tokens for r in cold)
    precisions = [(a.precision, b.precision) for a, b in zip(edited, baseline, strict=True)]
    scored = [(a, b) for a, b in precisions if a is not None and b is not None]
    return {
        "calls_saved": saved("calls"),
        "cost_saved": saved("cost_usd"),
        "wall_saved": saved("wall_s"),
        "cache_read_share": round(read / prompt, 4) if prompt else 0.0,
        "one_entity_edit_call_share": round(sum(r.calls for r in edited) / max(1, sum(r.calls for r in cold)), 4),
        "cosmetic_edit_calls": sum(r.calls for r in pick("cosmetic", True)),
        "precision_change": round(sum(a - b for a, b in scored) / len(scored), 4) if scored else 0.0,
    }


def print_table(runs: list[Run], summary: dict, args: argparse.Namespace) -> None:
    print(f"simulator: latency mean {args.latency} s (p95 {3 * args.latency} s), seed {args.seed}, model {args.model}")
    print(
        f"| {'request':<14} | {'edit':<12} | caching  | calls | hits | cost $  | prompt cached | precision | wall s |"
    )
    print("|" + "---|" * 9)
    for r in runs:
        precision = f"{r.precision:.4f}" if r.precision is not None else "-"
        print(
            f"| {r.request:<14} | {r.edit:<12} | {'yes' if r.caching else 'no':<8} | {r.calls:>5} | {r.cache_hits:>4} "
            f"| {r.cost_usd:>7.4f} | {r.cache_read_share:>13.0%} | {precision:>9} | {r.wall_s:>6.1f} |"
        )
    print()
    print("Re-run after the one-entity edit, against the same text with no caching:")
    print(
        f"  model calls saved {summary['calls_saved']:.0%} (target 60%), cost saved {summary['cost_saved']:.0%} "
        f"(target 30%), wall time saved {summary['wall_saved']:.0%} (target 40%), precision change "
        f"{summary['precision_change']:+.4f} (target 0)"
    )
    print(
        f"  one-entity edit: {summary['one_entity_edit_call_share']:.0%} of a cold run's calls (target at most 25%); "
        f"cosmetic edit: {summary['cosmetic_edit_calls']} calls (target 0)"
    )
    print(f"  prompt tokens read from the cache in the cold runs: {summary['cache_read_share']:.0%} (target 70%)")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold-set", type=Path, default=ROOT / "examples" / "gold_set.yaml")
    parser.add_argument("--requests", default=",".join(DEFAULT_REQUESTS), help="comma-separated names, or 'all'")
    parser.add_argument("--latency", type=float, default=1.0, help="mean seconds per simulated call")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model", default="claude-sonnet-4-6")
    parser.add_argument("--json", type=Path, help="also write the summary and every run here")
    parser.add_argument("--work", type=Path, help="run in this folder and keep it (default: a temporary one)")
    return parser.parse_args()


def select_requests(canaries: list[GoldCanary], names: str) -> list[GoldCanary]:
    """The gold requests `--requests` names (comma-separated), or with 'all' those expected to pass."""
    if names == "all":
        return [c for c in canaries if not c.expect]  # the requests expected to pass every gate
    known = {c.name: c for c in canaries}
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    missing = [n for n in wanted if n not in known]
    if missing:
        raise SystemExit(f"--requests: no gold request named {', '.join(missing)}; known: {', '.join(known)}")
    return [known[n] for n in wanted]


if __name__ == "__main__":
    raise SystemExit(main())
