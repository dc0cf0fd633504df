"""The type check of level-1 validation: mypy on the module assembled with an atom's answer in place.

The drafts of every Python file are written once to a working directory and checked together (the
baseline, which also warms mypy's cache). An answer identical to its draft reuses the baseline; any
other answer is checked with mypy's `--shadow-file`, the rest of the project read from the drafts, so
each result depends only on the answer, and identical answers are checked once. mypy reads code, it
never runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import shutil
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)
_LINE = re.compile(r"^(?P<path>[^:\n]+\.pyi?):(?P<line>\d+):(?:\d+:)? error: (?P<message>.*)$")
MYPY_FLAGS = (
    "--no-error-summary",
    "--show-error-codes",
    "--no-color-output",
    "--hide-error-context",
    "--no-pretty",
    "--ignore-missing-imports",
    "--follow-imports=silent",
    "--explicit-package-bases",
    "--sqlite-cache",  # safe for several runs sharing one cache
)

MYPY_NICENESS = 10

TypeErrors = list[tuple[int, str]]  # (line, message [code])


class TypeChecker:
    def __init__(self, drafts: dict[str, str], workdir: Path, cache_dir: Path, processes: int = 2) -> None:
        self.drafts = {p: c for p, c in drafts.items() if p.endswith(".py")}
        self.workdir = workdir
        self.cache_dir = cache_dir
        self.slots = asyncio.Semaphore(processes)
        self.results: dict[str, TypeErrors] = {}  # by sha256 of (path, text)
        self.baseline: dict[str, TypeErrors] | None = None
        self.unavailable = ""
        self._baseline_lock = asyncio.Lock()
        self._shadow_index = 0
        self.runs = 0
        self.run_s = 0.0  # mypy's own time, summed over its runs
        self.waited_s = 0.0  # time checks spent waiting for a free mypy process

    async def check(self, path: str, text: str) -> TypeErrors | None:
        """mypy's errors in `path` when it holds `text`; None when mypy could not judge it."""
        await self._ensure_baseline()
        if self.unavailable or self.baseline is None:
            return None
        if text == self.drafts.get(path):
            return self.baseline.get(path, [])
        key = hashlib.sha256(f"{path}\0{text}".encode()).hexdigest()
        if key not in self.results:
            self._shadow_index += 1
            shadow = self.workdir.parent / f"{self.workdir.name}.shadow" / f"{self._shadow_index}.py"
            shadow.parent.mkdir(parents=True, exist_ok=True)
            # mypy judges a shadowed module fresh when its size matches the cached one and the file
            # it shadows is unchanged, and then reports nothing: a closing comment makes every
            # answer's size differ from its draft's (and leaves the line numbers as they are).
            ending = "" if text.endswith("\n") else "\n"
            content = f"{text}{ending}# answer {self._shadow_index}, checked in place of {path}\n"
            if len(content.encode()) == len(self.drafts.get(path, "").encode()):
                content += "#\n"
            shadow.write_text(content)
            try:
                found = await self._run(["--shadow-file", path, str(shadow.resolve()), path])
            finally:
                shadow.unlink(missing_ok=True)
            if found is None:
                return None
            self.results[key] = found.get(path, [])
        return self.results[key]

    async def _ensure_baseline(self) -> None:
        async with self._baseline_lock:
            if self.baseline is not None or self.unavailable:
                return
            if self.workdir.exists():
                shutil.rmtree(self.workdir)
            for path, text in self.drafts.items():
                target = self.workdir / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
            found = await self._run(sorted(self.drafts))
            self.baseline = found if found is not None else None

    async def _run(self, arguments: list[str]) -> dict[str, TypeErrors] | None:
        command = [sys.executable, "-m", "mypy", *MYPY_FLAGS, "--cache-dir", str(self.cache_dir.resolve()), *arguments]
        asked = time.perf_counter()
        async with self.slots:
            started = time.perf_counter()
            self.waited_s += started - asked
            try:
                process = await asyncio.create_subprocess_exec(
                    *command,
                    cwd=self.workdir,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
                # Below the event loop's priority: on a busy machine a loop that waits for a core reads
                # the rate-limit headers late, and sends into a bucket it believes has room.
                with contextlib.suppress(OSError):
                    os.setpriority(os.PRIO_PROCESS, process.pid, MYPY_NICENESS)
                out, err = await process.communicate()
            except OSError as error:
                self._give_up(f"mypy could not start: {error}")
                return None
            finally:
                self.runs += 1
                self.run_s += time.perf_counter() - started
        if process.returncode not in (0, 1):
            self._give_up(f"mypy failed (exit {process.returncode}): {(err or out).decode()[-400:]}")
            return None
        found: dict[str, TypeErrors] = {}
        for line in out.decode().splitlines():
            match = _LINE.match(line)
            if match:
                found.setdefault(match["path"], []).append((int(match["line"]), match["message"].strip()))
        return found

    def _give_up(self, reason: str) -> None:
        if not self.unavailable:
            log.warning("type check skipped: %s", reason)
        self.unavailable = reason
