"""The monitoring files against the real tools: the alert rules under promtool (their syntax and their
unit tests), every family an alert or a dashboard panel names is one the exporter really serves, the
Grafana files checked statically (Grafana is not installed here), and one end-to-end scrape: a real
Prometheus server scraping `mge metrics serve` after a real run and evaluating the rules."""

import json
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mge_assets.commands.instance import ensure_dagster_home
from mge_assets.readback.metrics import MgeCollector
from mge_assets_tests.conftest import ROOT, require_tool

PROMETHEUS = ROOT / "deploy" / "prometheus"
GRAFANA = ROOT / "deploy" / "grafana"
BIN = Path(sys.executable).parent
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
# The provisioning file's convention: deploy/grafana is mounted at /etc/grafana/mge.
GRAFANA_MOUNT = "/etc/grafana/mge"


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_tool("promtool"), *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60)


def test_promtool_accepts_the_rules_and_the_scrape_config() -> None:
    rules = _promtool("check", "rules", "alerts.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 7 rules found" in rules.stdout
    config = _promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr


def test_the_alert_unit_tests_pass() -> None:
    result = _promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested_firing_and_not_firing() -> None:
    alerts = {r["alert"] for g in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"] for r in g["rules"]}
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())["tests"]
    cases = [c for t in tests for c in t["alert_rule_test"]]
    assert alerts == {c["alertname"] for c in cases if c["exp_alerts"]}
    assert alerts == {c["alertname"] for c in cases if not c["exp_alerts"]}


def _exposed_names() -> set[str]:
    """The sample names a scrape of the exporter can carry, from its real exposition (empty families too)."""
    registry = CollectorRegistry()
    registry.register(MgeCollector(dg.DagsterInstance.ephemeral(), "sqlite:////nonexistent/mge.db"))
    text = generate_latest(registry).decode()
    families = list(text_string_to_metric_families(text))
    assert len(families) > 40, text
    return {f.name + suffix for f in families for suffix in SUFFIXES.get(f.type, ("",))}


def _named(expr: str) -> set[str]:
    return set(re.findall(r"\bmge_[a-z0-9_]+", expr))


def _panels() -> list[dict[str, Any]]:
    dashboard = json.loads((GRAFANA / "dashboards" / "mge.json").read_text())
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def test_alerts_and_panels_name_only_families_the_exporter_serves() -> None:
    exposed = _exposed_names()
    rules = [r for g in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"] for r in g["rules"]]
    exprs = [r["expr"] for r in rules] + [t["expr"] for p in _panels() for t in p["targets"]]
    assert all(_named(e) for e in exprs), [e for e in exprs if not _named(e)]
    unknown = {name for e in exprs for name in _named(e)} - exposed
    assert unknown == set()


def test_the_dashboard_and_its_provisioning_agree() -> None:
    datasources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus"
    panels = _panels()
    uids = {p["datasource"]["uid"] for p in panels} | {t["datasource"]["uid"] for p in panels for t in p["targets"]}
    assert uids == {source["uid"]}
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "mge.yml").read_text())["providers"]
    path = providers[0]["options"]["path"]
    assert path.startswith(GRAFANA_MOUNT + "/")
    folder = GRAFANA / path.removeprefix(GRAFANA_MOUNT + "/")
    assert folder.resolve() == (GRAFANA / "dashboards").resolve() and (folder / "mge.json").exists()
    titles = {p["title"] for p in panels}
    for wanted in ("Precision", "Gate S", "Spend against budget", "Calls in flight", "Cache hit rate"):
        assert wanted in titles
    correlations = [p for p in panels if p["type"] == "xychart"]
    assert {p["title"] for p in correlations} == {
        "Complexity against validation pass rate",
        "Retries against precision",
        "Cost against precision",
    }
    assert all(len(p["targets"]) == 2 and all(t["instant"] for t in p["targets"]) for p in correlations)
    ids = [p["id"] for p in json.loads((GRAFANA / "dashboards" / "mge.json").read_text())["panels"]]
    assert len(ids) == len(set(ids))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        body = response.read().decode()
    return json.loads(body) if body.startswith("{") else body


def _wait_for(what: str, probe: Any, timeout: float, processes: list[subprocess.Popen[bytes]]) -> Any:
    deadline = time.monotonic() + timeout
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
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# One entity and two MUSTs: the smallest request the offline backend serves end to end, so the run is short.
SMALL_REQUEST = """---
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


def _start(command: list[str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


@pytest.mark.slow
def test_prometheus_scrapes_the_exporter_after_a_run_and_evaluates_the_alerts(mge_env: Path) -> None:
    prometheus = require_tool("prometheus")
    (mge_env / "notes.md").write_text(SMALL_REQUEST)
    ensure_dagster_home()  # before the three processes below, so none of them races to write its config
    exporter_port, prometheus_port = _free_port(), _free_port()
    config = mge_env / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(PROMETHEUS / "alerts.yml")],
                "scrape_configs": [
                    {"job_name": "mge", "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}]}
                ],
            }
        )
    )
    api = f"http://127.0.0.1:{prometheus_port}/api/v1"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        # The servers start while the run goes on: a user's exporter and Prometheus are up before it.
        serve = [str(BIN / "mge"), "metrics", "serve", "--port", str(exporter_port)]
        processes.append(_start(serve, mge_env, mge_env / "exporter.log"))
        tsdb = [f"--storage.tsdb.path={mge_env / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prometheus_port}"]
        processes.append(_start([prometheus, f"--config.file={config}", *tsdb], mge_env, mge_env / "prometheus.log"))
        run = subprocess.run(
            [str(BIN / "mge"), "run", "notes.md"], cwd=mge_env, capture_output=True, text=True, timeout=600
        )
        assert run.returncode == 0, run.stdout + run.stderr
        tests = re.search(r"Acceptance: (\d+)/(\d+) tests passed", run.stdout)
        assert tests, run.stdout

        def generated() -> list[dict[str, Any]]:
            query = urllib.parse.quote('mge_acceptance_tests_generated{request="notes",mode="v2"}')
            return _get(f"{api}/query?query={query}")["data"]["result"]

        (sample,) = _wait_for("the run's series in Prometheus", generated, 60, processes)
        assert int(float(sample["value"][1])) == int(tests.group(2))

        def firing() -> list[dict[str, Any]]:
            alerts = _get(f"{api}/alerts")["data"]["alerts"]
            return [a for a in alerts if a["state"] == "firing" and a["labels"]["alertname"] == "MgeCacheHitRateLow"]

        # the run was the request's first: every call of every model stage was a cache miss
        (alert,) = _wait_for("MgeCacheHitRateLow to fire", firing, 30, processes)
        assert (alert["labels"]["request"], alert["labels"]["mode"]) == ("notes", "v2")
        assert float(alert["value"]) == 0.0
        up = _get(f"{api}/query?query=mge_exporter_source_up")["data"]["result"]
        assert {s["metric"]["source"]: s["value"][1] for s in up} == {"dagster": "1", "ledger": "1"}

        rules = {r["name"]: r for g in _get(f"{api}/rules")["data"]["groups"] for r in g["rules"]}
        assert len(rules) == 7 and all(r["health"] == "ok" for r in rules.values()), rules
        # the offline model costs nothing: no budget alert, though the budget series is there
        assert rules["MgeSoftCapPassed"]["state"] == "inactive"
        assert rules["MgeHardCapReached"]["state"] == "inactive"
        budget = _get(f"{api}/query?query=mge_cost_budget_usd")["data"]["result"]
        assert [(s["metric"]["request"], s["value"][1]) for s in budget] == [("notes", "5")]
    finally:
        for process in reversed(processes):
            _stop(process)


def test_a_port_in_use_gets_a_clear_message(mge_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mge_assets.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["metrics", "serve", "--port", str(port)]) == 2
    assert f"port {port} on 127.0.0.1 is already in use" in capsys.readouterr().err
