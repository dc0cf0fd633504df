"""Run untrusted generated code: a subprocess in its own copy of the project, with a timeout, resource
limits, an environment that holds no secrets, no network and no view of the host's files where the
kernel allows it (see launcher_script.py; `SandboxResult.isolation` says what held for that run).

The child runs in a new session and, where possible, as PID 1 of its own PID namespace and in its own
pids cgroup, so a timeout or the end of the run kills everything it started. Its output goes to files
capped by RLIMIT_FSIZE, and only the head is kept, so a flood of output cannot exhaust the host.
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
from importlib import resources
from pathlib import Path

from mge_assets.sandbox.isolation import DEVICES, create_pids_cgroup, read_only_paths, remove_cgroup

OUTPUT_KEPT = 64 * 1024
_LAUNCHER = resources.files("mge_assets.sandbox").joinpath("launcher_script.py").read_text()


@dataclass(frozen=True)
class Limits:
    """Per-process limits applied in the child before it executes (processes: for the whole sandbox
    when a pids cgroup can be created, else per user through RLIMIT_NPROC)."""

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
    isolation: dict[str, str] = field(default_factory=dict)
    output_truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def sandbox_environment(home: Path) -> dict[str, str]:
    """A minimal environment built from nothing: no inherited variable, so no key, token, database or
    Redis URL; HOME is an empty folder of the sandbox, so no dotfile of the host is found."""
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
    extra_env: dict[str, str] | None = None,
    read_only: tuple[str, ...] = (),
) -> SandboxResult:
    """Run `command` in a fresh copy of `project`; read back the `collect` files it wrote; remove the copy.

    `extra_env` adds settings (never secrets) to the scrubbed environment; `read_only` adds paths the
    command may read (a tool it runs, such as the TypeScript compiler) to the system ones."""
    limits = limits or Limits()
    with tempfile.TemporaryDirectory(prefix="mge-sandbox-") as scratch:
        root = Path(scratch)
        workdir = root / "project"
        shutil.copytree(project, workdir, symlinks=False, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        home = root / "home"
        home.mkdir()
        cgroup = create_pids_cgroup(limits.processes)
        config = {
            "limits": asdict(limits),
            "cgroup_procs": str(cgroup / "cgroup.procs") if cgroup else "",
            "report": str(root / "isolation.json"),
            "read_only": [*read_only_paths(), *read_only],
            "read_write": [str(root)],
            "devices": list(DEVICES),
        }
        stdout_path, stderr_path = root / "stdout", root / "stderr"
        started = time.perf_counter()
        try:
            environment = {**(extra_env or {}), **sandbox_environment(home)}
            returncode, timed_out = _run(command, config, workdir, environment, stdout_path, stderr_path, timeout_s)
        finally:
            remove_cgroup(cgroup)
        duration = time.perf_counter() - started
        return SandboxResult(
            command=tuple(command),
            returncode=returncode,
            stdout=_head(stdout_path),
            stderr=_head(stderr_path),
            duration_s=duration,
            timed_out=timed_out,
            files=_collect(workdir, collect, limits.file_size_bytes),
            isolation=_isolation(root / "isolation.json"),
            output_truncated=max(stdout_path.stat().st_size, stderr_path.stat().st_size) > OUTPUT_KEPT,
        )


def _run(
    command: list[str],
    config: dict[str, object],
    workdir: Path,
    environment: dict[str, str],
    stdout_path: Path,
    stderr_path: Path,
    timeout_s: float,
) -> tuple[int, bool]:
    """Start the launcher (a launcher instead of `preexec_fn`, which is unsafe in a process with
    threads, as Dagster's is), wait at most `timeout_s`, then kill its whole session."""
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        child = subprocess.Popen(
            [sys.executable, "-I", "-c", _LAUNCHER, json.dumps(config), *command],
            cwd=workdir,
            env=environment,
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
    return child.returncode, timed_out


def _kill_group(pid: int) -> None:
    """Kill whatever is left of the child's session (it may have started helpers)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _collect(workdir: Path, names: tuple[str, ...], limit: int) -> dict[str, bytes]:
    files = {}
    for relative in names:
        path = workdir / relative
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as handle:
                files[relative] = handle.read(limit)
    return files


def _isolation(path: Path) -> dict[str, str]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {"error": "the launcher did not report (it failed before running the command)"}


def _head(path: Path) -> str:
    with open(path, "rb") as handle:
        data = handle.read(OUTPUT_KEPT)
    return data.decode("utf-8", errors="replace")
