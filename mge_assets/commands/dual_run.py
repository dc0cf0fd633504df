"""`mge dual-run NAME ...`: a request in v2 and in the mvp baseline, run on the same text and compared."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mge_assets.commands.instance import open_instance, submit_file
from mge_assets.errors import MgeError

if TYPE_CHECKING:
    from dagster import DagsterInstance

    from mge_assets.canary.dual import DualRun


def add_dual_run_command(sub: Any) -> None:
    """Register `dual-run` on the `mge` parser's subcommands."""
    parser = sub.add_parser(
        "dual-run",
        help="run requests in v2 and in the mvp baseline on the same text; compare them figure by figure",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="submitted requests (default: --gold-set)")
    parser.add_argument(
        "--gold-set", action="store_true", help="every request of the gold set (MGE_GOLD_SET), submitted first"
    )
    parser.add_argument("--rerun", action="store_true", help="run both modes again even if they ran on this text")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts instead of the table")
    parser.set_defaults(command=cmd_dual_run)


def cmd_dual_run(args: argparse.Namespace) -> int:
    from mge_assets.canary.dual import behind, render_dual_run, render_paired

    instance = open_instance()
    names = _gold_names(instance) if args.gold_set else list(args.names)
    if not names:
        raise MgeError("name the requests to dual-run (`mge dual-run NAME ...`), or pass --gold-set")
    runs = [dual_run_request(instance, name, rerun=args.rerun) for name in names]
    if args.json:
        print(json.dumps(_single_json(runs[0]) if len(runs) == 1 else _many_json(runs), indent=1))
        return 0
    print(render_dual_run(runs[0]) if len(runs) == 1 else render_paired(runs))
    for run in runs:
        if not run.v2_ahead:
            print(f"WARN dual_run_report_v2_ahead: {behind(run)}" + (f" ({run.name})" if len(runs) > 1 else ""))
    return 0


def dual_run_request(instance: DagsterInstance, name: str, rerun: bool = False) -> DualRun:
    """Run each mode of `name` that has not run on its current text (the baseline first, so the
    `dual_run` sensor finds it done), then materialize and return its `dual_run_report`."""
    from mge_assets.canary.dual import DualRun
    from mge_assets.definitions import defs
    from mge_assets.defs.partitions import dual_run_partitions, requests_partitions
    from mge_assets.defs.tags import FRESH_TAG
    from mge_assets.readback.values import load_value
    from mge_assets.request.modes import MVP, V2, mode_partition
    from mge_assets.request.store import load_request
    from mge_assets.settings import requests_dir

    if not instance.has_dynamic_partition(requests_partitions.name, name):
        raise MgeError(f"no request named '{name}' has been submitted to {os.environ['DAGSTER_HOME']}; mge submit FILE")
    sha = load_request(requests_dir(), name).sha256
    pipeline = defs.resolve_job_def("request_pipeline")
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    # Both modes run cold (no response cache, no checkpoints): neither is charged less because the
    # other asked the same discovery, drafting and test questions first.
    cold = {FRESH_TAG: "true"}
    for mode in (MVP, V2):
        partition = mode_partition(name, mode)
        if not instance.has_dynamic_partition(requests_partitions.name, partition):
            instance.add_dynamic_partitions(requests_partitions.name, [partition])
        if rerun or not _ran_on(instance, partition, sha):
            print(f"running '{partition}' ({mode}) ...", flush=True)
            pipeline.execute_in_process(
                partition_key=partition, instance=instance, raise_on_error=False, run_config=quiet, tags=cold
            )
    if not instance.has_dynamic_partition(dual_run_partitions.name, name):
        instance.add_dynamic_partitions(dual_run_partitions.name, [name])
    result = defs.resolve_job_def("dual_run").execute_in_process(
        partition_key=name, instance=instance, raise_on_error=False, run_config=quiet
    )
    if not result.success:
        from mge_assets.readback.report import failure_message

        raise MgeError(f"the dual-run report of '{name}' failed: {failure_message(result.all_events)}")
    return load_value(defs, instance, "dual_run_report", name, DualRun)  # type: ignore[return-value]


def _ran_on(instance: DagsterInstance, partition: str, sha: str) -> bool:
    """Whether the partition's latest run read this request text and has finished."""
    import dagster as dg

    from mge_assets.readback.modes import request_sha256

    if request_sha256(instance, partition) != sha:
        return False
    latest = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": partition}), limit=1)
    return bool(latest) and latest[0].is_finished


def _gold_names(instance: DagsterInstance) -> list[str]:
    from mge_assets.canary.gold import GoldSetError, load_gold_set

    manifest = Path(os.environ.get("MGE_GOLD_SET", "examples/gold_set.yaml"))
    try:
        canaries = load_gold_set(manifest)
    except GoldSetError as error:
        raise MgeError(str(error)) from error
    for canary in canaries:
        submit_file(canary.path, instance)
    return [canary.name for canary in canaries]


def _single_json(run: DualRun) -> dict[str, Any]:
    return {
        "name": run.name,
        "v2": run.v2.model_dump(),
        "mvp": run.mvp.model_dump(),
        "deltas": [d.model_dump() for d in run.deltas],
        "v2_ahead": run.v2_ahead,
    }


def _many_json(runs: list[DualRun]) -> dict[str, Any]:
    from mge_assets.canary.paired import paired_verdict

    verdict = paired_verdict(
        [(r.v2.precision, r.mvp.precision) for r in runs], [(r.v2.gate_s, r.mvp.gate_s) for r in runs]
    )
    return {"requests": [_single_json(r) for r in runs], "paired": verdict.__dict__}
