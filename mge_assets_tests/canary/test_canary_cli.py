"""`mge canary run|bless|report` on a one-canary gold set in a home of its own: the evaluation runs its
repeats and reports, bless records it as the baseline, and the report names that baseline."""

import datetime as dt
import json

import pytest

import mge_assets.definitions  # noqa: F401  (loaded once, as `mge` does: its resource paths relative to the cwd)
from mge_assets.cli import main
from mge_assets_tests.conftest import example_path


@pytest.fixture
def one_canary(mge_env, monkeypatch):
    manifest = mge_env / "gold_set.yaml"
    manifest.write_text(f"canaries:\n  - request: {example_path('blog')}\n")
    monkeypatch.setenv("MGE_GOLD_SET", str(manifest))
    return manifest


def test_report_and_bless_before_any_evaluation_say_what_to_run(one_canary, capsys) -> None:
    assert main(["canary", "report"]) == 2
    assert "no canary evaluation has been reported" in capsys.readouterr().err
    assert main(["canary", "bless", "2026-12-01"]) == 2
    err = capsys.readouterr().err
    assert "no canary report of evaluation '2026-12-01' (reported: none yet)" in err and "mge canary run" in err


def test_a_bad_gold_set_is_a_clear_error(mge_env, monkeypatch, capsys) -> None:
    (mge_env / "gold_set.yaml").write_text("canaries:\n  - request: nowhere.md\n")
    monkeypatch.setenv("MGE_GOLD_SET", str(mge_env / "gold_set.yaml"))
    assert main(["canary", "run", "--repeats", "1"]) == 2
    assert "canary 1: cannot read" in capsys.readouterr().err


@pytest.mark.slow
def test_run_three_repeats_bless_then_the_report_names_the_baseline(one_canary, capsys) -> None:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert main(["canary", "run", "--repeats", "3", "--json"]) == 0
    out = capsys.readouterr()
    [row] = json.loads(out.out)  # progress went to stderr: stdout is JSON only
    assert (row["name"], row["gate_s"], row["repeats"], row["baseline"]) == ("blog", True, 3, None)
    assert 0.95 <= row["precision"] <= 1.0 and row["evaluation"] == today
    assert out.err.count("blog repeat") == 3

    assert main(["canary", "bless"]) == 0
    assert f"baseline: evaluation {today} (blessed" in capsys.readouterr().out

    assert main(["canary", "report", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["name"], row["baseline"], row["regression"]) == ("blog", today, None)
    assert main(["canary", "report"]) == 0
    table = capsys.readouterr().out
    assert f"Baseline: {today} (blessed" in table
    assert "PASS  canary_report_no_regression: no canary regressed against the baseline" in table
