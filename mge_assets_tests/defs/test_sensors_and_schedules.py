"""The inbox sensor and the canary schedule, evaluated with build_sensor_context / build_schedule_context."""

import datetime as dt

import dagster as dg

from mge_assets.defs.schedules import canary_schedule
from mge_assets.defs.sensors import request_inbox
from mge_assets_tests.conftest import ROOT, example_path
from mge_assets_tests.helpers import test_resources


def _tick(instance: dg.DagsterInstance, tmp_path, cursor: str | None = None) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=test_resources(tmp_path))
    return request_inbox(context)


def test_a_new_request_in_the_inbox_adds_its_partition_and_requests_a_run(tmp_path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "tasks.md").write_bytes(example_path("task_api").read_bytes())
    with dg.instance_for_test() as instance:
        result = _tick(instance, tmp_path)
        assert [r.partition_keys for r in result.dynamic_partitions_requests] == [["task-api"]]
        assert [r.partition_key for r in result.run_requests] == ["task-api"]
        assert (tmp_path / "requests" / "task-api.md").exists()
        again = _tick(instance, tmp_path, cursor=result.cursor)
        assert not again.run_requests and not again.dynamic_partitions_requests
        assert "no new or changed request" in again.skip_reason.skip_message


def test_a_changed_request_is_updated_and_run_again_under_a_new_run_key(tmp_path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    original = example_path("task_api").read_bytes()
    (inbox / "tasks.md").write_bytes(original)
    with dg.instance_for_test() as instance:
        first = _tick(instance, tmp_path)
        instance.add_dynamic_partitions("requests", ["task-api"])
        (inbox / "tasks.md").write_bytes(original.replace(b"budget_usd: 5", b"budget_usd: 6"))
        second = _tick(instance, tmp_path, cursor=first.cursor)
        assert not second.dynamic_partitions_requests  # the partition exists already
        assert [r.partition_key for r in second.run_requests] == ["task-api"]
        assert second.run_requests[0].run_key != first.run_requests[0].run_key
        assert "budget_usd: 6" in (tmp_path / "requests" / "task-api.md").read_text()


def test_a_bad_request_adds_nothing_and_gets_an_error_note(tmp_path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "notes.md").write_text("---\nname: Notes!\n---\n# Notes\n")
    (inbox / "picture.md").write_bytes(b"\x89PNG\x00\x00")
    with dg.instance_for_test() as instance:
        result = _tick(instance, tmp_path)
        assert not result.run_requests and not result.dynamic_partitions_requests
        assert "setting 'name' is 'Notes!'" in (inbox / "notes.md.error.txt").read_text()
        assert "binary file" in (inbox / "picture.md.error.txt").read_text()
        assert not (tmp_path / "requests").exists()


def test_without_an_inbox_folder_the_sensor_skips_and_says_where(tmp_path) -> None:
    with dg.instance_for_test() as instance:
        result = _tick(instance, tmp_path)
        assert isinstance(result, dg.SkipReason) and "no inbox folder" in result.skip_message


def test_canaries_run_the_submitted_gold_set_and_skip_otherwise(monkeypatch) -> None:
    monkeypatch.setenv("MGE_GOLD_SET", str(ROOT / "examples" / "gold_set.yaml"))
    when = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)
    with dg.instance_for_test() as instance:
        skipped = canary_schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=when))
        assert isinstance(skipped, dg.SkipReason) and "mge submit" in skipped.skip_message
        instance.add_dynamic_partitions("requests", ["task-api", "blog", "gym-desk-ts", "not-gold"])
        runs = canary_schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=when))
        assert sorted({r.partition_key for r in runs}) == ["blog", "gym-desk-ts", "task-api"]
        assert all(r.tags["mge/canary"] == "2026-11-22" and ":2026-11-22:" in r.run_key for r in runs)


def test_a_gold_set_that_cannot_be_read_skips_the_canaries_and_says_why(monkeypatch, tmp_path) -> None:
    (tmp_path / "gold_set.yaml").write_text("canaries:\n  - request: nowhere.md\n")
    monkeypatch.setenv("MGE_GOLD_SET", str(tmp_path / "gold_set.yaml"))
    when = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)
    with dg.instance_for_test() as instance:
        skipped = canary_schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=when))
        assert isinstance(skipped, dg.SkipReason) and "canary 1: cannot read" in skipped.skip_message
