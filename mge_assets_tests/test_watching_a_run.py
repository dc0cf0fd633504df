"""One run watched the way an operator watches one, with the real parts: `mge run` in a process of its
own, against `mge simulate` (so model calls take time and cost money), polled live with `mge status`,
while `mge metrics serve` is scraped by a real Prometheus server with the alert rules loaded. The run
is shared (one module fixture); each test asserts what one watcher saw."""

import contextlib
import io
import json
import os
import re
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mge_assets.cli import main
from mge_assets.commands.instance import ensure_dagster_home
from mge_assets_tests.conftest import ROOT, require_tool
from mge_assets_tests.processes import BIN, free_port, get_json, simulator, start, stop, wait_until

pytestmark = pytest.mark.slow
# One entity and two MUSTs: a short run, with enough atoms to be seen in flight.
REQUEST = """---
name: notes
title: Notes
budget_usd: 5
---
# Notes

People keep short notes.

## Entities
- Note: title (str, required), body (text)

## Requirements
### MUST
- Every entity can be created, read, updated, deleted and listed over HTTP.
- Creating a Note without a title is rejected with 422.
"""
POLL_S = 0.5
RUN_DEADLINE_S = 300  # only a guard against a hung run


@dataclass
class WatchedRun:
    root: Path
    output: str  # what `mge run` printed (on a pipe)
    statuses: list[dict[str, Any]]  # every `mge status notes --json` read while it ran, and the last
    api: str  # the Prometheus server's HTTP API
    servers: list[subprocess.Popen[bytes]]


def _status() -> dict[str, Any] | None:
    """`mge status notes --json` once, in this process; None while the request is not yet submitted."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["status", "notes", "--json"])
    return json.loads(out.getvalue()) if code in (0, 1) else None


def _poll(run: subprocess.Popen[bytes], log: Path) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + RUN_DEADLINE_S
    while time.monotonic() < deadline:
        status = _status()
        if status is not None and status["run_id"] is not None:
            seen.append(status)
            if not status["running"]:
                return seen
        if run.poll() is not None and (status is None or status["run_id"] is None):
            pytest.fail(f"the run ended before its status was seen:\n{log.read_text()[-3000:]}")
        time.sleep(POLL_S)
    pytest.fail(f"the run did not end in time:\n{log.read_text()[-3000:]}")


def _prometheus_config(root: Path, exporter_port: int) -> Path:
    config = root / "prometheus.yml"
    scrape = {"job_name": "mge", "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}]}
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(ROOT / "deploy" / "prometheus" / "alerts.yml")],
                "scrape_configs": [scrape],
            }
        )
    )
    return config


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WatchedRun]:
    prometheus = require_tool("prometheus")
    root = tmp_path_factory.mktemp("watched")
    (root / "notes.md").write_text(REQUEST)
    with pytest.MonkeyPatch.context() as env:
        env.chdir(root)
        for name in ("MGE_BACKEND", "MGE_MODEL", "MGE_REDIS_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
            env.delenv(name, raising=False)
        for name, folder in (("MGE_HOME", ".mge"), ("MGE_WORKSPACE", "mge_workspace"), ("DAGSTER_HOME", "dh")):
            env.setenv(name, str(root / folder))
        ensure_dagster_home()  # before the processes below, so none of them races to write its config
        servers: list[subprocess.Popen[bytes]] = []
        with simulator(root / "simulator.log", latency_mean_s=0.3, latency_p95_s=0.6) as url:
            try:
                exporter_port, prometheus_port = free_port(), free_port()
                serve = [str(BIN / "mge"), "metrics", "serve", "--port", str(exporter_port)]
                servers.append(start(serve, root / "exporter.log", cwd=root))
                config = _prometheus_config(root, exporter_port)
                tsdb = [f"--storage.tsdb.path={root / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prometheus_port}"]
                servers.append(start([prometheus, f"--config.file={config}", *tsdb], root / "prometheus.log"))
                model = {"MGE_BACKEND": "anthropic", "ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": "simulated"}
                log = root / "run.log"
                run = start([str(BIN / "mge"), "run", "notes.md"], log, cwd=root, env={**os.environ, **model})
                try:
                    statuses = _poll(run, log)
                    assert run.wait(timeout=60) == 0, log.read_text()[-3000:]
                finally:
                    stop(run)
                api = f"http://127.0.0.1:{prometheus_port}/api/v1"
                yield WatchedRun(root, log.read_text(), statuses, api, servers)
            finally:
                for server in reversed(servers):
                    stop(server, grace_s=10)


def test_status_follows_the_run_in_flight_to_its_end(watched: WatchedRun) -> None:
    seen = watched.statuses
    in_flight = [s for s in seen if s["running"] and s["atoms"]["in_flight"] > 0]
    assert in_flight, f"no status showed atoms in flight: {seen}"
    last = seen[-1]
    total = last["atoms"]["total"]
    for status in in_flight:
        atoms = status["atoms"]
        assert status["stage"] == "atom_results" and atoms["total"] == total > 0
        assert atoms["done"] + atoms["in_flight"] + atoms["waiting"] + atoms["failed"] == total
    spent = [s["spent_usd"] for s in seen]
    assert spent == sorted(spent)  # spend only grows while the run goes on
    assert (last["status"], last["running"], last["stage"]) == ("success", False, "precision_report")
    assert last["atoms"] == {"done": total, "in_flight": 0, "waiting": 0, "failed": 0, "total": total}
    assert {s["run_id"] for s in seen} == {last["run_id"]}
    report_cost = float(re.search(r"^Model: .*\$(\d+\.\d+)$", watched.output, re.M).group(1))
    assert report_cost > 0 and abs(last["spent_usd"] - report_cost) < 1e-4  # the same spend, read back live
    assert (last["soft_cap_usd"], last["hard_cap_usd"]) == (3.5, 5.0) and last["spent_usd"] < 3.5


def test_mge_run_on_a_pipe_prints_plain_progress_then_its_report(watched: WatchedRun) -> None:
    out = watched.output
    lines = re.findall(r"^\[ *\d+\.\ds\] notes: .*$", out, re.M)
    assert any(re.search(r"stage atom_results; atoms \d+ done, \d+ in flight, \d+ waiting", line) for line in lines)
    assert 3 <= len(lines) <= 60 and "\r" not in out
    assert re.search(r"notes: success, stage precision_report; atoms \d+ done, 0 in flight", lines[-1])
    assert out.count("  PASS  ") == 21 and "FAIL" not in out
    assert out.index(lines[-1]) < out.index("MGE report for request 'notes'")


def test_prometheus_scrapes_the_exporter_and_evaluates_the_alerts(watched: WatchedRun) -> None:
    api, servers = watched.api, watched.servers
    tests = re.search(r"Acceptance: (\d+)/(\d+) tests passed", watched.output)
    assert tests, watched.output

    def generated() -> list[dict[str, Any]]:
        query = urllib.parse.quote('mge_acceptance_tests_generated{request="notes",mode="v2"}')
        return get_json(f"{api}/query?query={query}")["data"]["result"]

    (sample,) = wait_until("the run's series in Prometheus", generated, 60, servers)
    assert int(float(sample["value"][1])) == int(tests.group(2))

    def firing() -> list[dict[str, Any]]:
        alerts = get_json(f"{api}/alerts")["data"]["alerts"]
        return [a for a in alerts if a["state"] == "firing" and a["labels"]["alertname"] == "MgeCacheHitRateLow"]

    # the run was the request's first: every call of every model stage was a cache miss
    (alert,) = wait_until("MgeCacheHitRateLow to fire", firing, 30, servers)
    assert (alert["labels"]["request"], alert["labels"]["mode"]) == ("notes", "v2")
    assert float(alert["value"]) == 0.0
    up = get_json(f"{api}/query?query=mge_exporter_source_up")["data"]["result"]
    assert {s["metric"]["source"]: s["value"][1] for s in up} == {"dagster": "1", "ledger": "1"}

    rules = {r["name"]: r for g in get_json(f"{api}/rules")["data"]["groups"] for r in g["rules"]}
    assert len(rules) == 7 and all(r["health"] == "ok" for r in rules.values()), rules
    # the run spent cents of its $5: the spend is there, and no budget alert fires on it
    spent = get_json(f"{api}/query?query=mge_cost_spent_usd")["data"]["result"]
    assert [s["metric"]["request"] for s in spent] == ["notes"] and 0 < float(spent[0]["value"][1]) < 3.5
    assert rules["MgeSoftCapPassed"]["state"] == "inactive"
    assert rules["MgeHardCapReached"]["state"] == "inactive"
    latency = get_json(f"{api}/query?query=mge_model_call_latency_seconds_count")["data"]["result"]
    assert latency and float(latency[0]["value"][1]) > 0  # the simulated calls, each timed
