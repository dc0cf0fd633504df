"""`mge status NAME [--json] [--watch | --once]`: where a request's run stands, live while it runs;
and the same progress shown by `mge run` while its run goes on."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

from mge_assets.commands.instance import open_instance

if TYPE_CHECKING:
    from dagster import DagsterInstance

    from mge_assets.readback.status import RunStatus

# A read costs the run's process a few hundredths of a second (SQLite: the run's own database is
# opened and checked each time), so the bar is refreshed each second, plain lines read every two.
POLL_TERMINAL_S = 1.0
POLL_PLAIN_S = 2.0


def add_status_command(sub: argparse._SubParsersAction) -> None:
    """`mge status` on the parser of `mge`."""
    status = sub.add_parser(
        "status", help="where a request's run stands: stage, atoms, retries, spend (live while it runs)"
    )
    status.add_argument("name")
    status.add_argument("--json", action="store_true", help="one JSON object, printed once")
    follow = status.add_mutually_exclusive_group()
    follow.add_argument("--watch", action="store_true", help="follow a running run until it ends, on a terminal or not")
    follow.add_argument("--once", action="store_true", help="print once, also on a terminal")
    status.set_defaults(command=cmd_status)


def cmd_status(args: argparse.Namespace) -> int:
    from mge_assets.commands.status_view import render_block, render_json
    from mge_assets.readback.status import read_status, require_request

    instance = open_instance()
    try:
        require_request(instance, args.name, os.environ["DAGSTER_HOME"])
        status = read_status(instance, args.name)
        if args.json:
            print(render_json(status))
        else:
            terminal = sys.stdout.isatty()
            if status.running and (args.watch or (terminal and not args.once)):
                status = follow(instance, args.name, status.run_id, sys.stdout, terminal)
            print(render_block(status))
    finally:
        instance.dispose()
    return 1 if status.status in ("failure", "canceled") else 0


def follow(
    instance: DagsterInstance,
    name: str,
    run_id: str | None,
    out: TextIO,
    terminal: bool,
    stop: threading.Event | None = None,
) -> RunStatus:
    """Show run `run_id`'s progress on `out` until it ends (or `stop` is set); its last status."""
    from mge_assets.commands.status_view import ProgressPrinter
    from mge_assets.ledger import Ledger
    from mge_assets.readback.status import read_status

    printer = ProgressPrinter(terminal, width=shutil.get_terminal_size().columns - 1)
    stop = stop or threading.Event()
    poll = POLL_TERMINAL_S if terminal else POLL_PLAIN_S
    ledger = Ledger(name, run_id) if run_id else None
    while True:
        ending = stop.is_set()  # read once more after the stop, so the end of the run is shown
        status = read_status(instance, name, run_id, ledger)
        out.write(printer.update(status, time.monotonic()))
        out.flush()
        if ending or not status.running:
            break
        stop.wait(poll)
    out.write(printer.close())
    out.flush()
    return status


class RunProgress:
    """`mge run`'s progress: `follow` in a thread, on an instance of its own, while the run goes on
    in this one's main thread."""

    def __init__(self, name: str, run_id: str, out: TextIO = sys.stdout) -> None:
        self.name, self.run_id, self.out = name, run_id, out
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._follow, name="mge-run-progress", daemon=True)

    def __enter__(self) -> RunProgress:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)

    def _follow(self) -> None:
        instance = open_instance()
        try:
            follow(instance, self.name, self.run_id, self.out, self.out.isatty(), self.stop)
        except Exception as error:  # the progress is a view: it never stops the run
            self.out.write(f"(progress not shown: {type(error).__name__}: {error})\n")
        finally:
            instance.dispose()
