"""A stage's output digest: blind to timings, logs, storage places and cache use, so two runs of the
same request agree stage by stage; a change of what a stage produced changes its digest."""

import dagster as dg
import pandas as pd

from mge_assets.canary import regressions, summarize
from mge_assets.canary.digest import output_digest
from mge_assets.definitions import defs
from mge_assets.defs.resources import ModelBackendResource
from mge_assets.readback.report import canary_outcome, read_report
from mge_assets_tests.conftest import example_path
from mge_assets_tests.helpers import ledger_url, materialize_everything, submit


def test_what_varies_between_identical_runs_is_left_out_and_what_was_produced_is_not() -> None:
    record = {"tests": [{"id": "a", "outcome": "passed", "duration_s": 0.4}], "log_tail": "in 0.52s"}
    again = {"tests": [{"id": "a", "outcome": "passed", "duration_s": 0.2}], "log_tail": "in 0.31s"}
    assert output_digest(record) == output_digest(again)
    record["tests"][0]["outcome"] = "failed"
    assert output_digest(record) != output_digest(again)
    table = pd.DataFrame({"atom_id": ["x"], "code": ["def f(): ..."], "latency_s": [1.5], "cache_hits": [1]})
    quicker = table.assign(latency_s=[0.1], cache_hits=[0])
    assert output_digest(table) == output_digest(quicker)
    assert output_digest(table) != output_digest(table.assign(code=["def f(): return 1"]))


def test_two_runs_of_a_request_agree_on_every_stages_digest_and_make_a_steady_canary(tmp_path) -> None:
    """Offline, repeats are identical: the same digests, pass^k, no spread, and no regression against
    an evaluation made of either one."""
    digests, outcomes = [], []
    for run in ("first", "second"):
        root = tmp_path / run
        with dg.instance_for_test() as instance:
            name = submit(instance, root, example_path("task_api"))
            backend = ModelBackendResource(cache_dir=str(root / "cache"), database_url=ledger_url(root))
            assert materialize_everything(instance, root, name, backend).success
            report = read_report(instance, defs, name)
            digests.append({asset: values["digest"] for asset, values in report.materialized.items()})
            outcomes.append(canary_outcome(report, repeat=len(outcomes)))
    assert len(digests[0]) >= 10 and digests[0] == digests[1]
    [summary] = summarize(outcomes).values()
    assert summary.pass_k and summary.repeats == 2 and summary.spread == 0 and summary.precision == 1.0
    assert outcomes[0].stage_digests == digests[0] and outcomes[0].calls > 0
    assert regressions(summarize(outcomes[1:]), summarize(outcomes[:1]), list(digests[0])) == []
