"""How a run's status is shown: a bar redrawn in place on a terminal, plain lines at a modest rate
otherwise, a block for a run that has ended, one JSON object for scripts. No I/O here: the caller
writes what these return."""

from __future__ import annotations

import json

from mge_assets.readback.status import RunStatus

BAR_WIDTH = 30
MIN_BAR_WIDTH = 10


def render_json(status: RunStatus) -> str:
    return json.dumps(status.as_json())


def render_bar(status: RunStatus, width: int = 120) -> str:
    """One line for a terminal: the stage, a bar of the atoms finished (as wide as the line leaves
    room for), the counts, the spend, the retries and the time; what does not fit is cut at the end."""
    atoms = status.atoms
    counts = f"{atoms.finished}/{atoms.total} atoms, {atoms.in_flight} in flight, {atoms.failed} failed"
    head = f"{status.stage or status.status} "
    tail = (
        f" {counts if atoms.total else 'atoms not started'} | {_spend(status, short=True)} | "
        f"retries {atoms.retries} | {status.elapsed_s:.0f}s"
    )
    size = max(MIN_BAR_WIDTH, min(BAR_WIDTH, width - len(head) - len(tail) - 2))
    filled = round(atoms.share * size) if atoms.total else 0
    line = head + "[" + "#" * filled + "." * (size - filled) + "]" + tail
    return line if len(line) <= width else line[: max(0, width - 3)] + "..."


def render_line(status: RunStatus) -> str:
    """One plain line, for logs and pipes."""
    atoms = status.atoms
    counts = (
        f"atoms {atoms.done} done, {atoms.in_flight} in flight, {atoms.waiting} waiting, {atoms.failed} failed "
        f"of {atoms.total}; retries {atoms.retries}"
        if atoms.total
        else "atoms not started"
    )
    stage = f"stage {status.stage}" if status.stage else "no stage yet"
    return f"[{status.elapsed_s:6.1f}s] {status.name}: {status.status}, {stage}; {counts}; {_spend(status)}"


def render_block(status: RunStatus) -> str:
    """What `mge status` prints once: the run, its stage (or the last one), the atoms, the spend."""
    if status.run_id is None:
        return f"request '{status.name}': not run yet; run it with `mge run FILE` or materialize it in the UI"
    atoms = status.atoms
    where = "running" if status.running else "last stage"
    lines = [
        f"request '{status.name}', run {status.run_id}: {status.status}",
        f"  stage:    {status.stage or 'none yet'} ({where})",
        (
            f"  atoms:    {atoms.done} done, {atoms.in_flight} in flight, {atoms.waiting} waiting, "
            f"{atoms.failed} failed, of {atoms.total}"
            if atoms.total
            else "  atoms:    not started"
        ),
        f"  retries:  {atoms.retries}",
        f"  spend:    {_spend(status)}",
        f"  elapsed:  {status.elapsed_s:.1f} s",
    ]
    return "\n".join(lines)


def _spend(status: RunStatus, short: bool = False) -> str:
    spent = f"${status.spent_usd:.4f}"
    if status.hard_cap_usd is None:
        return spent if short else f"spent {spent}"
    soft, hard = status.soft_cap_usd or 0.0, status.hard_cap_usd
    if short:
        return f"{spent}/${hard:.2f}" + (" (past soft cap)" if status.spent_usd >= soft else "")
    return f"spent {spent} of ${hard:.2f} (soft cap ${soft:.2f}" + (", passed)" if status.spent_usd >= soft else ")")


class ProgressPrinter:
    """What to write as statuses come in. On a terminal, the bar redrawn in place whenever it
    changes; otherwise a line when the status or the stage changes, and while a stage runs at most
    one a `every_s` seconds, only when a figure moved."""

    def __init__(self, terminal: bool, every_s: float = 5.0, width: int = 120) -> None:
        self.terminal = terminal
        self.every_s = every_s
        self.width = width
        self.shown = ""  # the bar on screen, or the last line printed
        self.key: tuple[str, str] | None = None
        self.last_at: float | None = None

    def update(self, status: RunStatus, now: float) -> str:
        if self.terminal:
            bar = render_bar(status, self.width)
            if bar == self.shown:
                return ""
            text = "\r" + bar.ljust(len(self.shown))
            self.shown = bar
            return text
        key = (status.status, status.stage)
        line = render_line(status)
        moved = _figures(line) != _figures(self.shown)
        due = self.last_at is None or now - self.last_at >= self.every_s
        if key == self.key and not (moved and due):
            return ""
        self.key, self.shown, self.last_at = key, line, now
        return line + "\n"

    def close(self) -> str:
        """Leave the line the bar was on, so what follows starts on a line of its own."""
        if self.terminal and self.shown:
            self.shown = ""
            return "\n"
        return ""


def _figures(line: str) -> str:
    """A plain line without its clock: the figures it shows."""
    return line.partition("] ")[2]
