"""`mge canary run|bless|report`: evaluate the gold set now, bless an evaluation as the baseline, print
the latest canary report."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from mge_assets.commands.instance import open_instance, submit_file
from mge_assets.errors import MgeError

if TYPE_CHECKING:
    from dagster import DagsterInstance, Definitions

    from mge_assets.canary.report import CanaryReport, CanaryRun

# A repeat a harness error ended is re-run up to this many more times.
HARNESS_RERUNS = 2
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def add_canary_commands(sub: argparse._SubParsersAction) -> None:
    """`mge canary` and its three actions, on the parser of `mge`."""
    canary = sub.add_parser("canary", help="canary evaluations of the gold set: run, bless a baseline, report")
    actions = canary.add_subparsers(required=True, metavar="ACTION")

    run = actions.add_parser("run", help="run every gold request's repeats now and report the evaluation")
    run.add_argument("--repeats", type=int, default=None, help="repeats per canary (default MGE_CANARY_REPEATS, 3)")
    run.add_argument("--json", action="store_true", help="print the table as JSON (progress goes to stderr)")
    run.set_defaults(command=cmd_canary_run)

    bless = actions.add_parser("bless", help="record an evaluation (of at least 3 repeats) as the baseline")
    bless.add_argument("evaluation", nargs="?", help="a UTC date YYYY-MM-DD (default: the latest reported)")
    bless.set_defaults(command=cmd_canary_bless)

    report = actions.add_parser("report", help="print the latest canary report")
    report.add_argument("--json", action="store_true", help="a list of canaries: name, precision, gate_s, ...")
    report.set_defaults(command=cmd_canary_report)


def cmd_canary_run(args: argparse.Namespace) -> int:
    from mge_assets.canary.gold import canary_repeats, gold_manifest, load_gold_set
    from mge_assets.defs.resources import default_resources

    repeats = canary_repeats() if args.repeats is None else args.repeats
    if repeats < 1:
        raise MgeError(f"--repeats must be at least 1, not {repeats}")
    default_resources()["model_backend"].build_backend()  # a missing key or unknown backend stops here
    gold = load_gold_set(gold_manifest())
    instance = open_instance()
    progress = sys.stderr if args.json else sys.stdout
    for canary in gold:
        print(submit_file(canary.path, instance), file=progress)
    evaluation = dt.datetime.now(dt.UTC).date().isoformat()
    print(f"canary evaluation {evaluation}: {len(gold)} canaries x {repeats} repeats", file=progress, flush=True)
    for canary in gold:
        for repeat in range(repeats):
            run_repeat(instance, canary.name, evaluation, repeat, progress)
    report, checks = materialize_report(instance, evaluation)
    _print(report, args.json, checks)
    return 0 if all(checks.values()) else 1


def run_repeat(instance: DagsterInstance, name: str, evaluation: str, repeat: int, progress: TextIO) -> CanaryRun:
    """One repeat of one canary, in-process, tagged as the schedule tags it; re-run (attempt 2, 3)
    while a harness error ends it."""
    from mge_assets.definitions import defs
    from mge_assets.defs.tags import ATTEMPT_TAG, CANARY_TAG, FRESH_TAG, REPEAT_TAG
    from mge_assets.readback.canary_runs import read_canary_run

    job = defs.resolve_job_def("request_pipeline")
    for attempt in range(1, HARNESS_RERUNS + 2):
        tags = {CANARY_TAG: evaluation, REPEAT_TAG: str(repeat), FRESH_TAG: "true", ATTEMPT_TAG: str(attempt)}
        result = job.execute_in_process(
            partition_key=name, instance=instance, tags=tags, raise_on_error=False, run_config=QUIET
        )
        run = read_canary_run(instance, instance.get_run_record_by_id(result.run_id))
        outcome = run.outcome
        if outcome.harness_error is None:
            score = f"precision {outcome.precision or 0.0:.4f}, Gate S {'passed' if outcome.gate_s else 'failed'}"
            print(f"  {name} repeat {repeat}: {score}, {outcome.wall_s:.1f} s", file=progress, flush=True)
            return run
        print(f"  {name} repeat {repeat}: harness error ({outcome.harness_error})", file=progress, flush=True)
    return run


def materialize_report(instance: DagsterInstance, evaluation: str) -> tuple[CanaryReport, dict[str, bool]]:
    """Materialize canary_report for `evaluation` on `instance`: the report and each check's verdict."""
    from mge_assets.definitions import defs
    from mge_assets.readback.report import failure_message

    job = defs.resolve_job_def("canary_evaluation")
    result = job.execute_in_process(partition_key=evaluation, instance=instance, raise_on_error=False, run_config=QUIET)
    if not result.success:
        raise MgeError(f"the canary report of {evaluation} failed: {failure_message(result.all_events)}")
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    return _load_report(defs, instance, evaluation), checks


def cmd_canary_bless(args: argparse.Namespace) -> int:
    from mge_assets.canary.baseline import BaselineStore
    from mge_assets.readback.canary_runs import latest_reported_evaluation, reported_evaluations

    instance = open_instance()
    evaluation = args.evaluation or latest_reported_evaluation(instance)
    known = reported_evaluations(instance)
    if evaluation not in known:
        listed = ", ".join(sorted(known)) or "none yet"
        raise MgeError(
            f"no canary report of evaluation '{evaluation}' (reported: {listed}); run `mge canary run --repeats 3` "
            "and bless the evaluation it reports"
        )
    from mge_assets.definitions import defs

    report = _load_report(defs, instance, evaluation)
    baseline = BaselineStore().bless(evaluation, report.outcomes)
    print(
        f"baseline: evaluation {baseline.describe()}, {len(report.rows)} canaries, "
        f"{len(report.outcomes)} repeats; later reports are held to it"
    )
    materialize_report(instance, evaluation)  # the latest report names the baseline it is held to
    return 0


def cmd_canary_report(args: argparse.Namespace) -> int:
    from mge_assets.canary.report import gate_s_share_verdict, no_regression_verdict
    from mge_assets.definitions import defs
    from mge_assets.readback.canary_runs import latest_reported_evaluation

    instance = open_instance()
    report = _load_report(defs, instance, latest_reported_evaluation(instance))
    checks = {
        "canary_report_gate_s_share": gate_s_share_verdict(report).passed,
        "canary_report_no_regression": no_regression_verdict(report).passed,
    }
    _print(report, args.json, checks)
    return 0


def _print(report: CanaryReport, as_json: bool, checks: dict[str, bool]) -> None:
    from mge_assets.canary.report import gate_s_share_verdict, no_regression_verdict, render_table, report_rows_json

    if as_json:
        print(json.dumps(report_rows_json(report), indent=1, default=str))
        return
    print(render_table(report))
    print()
    for name, verdict in (
        ("canary_report_gate_s_share", gate_s_share_verdict(report)),
        ("canary_report_no_regression", no_regression_verdict(report)),
    ):
        print(f"{'PASS' if checks.get(name, verdict.passed) else 'FAIL'}  {name}: {verdict.description}")


def _load_report(defs: Definitions, instance: DagsterInstance, evaluation: str) -> CanaryReport:
    from mge_assets.canary.report import CanaryReport

    try:
        value: Any = defs.load_asset_value(
            "canary_report", partition_key=evaluation, instance=instance, python_type=CanaryReport
        )
    except FileNotFoundError:
        raise MgeError(f"the stored canary report of {evaluation} is gone; run `mge canary run` again") from None
    return value
