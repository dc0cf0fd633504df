"""The canary report of one evaluation: a row per canary (means, pass^k, harness errors apart, unmet
gold expectations), the regressions against the baseline, the two check verdicts, the table and its
JSON; and the baseline store, which keeps every blessing and refuses an evaluation of too few repeats."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mge_assets.canary import CanaryOutcome
from mge_assets.canary.baseline import BaselineError, BaselineStore
from mge_assets.canary.gold import GoldCanary
from mge_assets.canary.report import (
    BaselineRef,
    CanaryRun,
    build_report,
    gate_s_share_verdict,
    no_regression_verdict,
    per_canary_metrics,
    render_table,
    report_rows_json,
)

STAGES = {"discovery_document": "a", "acceptance_tests": "b", "acceptance_results": "c"}
COMPONENTS = {"spec_conformance": 1.0, "integration_pass": 0.9, "validation_pass": 0.8}
BLESSED = BaselineRef(evaluation="2026-11-30", blessed_at=datetime(2026, 11, 30, 6, 0, tzinfo=UTC))


def run(name: str, repeat: int, precision: float | None = 0.95, gate_s: bool = True, **fields) -> CanaryRun:
    gates = fields.pop("gates", {"acceptance_results_gate_s": "passed" if gate_s else "failed"})
    outcome = CanaryOutcome(
        name=name,
        repeat=repeat,
        precision=precision,
        components=COMPONENTS if precision is not None else {},
        gate_s=gate_s,
        cost_usd=0.5,
        wall_s=10.0 + repeat,
        calls=100,
        cache_hits=0,
        retries=2,
        stage_digests=fields.pop("digests", STAGES),
        **fields,
    )
    return CanaryRun(outcome=outcome, gates=gates, run_id=f"{name}-{repeat}")


def steady(name: str, repeats: int = 3, **fields) -> list[CanaryRun]:
    return [run(name, r, **fields) for r in range(repeats)]


def test_a_row_holds_the_means_pass_k_and_the_harness_errors_apart() -> None:
    runs = [*steady("blog"), run("shop", 0, gate_s=False), run("shop", 1), run("shop", 2, harness_error="timeout")]
    report = build_report("2026-12-04", runs)
    blog, shop = report.row("blog"), report.row("shop")
    assert (blog.repeats, blog.precision, blog.pass_k, blog.gate_s_passes) == (3, 0.95, True, 3)
    assert blog.components == COMPONENTS and blog.wall_s == 11.0 and blog.cost_usd == 0.5 and blog.retries == 2
    assert (shop.repeats, shop.gate_s_passes, shop.pass_k) == (2, 1, False)  # the harness error is not scored
    assert shop.harness_errors == ["repeat 2: timeout"]
    assert report.baseline is None and len(report.outcomes) == 6


def test_a_run_a_gate_stopped_scores_zero_and_the_gold_expectations_are_checked() -> None:
    help_desk = GoldCanary(
        name="help-desk", path=Path("h.md"), language="python", expect={"acceptance_results_gate_s": "failed"}
    )
    blog = GoldCanary(name="blog", path=Path("b.md"), language="python", expect={})
    runs = [run("help-desk", 0, precision=None, gate_s=False), run("blog", 0, gate_s=False)]
    report = build_report("2026-12-04", runs, gold=[help_desk, blog])
    assert report.row("help-desk").precision == 0.0 and report.row("help-desk").unmet_expectations == []
    assert report.row("blog").unmet_expectations == ["repeat 0: acceptance_results_gate_s: expected passed, got failed"]


def test_at_least_four_in_five_canaries_must_pass_gate_s_in_every_repeat() -> None:
    passing = [r for name in ("a", "b", "c", "d") for r in steady(name)]
    flaky = [run("e", 0), run("e", 1, gate_s=False), run("e", 2)]
    verdict = gate_s_share_verdict(build_report("2026-12-04", [*passing, *flaky]))
    assert verdict.passed and verdict.metadata["share"] == 0.8 and "e (2/3)" in verdict.description
    another = [run("f", 0, gate_s=False)]
    verdict = gate_s_share_verdict(build_report("2026-12-04", [*passing, *flaky, *another]))
    assert not verdict.passed and "4 of 6" in verdict.description


def test_a_canary_with_only_harness_errors_is_named_to_re_run_and_not_judged() -> None:
    runs = [*steady("a"), run("b", 0, harness_error="the model API was down")]
    verdict = gate_s_share_verdict(build_report("2026-12-04", runs))
    assert verdict.passed and verdict.metadata["canaries"] == 1
    assert "only harness errors, re-run them: b" in verdict.description
    assert not gate_s_share_verdict(build_report("2026-12-04", runs[3:])).passed  # nothing scored at all


def test_no_baseline_passes_and_says_how_to_bless_one() -> None:
    verdict = no_regression_verdict(build_report("2026-12-04", steady("blog")))
    assert verdict.passed and "no baseline blessed" in verdict.description
    assert "mge canary bless" in verdict.description


def test_a_regression_names_the_canary_and_the_stages_whose_output_changed() -> None:
    baseline = [run.outcome for run in [*steady("blog"), *steady("shop")]]
    changed = {**STAGES, "acceptance_tests": "x", "acceptance_results": "y"}
    current = [*steady("blog", precision=0.80, gate_s=False, digests=changed), *steady("shop", precision=0.94)]
    report = build_report("2026-12-04", current, baseline=(BLESSED, baseline))
    assert [row.name for row in report.regressed] == ["blog"]  # shop fell by 0.01, inside 0.02
    assert report.row("blog").changed_stages == ["acceptance_tests", "acceptance_results"]
    verdict = no_regression_verdict(report)
    assert not verdict.passed and verdict.metadata["regressed"] == "blog"
    assert "baseline 2026-11-30" in verdict.description
    assert "blog: precision 0.800 is below the baseline's 0.950" in verdict.description
    assert "changed stages: acceptance_tests, acceptance_results" in verdict.description
    assert no_regression_verdict(build_report("2026-12-04", steady("blog"), baseline=(BLESSED, baseline))).passed


def test_the_table_the_json_and_the_plotted_numbers() -> None:
    report = build_report("2026-12-04", [*steady("blog"), run("shop", 0, harness_error="sandbox crashed")])
    table = render_table(report)
    header, blog_line = table.splitlines()[2:4]
    assert header.split()[:3] == ["canary", "precision", "spec"]
    assert header.index("precision") == blog_line.index("0.9500")  # aligned columns
    assert "shop: harness error, repeat 0: sandbox crashed" in table and "Baseline: none" in table
    rows = report_rows_json(report)
    assert [(r["name"], r["precision"], r["gate_s"], r["baseline"]) for r in rows] == [
        ("blog", 0.95, True, None),
        ("shop", 0.0, False, None),
    ]
    metrics = per_canary_metrics(report)
    assert metrics["blog/precision"] == 0.95 and metrics["blog/pass_k"] == 1.0 and metrics["shop/harness_errors"] == 1


def test_bless_refuses_fewer_than_three_scored_repeats_naming_the_canaries(tmp_path) -> None:
    store = BaselineStore(f"sqlite:///{tmp_path / 'mge.db'}")
    short = [run.outcome for run in [*steady("blog"), *steady("shop", repeats=2), run("shop", 2, harness_error="x")]]
    with pytest.raises(BaselineError, match=r"shop \(2 scored\) has fewer than 3 scored repeats") as refused:
        store.bless("2026-12-04", short)
    assert "blog" not in str(refused.value) and "mge canary run --repeats 3" in str(refused.value)
    with pytest.raises(BaselineError, match="no canary repeat"):
        store.bless("2026-12-04", [])
    assert store.latest() is None


def test_bless_keeps_the_history_and_the_newest_wins(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'mge.db'}"
    first = [run.outcome for run in steady("blog")]
    BaselineStore(url).bless("2026-12-01", first, now=datetime(2026, 12, 1, 6, tzinfo=UTC))
    BaselineStore(url).bless("2026-12-03", first, now=datetime(2026, 12, 3, 6, tzinfo=UTC))
    latest = BaselineStore(url).latest()
    assert latest is not None and latest.evaluation == "2026-12-03" and latest.outcomes == first
    assert latest.describe() == "2026-12-03 (blessed 2026-12-03 06:00 UTC)"
    with BaselineStore(url).engine.connect() as connection:
        assert connection.exec_driver_sql("select count(*) from canary_baselines").scalar() == 2
