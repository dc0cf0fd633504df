"""`mge`: submit requests, run them end to end on a local Dagster instance, read their reports."""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mge_assets.commands.canary import add_canary_commands
from mge_assets.commands.dual_run import add_dual_run_command
from mge_assets.commands.instance import open_instance, request_name, submit_file
from mge_assets.commands.metrics import add_metrics_commands
from mge_assets.commands.review import add_review_commands
from mge_assets.commands.status import add_status_command
from mge_assets.errors import MgeError

if TYPE_CHECKING:
    from dagster import DagsterInstance

    from mge_assets.graph.analyze import Analysis


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "uses_dagster", True):
        _quiet_dagster()
    try:
        return args.command(args)
    except MgeError as error:
        print(f"mge: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `mge review list | head`: the reader left; Python's own advice is to point stdout at devnull
        # so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mge", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    submit = sub.add_parser("submit", help="validate request files and add their partitions")
    submit.add_argument("files", nargs="+", type=Path)
    submit.set_defaults(command=cmd_submit)

    run = sub.add_parser("run", help="submit a request and materialize all of its assets, then report")
    run.add_argument("file", type=Path)
    run.add_argument("--log-level", default="WARNING", help="Dagster's console log level (default WARNING)")
    run.set_defaults(command=cmd_run)

    report = sub.add_parser("report", help="print the report of a request: gates, precision, calls, cost")
    report.add_argument("name")
    report.set_defaults(command=cmd_report)

    results = sub.add_parser("results", help="acceptance results of a request, per requirement")
    results.add_argument("name")
    results.set_defaults(command=cmd_results)

    gate = sub.add_parser("gate", help="Gate S of a request; exit status 0 only when it passed")
    gate.add_argument("name")
    gate.set_defaults(command=cmd_gate)

    tests = sub.add_parser("tests", help="the acceptance tests of a request, each with its requirement and outcome")
    tests.add_argument("name")
    tests.set_defaults(command=cmd_tests)

    simulate = sub.add_parser(
        "simulate", help="serve a simulated Anthropic Messages API (latency, rate limits, errors, defects)"
    )
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, default=8765)
    simulate.add_argument("--latency-mean", type=float, default=1.0, help="seconds (lognormal; default 1)")
    simulate.add_argument("--latency-p95", type=float, default=0.0, help="seconds (default twice the mean)")
    simulate.add_argument(
        "--output-tokens-per-s", type=float, default=0.0, help="generation speed added to the latency (default: none)"
    )
    simulate.add_argument("--rpm", type=float, default=0.0, help="requests per minute (0: unlimited)")
    simulate.add_argument("--itpm", type=float, default=0.0, help="input tokens per minute (0: unlimited)")
    simulate.add_argument("--otpm", type=float, default=0.0, help="output tokens per minute (0: unlimited)")
    simulate.add_argument("--burst", type=float, default=60.0, help="bucket size in seconds of refill (default 60)")
    simulate.add_argument("--overload-rate", type=float, default=0.0, help="share of requests answered 529")
    simulate.add_argument("--error-rate", type=float, default=0.0, help="share of requests answered 500")
    simulate.add_argument("--defect-rate", type=float, default=0.0, help="share of first atom answers with a defect")
    simulate.add_argument(
        "--defect-kinds",
        default="",
        help="comma-separated defects to inject (default all: syntax,wrong_name,wrong_return,missing_statement)",
    )
    simulate.add_argument(
        "--silent-defect-rate",
        type=float,
        default=0.0,
        help="chance of a defect level-1 validation cannot see (a bound off by one, a wrong status, a dropped "
        "filter) at each place of an atom's answer it could go; higher on long units and on retries",
    )
    simulate.add_argument("--malformed-rate", type=float, default=0.0, help="share of atom answers with no code")
    simulate.add_argument("--batch-latency", type=float, default=0.2, help="seconds until a Message Batch ends")
    simulate.add_argument("--batch-error-rate", type=float, default=0.0, help="share of batch requests errored")
    simulate.add_argument("--batch-expire-rate", type=float, default=0.0, help="share of batch requests expired")
    simulate.add_argument("--seed", type=int, default=0)
    simulate.add_argument(
        "--script", default="", help="answer from this recorded conversation (JSON) first, e.g. for free-form requests"
    )
    simulate.set_defaults(command=cmd_simulate)

    atomize = sub.add_parser(
        "atomize", help="atomize and graph an existing codebase (Python, JavaScript, TypeScript) and summarise it"
    )
    atomize.add_argument("path", type=Path)
    atomize.add_argument("--json", action="store_true", help="print every atom and edge as JSON instead")
    atomize.add_argument("--line-budget", type=int, default=10, help="lines per atom before a split (default 10)")
    atomize.add_argument("--graph", type=Path, help="also write the atom graph here (.dot or .mmd for Mermaid)")
    atomize.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="processes that atomize files (default: the number of cores, %(default)s)",
    )
    atomize.add_argument(
        "--no-cache",
        action="store_true",
        help="atomize every file again rather than reuse the results of unchanged files ($MGE_HOME/atomize-cache)",
    )
    # Importing dagster only to quiet it would cost `mge atomize` a second of its start-up.
    atomize.set_defaults(command=cmd_atomize, uses_dagster=False)

    add_dual_run_command(sub)
    add_canary_commands(sub)
    add_status_command(sub)
    add_metrics_commands(sub)
    add_review_commands(sub)

    ui = sub.add_parser("ui", help="start the Dagster UI (dagster dev) on this project's instance")
    ui.add_argument("dagster_args", nargs=argparse.REMAINDER)
    ui.set_defaults(command=cmd_ui)
    return parser


def cmd_atomize(args: argparse.Namespace) -> int:
    from mge_assets.atomize.cache import AtomCache
    from mge_assets.graph.analyze import analyze_path, summary, to_dot, to_mermaid
    from mge_assets.settings import mge_home

    if args.line_budget < 1:
        raise MgeError(f"--line-budget must be at least 1, not {args.line_budget}")
    if args.jobs < 1:
        raise MgeError(
            f"--jobs must be at least 1 (the processes that atomize files), not {args.jobs}; "
            f"leave it out to use all {os.cpu_count() or 1} cores"
        )
    if args.graph is not None and args.graph.suffix not in (".dot", ".mmd"):
        raise MgeError(f"--graph {args.graph}: name a .dot (Graphviz) or .mmd (Mermaid) file")
    cache = None if args.no_cache else AtomCache(mge_home() / "atomize-cache")
    try:
        analysis = analyze_path(args.path, args.line_budget, args.jobs, cache)
    except ValueError as error:
        raise MgeError(str(error)) from error
    for error in analysis.errors:
        print(
            f"{error.file}:{error.line}:{error.column}: does not parse ({error.kind}: {error.text!r})", file=sys.stderr
        )
    if args.graph is not None:
        args.graph.write_text(to_dot(analysis.graph) if args.graph.suffix == ".dot" else to_mermaid(analysis.graph))
    if args.json:
        _write_json(_atomize_json(analysis), sys.stdout)
        return 0
    _print_atomize_summary(summary(analysis), analysis)
    return 0


def _atomize_json(analysis: Analysis) -> dict[str, Iterable[dict] | dict | None]:
    """The sections of `mge atomize --json`, each list made item by item as it is written."""
    fields = ("id", "file", "start_byte", "end_byte", "start_line", "end_line", "kind", "symbol", "parent", "loc")
    graph = analysis.graph
    return {
        "atoms": ({k: getattr(a, k) for k in fields} | {"complexity": a.complexity} for a in analysis.atoms),
        "edges": ({"source": e.source, "target": e.target, "type": e.type, "late": e.late} for e in graph.edges),
        "broken": (b.model_dump() for b in graph.broken),
        "file_edges": (e.model_dump() for e in analysis.file_edges),
        "waves": (list(w) for w in graph.waves),
        "parse_errors": (e.__dict__ for e in analysis.errors),
        "cache": None if analysis.reused is None else {"reused": analysis.reused, "files": len(analysis.files)},
    }


def _write_json(sections: dict[str, Iterable[dict] | dict | None], out: TextIO) -> None:
    """One JSON object, an item of each list a line: each item goes through json's C encoder, which
    `indent` turns off, and the text of a large codebase is never held whole."""
    import json

    out.write("{")
    for number, (key, value) in enumerate(sections.items()):
        out.write(f"{',' if number else ''}\n{json.dumps(key)}: ")
        if value is None or isinstance(value, dict):
            out.write(json.dumps(value))
            continue
        separator = "["
        for item in value:
            out.write(f"{separator}\n {json.dumps(item)}")
            separator = ","
        out.write("[]" if separator == "[" else "\n]")
    out.write("\n}\n")


def _print_atomize_summary(figures: dict, analysis: Analysis) -> None:
    loc = figures["loc"]
    print(f"{analysis.root}: {figures['files']} files, {figures['lines']} lines, {figures['atoms']} atoms")
    print("atoms by kind:  " + ", ".join(f"{k} {n}" for k, n in figures["atoms_by_kind"].items()))
    print(f"LOC per atom:   mean {loc['mean']}, median {loc['median']}, max {loc['max']}")
    print("                " + ", ".join(f"{k}: {n}" for k, n in loc["distribution"].items()))
    print(f"file imports:   {figures['file_edges']}")
    print("edges by type:  " + (", ".join(f"{k} {n}" for k, n in figures["edges_by_type"].items()) or "none"))
    print(f"cycles broken:  {figures['cycles_broken']} edges; unresolved internal imports: {figures['unresolved']}")
    print(
        f"waves:          {figures['depth']} (widest {figures['widest_wave']}, "
        f"parallelism {figures['parallelism']} atoms per wave)"
    )
    if figures["parse_errors"]:
        print(f"parse errors:   {figures['parse_errors']} (listed above; those files were still atomized)")
    if analysis.reused is not None:
        print(f"cache:          {analysis.reused} of {figures['files']} files reused")


def cmd_submit(args: argparse.Namespace) -> int:
    failures = 0
    instance = open_instance()
    for path in args.files:
        try:
            print(submit_file(path, instance))
        except MgeError as error:
            print(f"mge: {error}", file=sys.stderr)
            failures += 1
    return 2 if failures else 0


def cmd_run(args: argparse.Namespace) -> int:
    import uuid

    from mge_assets.commands.status import RunProgress
    from mge_assets.defs.resources import default_resources

    default_resources()["model_backend"].build_backend()  # a missing key or unknown backend stops here
    instance = open_instance()
    print(submit_file(args.file, instance))
    name = request_name(args.file)
    from mge_assets.definitions import defs
    from mge_assets.readback.report import failure_message, read_report, render_report

    job = defs.resolve_job_def("request_pipeline")
    print(f"running every asset of '{name}' (DAGSTER_HOME={os.environ['DAGSTER_HOME']}) ...", flush=True)
    started = time.perf_counter()
    run_id = str(uuid.uuid4())  # known before the run starts, so its progress can be followed
    with RunProgress(name, run_id):
        result = job.execute_in_process(
            partition_key=name,
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": args.log_level.upper()}}}},
            run_id=run_id,
        )
    elapsed = time.perf_counter() - started
    report = read_report(instance, defs, name)
    print()
    print(render_report(report))
    print(f"Wall time: {elapsed:.1f} s (run {result.run_id})")
    if not result.success:
        failure = failure_message(result.all_events)
        if failure:
            print(f"\nThe run stopped: {failure}", file=sys.stderr)
        from mge_assets.commands.review_desk import make_queue_after_a_gate

        if make_queue_after_a_gate(defs, instance, name, result.run_id, args.log_level):
            print(f"The review queue was made in a run of its own: mge review list {name}", file=sys.stderr)
    return 0 if result.success else 1


def cmd_report(args: argparse.Namespace) -> int:
    from mge_assets.definitions import defs
    from mge_assets.readback.report import read_report, render_report

    instance = open_instance()
    if args.name not in instance.get_dynamic_partitions("requests"):
        raise MgeError(f"no request named '{args.name}' has been submitted to {os.environ['DAGSTER_HOME']}")
    print(render_report(read_report(instance, defs, args.name)))
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    from mge_assets.acceptance.results import AcceptanceResults
    from mge_assets.definitions import defs
    from mge_assets.readback.values import load_value, render_results

    instance = _submitted(args.name)
    print(render_results(load_value(defs, instance, "acceptance_results", args.name, AcceptanceResults)))
    return 0


def cmd_gate(args: argparse.Namespace) -> int:
    from mge_assets.definitions import defs
    from mge_assets.readback.values import request_gate

    verdict = request_gate(defs, _submitted(args.name), args.name)
    print(verdict.text)
    return 0 if verdict.passed else 1


def cmd_tests(args: argparse.Namespace) -> int:
    from mge_assets.acceptance.results import AcceptanceResults
    from mge_assets.acceptance.suite import AcceptanceSuite
    from mge_assets.definitions import defs
    from mge_assets.readback.values import load_value, render_tests

    instance = _submitted(args.name)
    suite = load_value(defs, instance, "acceptance_tests", args.name, AcceptanceSuite)
    try:
        results = load_value(defs, instance, "acceptance_results", args.name, AcceptanceResults)
    except MgeError:
        results = None
    print(render_tests(suite, results))
    return 0


def _submitted(name: str) -> DagsterInstance:
    instance = open_instance()
    if name not in instance.get_dynamic_partitions("requests"):
        raise MgeError(f"no request named '{name}' has been submitted to {os.environ['DAGSTER_HOME']}")
    return instance


def cmd_simulate(args: argparse.Namespace) -> int:
    from mge_assets.simulator import SimulatorSettings, serve

    settings = SimulatorSettings(
        latency_mean_s=args.latency_mean,
        latency_p95_s=args.latency_p95,
        output_tokens_per_s=args.output_tokens_per_s,
        requests_per_minute=args.rpm,
        input_tokens_per_minute=args.itpm,
        output_tokens_per_minute=args.otpm,
        burst_s=args.burst,
        overload_rate=args.overload_rate,
        error_rate=args.error_rate,
        defect_rate=args.defect_rate,
        defect_kinds=_defect_kinds(args.defect_kinds),
        silent_defect_rate=args.silent_defect_rate,
        malformed_rate=args.malformed_rate,
        seed=args.seed,
        script=args.script,
        batch_latency_s=args.batch_latency,
        batch_error_rate=args.batch_error_rate,
        batch_expire_rate=args.batch_expire_rate,
    )
    url = f"http://{args.host}:{args.port}"
    print(f"simulated Anthropic API on {url} (stats: {url}/_simulator/stats); to use it:", flush=True)
    print(f"  export MGE_BACKEND=anthropic ANTHROPIC_BASE_URL={url} ANTHROPIC_API_KEY=simulated", flush=True)
    serve(settings, args.host, args.port)
    return 0


def _defect_kinds(text: str) -> tuple[str, ...]:
    from mge_assets.simulator.defects import DEFECT_KINDS

    if not text:
        return DEFECT_KINDS
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = sorted(set(kinds) - set(DEFECT_KINDS))
    if unknown or not kinds:
        raise MgeError(f"--defect-kinds {text!r}: choose from {', '.join(DEFECT_KINDS)}")
    return kinds


def cmd_ui(args: argparse.Namespace) -> int:
    # Create the instance's databases before the webserver, the daemon and the code server all try
    # at once (two processes migrating a new SQLite store can leave it with two schema heads).
    open_instance().dispose()
    command = ["dagster", "dev", "-w", "workspace.yaml", *args.dagster_args]
    print(f"DAGSTER_HOME={os.environ['DAGSTER_HOME']} {' '.join(command)}", flush=True)
    os.execvp(command[0], command)


def _quiet_dagster() -> None:
    """Preview/beta notices about partitioned checks are for Dagster developers, not MGE users."""
    import dagster as dg

    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    warnings.filterwarnings("ignore", category=dg.BetaWarning)


if __name__ == "__main__":
    sys.exit(main())
