"""The servers a test starts as a user would (exporters, Prometheus, the simulator, Dagster's
processes): a free port, a start with its log, a wait that fails when one of them died, and a stop of
exactly the process group the test started."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

BIN = Path(sys.executable).parent
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(
    command: Sequence[str], log: Path, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`command` in a process group of its own (so its children stop with it), output to `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes], grace_s: float = 20, first: signal.Signals = signal.SIGINT) -> None:
    """Stop one process a test started, with its process group: `first`, then SIGKILL after `grace_s`."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, first)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # whatever of its group is left
    process.wait()


def wait_until(
    what: str, probe: Callable[[], T | None], timeout_s: float, processes: Sequence[subprocess.Popen[bytes]] = ()
) -> T:
    """Poll `probe` until it returns something truthy; fail when one of `processes` exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for process in processes:
            assert process.poll() is None, f"{process.args[0]} exited ({process.returncode}) while waiting for {what}"
        try:
            found = probe()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        body = response.read().decode()
    return json.loads(body) if body.startswith("{") else body


@contextlib.contextmanager
def simulator(log: Path, latency_mean_s: float = 0.1, latency_p95_s: float = 0.2) -> Iterator[str]:
    """`mge simulate` in a process of its own on a free port, its model calls taking time; its URL."""
    port = free_port()
    command = [
        str(BIN / "mge"),
        "simulate",
        "--port",
        str(port),
        "--latency-mean",
        str(latency_mean_s),
        "--latency-p95",
        str(latency_p95_s),
    ]
    server = start(command, log)
    try:

        def listening() -> bool:
            with contextlib.closing(socket.socket()) as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        wait_until("the simulator to listen", listening, 30, [server])
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(server, grace_s=10, first=signal.SIGTERM)
