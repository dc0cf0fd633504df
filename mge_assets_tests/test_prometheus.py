"""The monitoring files against the real tools: the alert rules under promtool (their syntax and their
unit tests), every family an alert or a dashboard panel names is one the exporter really serves, the
Grafana files checked statically (Grafana is not installed here). A real Prometheus server scraping
`mge metrics serve` during a real run and evaluating the rules is test_watching_a_run's."""

import json
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

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


def test_a_port_in_use_gets_a_clear_message(mge_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mge_assets.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["metrics", "serve", "--port", str(port)]) == 2
    assert f"port {port} on 127.0.0.1 is already in use" in capsys.readouterr().err
