"""`mge status` against the instance: unknown and never-run requests, and a run really in flight
(`mge run` in a process of its own, against `mge simulate` with a latency in another), followed to
its end; that run's own output carries plain progress lines, then its report as before."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mge_assets.cli import main
from mge_assets_tests.conftest import example_path

BIN = Path(sys.executable).parent


def test_status_of_an_unknown_request_says_what_to_do(mge_env, capsys):
    assert main(["status", "nothing", "--json"]) == 2
    err = capsys.readouterr().err
    assert "no request named 'nothing'" in err and "mge submit FILE" in err and "mge run FILE" in err


def test_status_of_a_request_never_run(mge_env, capsys):
    assert main(["submit", str(example_path("blog"))]) == 0
    capsys.readouterr()
    assert main(["status", "blog"]) == 0
    assert "request 'blog': not run yet" in capsys.readouterr().out
    assert main(["status", "blog", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["status"], data["run_id"], data["running"]) == ("not run", None, False)
    assert (data["soft_cap_usd"], data["hard_cap_usd"]) == (3.5, 5.0)  # the request's budget_usd: 5


def _status(capsys) -> dict | None:
    """`mge status blog --json` once; None while the run has not yet submitted the request."""
    code = main(["status", "blog", "--json"])
    out = capsys.readouterr().out
    return json.loads(out) if code in (0, 1) else None


@pytest.mark.slow
def test_status_follows_a_run_in_flight_to_its_end(mge_env, capsys):
    log = mge_env / "run.log"
    with simulator(mge_env / "simulator.log") as url:
        env = {
            **os.environ,
            "MGE_BACKEND": "anthropic",
            "ANTHROPIC_BASE_URL": url,
            "ANTHROPIC_API_KEY": "simulated",
            "MGE_MODEL": "claude-haiku-4-5",
        }
        with log.open("w") as output:
            run = subprocess.Popen(
                [str(BIN / "mge"), "run", str(example_path("blog"))],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            seen = _poll_until_finished(run, capsys, log)
            assert run.wait(timeout=60) == 0, log.read_text()[-3000:]
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait()
    in_flight = [s for s in seen if s["running"] and s["atoms"]["in_flight"] > 0]
    assert in_flight, "no status showed atoms in flight"
    for status in in_flight:
        atoms = status["atoms"]
        assert status["stage"] == "atom_results" and atoms["total"] == 158
        assert atoms["done"] + atoms["in_flight"] + atoms["waiting"] + atoms["failed"] == atoms["total"]
    spent = [s["spent_usd"] for s in seen if s["run_id"] == seen[-1]["run_id"]]
    assert spent == sorted(spent)  # spend only grows while the run goes on
    last = seen[-1]
    assert (last["status"], last["running"], last["stage"]) == ("success", False, "precision_report")
    assert last["atoms"] == {"done": 158, "in_flight": 0, "waiting": 0, "failed": 0, "total": 158}
    assert {s["run_id"] for s in in_flight} == {last["run_id"]}
    out = log.read_text()
    report_cost = float(re.search(r"^Model: .*\$(\d+\.\d+)$", out, re.M).group(1))
    assert report_cost > 0 and abs(last["spent_usd"] - report_cost) < 1e-4  # the same spend, read back live
    assert (last["soft_cap_usd"], last["hard_cap_usd"]) == (3.5, 5.0) and last["spent_usd"] < 3.5

    # `mge run` on a pipe: plain progress lines at a modest rate, then the report as before
    lines = re.findall(r"^\[ *\d+\.\ds\] blog: .*$", out, re.M)
    assert any(re.search(r"stage atom_results; atoms \d+ done, \d+ in flight, \d+ waiting", line) for line in lines)
    assert 3 <= len(lines) <= 60 and "\r" not in out
    assert re.search(r"blog: success, stage precision_report; atoms 158 done, 0 in flight", lines[-1])
    assert out.count("  PASS  ") == 21 and "FAIL" not in out
    assert out.index(lines[-1]) < out.index("MGE report for request 'blog'")


@contextmanager
def simulator(log: Path) -> Iterator[str]:
    """`mge simulate` in a process of its own (each call takes ~0.1 s), on a free port; its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(BIN / "mge"), "simulate", "--port", str(port), "--latency-mean", "0.1", "--latency-p95", "0.2"]
    with log.open("w") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def _poll_until_finished(run: subprocess.Popen, capsys, log: Path) -> list[dict]:
    seen: list[dict] = []
    deadline = time.monotonic() + 300  # a guard against a hung run: on a busy machine the run alone takes 60-90 s
    while time.monotonic() < deadline:
        status = _status(capsys)
        if status is not None and status["run_id"] is not None:
            seen.append(status)
            if not status["running"]:
                return seen
        assert run.poll() is None or status is None or not status["running"], log.read_text()[-3000:]
        if run.poll() is not None and (status is None or status["run_id"] is None):
            pytest.fail(f"the run ended before its status was seen:\n{log.read_text()[-3000:]}")
        time.sleep(1.0)  # a read costs this process ~0.1 s of a core the run needs too
    pytest.fail(f"the run did not end in time:\n{log.read_text()[-3000:]}")
