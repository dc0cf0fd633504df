"""The dual-run over the gold set: v2 against the mvp baseline, request by request, through the real
SDK against the simulator with defects injected (so validation and retries matter), both modes cold.

It serves the simulator (defects in a share of first answers, answers with no code, 529s),
runs `mge dual-run --gold-set --json` in a fresh MGE_HOME and Dagster instance against it, and prints
one line per request (precision and Gate S of both modes, the delta and who won) and the paired
verdict: wins / losses / ties, the sign test on precision and McNemar's exact test on Gate S.

    python benchmarks/dual_run.py                          # the shipped gold set
    python benchmarks/dual_run.py --defect-rate 0.3 --json dual_run.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mge_assets.simulator import SimulatorSettings, running_simulator

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold-set", type=Path, default=ROOT / "examples" / "gold_set.yaml")
    parser.add_argument("--defect-rate", type=float, default=0.2, help="share of first atom answers with a defect")
    parser.add_argument(
        "--defect-kinds",
        default="syntax,wrong_name",
        help="the defects level-1 validation can see (default); add wrong_return,missing_statement for silent ones",
    )
    parser.add_argument("--malformed-rate", type=float, default=0.03, help="share of atom answers with no code")
    parser.add_argument("--overload-rate", type=float, default=0.02, help="share of calls answered 529")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model", default="claude-haiku-4-5")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    started = time.perf_counter()
    settings = SimulatorSettings(
        defect_rate=args.defect_rate,
        defect_kinds=tuple(args.defect_kinds.split(",")),
        malformed_rate=args.malformed_rate,
        overload_rate=args.overload_rate,
        seed=args.seed,
    )
    with tempfile.TemporaryDirectory(prefix="mge-dual-run-") as work, running_simulator(settings) as (url, simulated):
        env = simulated_env(url, Path(work), args.model, args.gold_set)
        command = [sys.executable, "-m", "mge_assets.cli", "dual-run", "--gold-set", "--json"]
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-4000:], sep="\n", file=sys.stderr)
            return done.returncode
        figures = json.loads(done.stdout[done.stdout.index("{") :])
        served = simulated.stats.as_dict()
    print_table(figures, served, args, time.perf_counter() - started)
    if args.json:
        args.json.write_text(json.dumps({"figures": figures, "simulator": served}, indent=1))
    return 0


def simulated_env(url: str, work: Path, model: str, gold_set: Path) -> dict[str, str]:
    """The environment of an `mge` command on the real `anthropic` path against the simulator at `url`,
    with its home, workspace and Dagster instance under `work` (fresh: nothing cached)."""
    return {
        **os.environ,
        "MGE_BACKEND": "anthropic",
        "MGE_MODEL": model,
        "ANTHROPIC_BASE_URL": url,
        "ANTHROPIC_API_KEY": "simulated",
        "MGE_GOLD_SET": str(gold_set.resolve()),
        "MGE_HOME": str(work / ".mge"),
        "MGE_WORKSPACE": str(work / "workspace"),
        "DAGSTER_HOME": str(work / "dagster_home"),
    }


def print_table(figures: dict, served: dict, args: argparse.Namespace, seconds: float) -> None:
    print(
        f"simulator: defect rate {args.defect_rate} ({args.defect_kinds}), malformed {args.malformed_rate}, "
        f"529 {args.overload_rate}, seed {args.seed}; {served['requests']} requests, "
        f"{served.get('defects_injected_total', 0)} defects injected"
    )
    header = (
        f"| {'request':<20} | v2 precision | mvp precision | delta   | Gate S v2/mvp | v2 retries "
        "| v2 calls | mvp calls | winner |"
    )
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for run in figures["requests"]:
        v2, mvp = run["v2"], run["mvp"]
        gate = f"{_pass(v2['gate_s'])}/{_pass(mvp['gate_s'])}"
        winner = run["deltas"][0]["winner"]
        print(
            f"| {run['name']:<20} | {v2['precision']:>12.4f} | {mvp['precision']:>13.4f} | "
            f"{v2['precision'] - mvp['precision']:>+7.4f} | {gate:>13} | {v2['retries']:>10} | "
            f"{v2['model_calls']:>8} | {mvp['model_calls']:>9} | {winner:>6} |"
        )
    paired = figures["paired"]
    gate_p = "no discordant pair" if paired["gate_s_p"] is None else f"McNemar exact p = {paired['gate_s_p']:.3g}"
    print(
        f"\n{paired['wins']} wins, {paired['losses']} losses, {paired['ties']} ties for v2; "
        f"verdict: {paired['verdict']} ({paired['why']}); Gate S: {gate_p}; {seconds:.0f} s"
    )


def _pass(flag: bool) -> str:
    return "pass" if flag else "fail"


if __name__ == "__main__":
    sys.exit(main())
