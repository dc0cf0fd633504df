"""Run untrusted generated code: a subprocess in its own copy of the project, with a timeout, resource
limits and an environment that holds no secrets.

The child runs in a new session so that a timeout kills its whole process group, and its output goes
to files capped by RLIMIT_FSIZE, so a flood of output cannot exhaust the host's memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

OUTPUT_KEPT = 64 * 1024


@dataclass(frozen=True)
class Limits:
    """Per-process limits applied in the child before it executes."""

    cpu_seconds: int = 120
    memory_bytes: int = 2 * 1024**3
    file_size_bytes: int = 64 * 1024**2
    open_files: int = 512
    processes: int = 256


@dataclass(frozen=True)
class SandboxResult:
    command: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def sandbox_environment(home: Path) -> dict[str, str]:
    """A minimal environment: no inherited variables, so no keys, tokens or database URLs."""
    interpreter_dir = str(Path(sys.executable).parent)
    return {
        "PATH": f"{interpreter_dir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONNOUSERSITE": "1",
    }


def run_in_sandbox(
    command: list[str],
    project: Path,
    timeout_s: float = 120.0,
    limits: Limits | None = None,
    collect: tuple[str, ...] = (),
) -> SandboxResult:
    """Run `command` in a fresh copy of `project`; read back the `collect` files it wrote; remove the copy."""
    limits = limits or Limits()
    with tempfile.TemporaryDirectory(prefix="mge-sandbox-") as scratch:
        root = Path(scratch)
        workdir = root / "project"
        shutil.copytree(project, workdir, symlinks=False, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        home = root / "home"
        home.mkdir()
        stdout_path, stderr_path = root / "stdout", root / "stderr"
        started = time.perf_counter()
        with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
            child = subprocess.Popen(
                [sys.executable, "-I", "-c", _LAUNCHER, json.dumps(asdict(limits)), *command],
                cwd=workdir,
                env=sandbox_environment(home),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            timed_out = False
            try:
                child.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            _kill_group(child.pid)
            child.wait()
        duration = time.perf_counter() - started
        files = {}
        for relative in collect:
            path = workdir / relative
            if path.is_file() and not path.is_symlink():
                files[relative] = path.read_bytes()[: limits.file_size_bytes]
        return SandboxResult(
            command=tuple(command),
            returncode=child.returncode,
            stdout=_head(stdout_path),
            stderr=_head(stderr_path),
            duration_s=duration,
            timed_out=timed_out,
            files=files,
        )


# The child sets its own limits, then becomes the command: a launcher instead of `preexec_fn`,
# which is unsafe in a process with threads (Dagster's).
_LAUNCHER = """
import json, os, resource, sys
limits = json.loads(sys.argv[1])
for name, key in (("RLIMIT_CPU", "cpu_seconds"), ("RLIMIT_AS", "memory_bytes"),
                  ("RLIMIT_FSIZE", "file_size_bytes"), ("RLIMIT_NOFILE", "open_files"),
                  ("RLIMIT_NPROC", "processes")):
    resource.setrlimit(getattr(resource, name), (limits[key], limits[key]))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
os.execvp(sys.argv[2], sys.argv[2:])
"""


def _kill_group(pid: int) -> None:
    """Kill whatever is left of the child's session (it may have started helpers)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _head(path: Path) -> str:
    with open(path, "rb") as handle:
        data = handle.read(OUTPUT_KEPT)
    return data.decode("utf-8", errors="replace")
