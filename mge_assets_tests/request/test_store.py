"""Submitting and storing requests: added, updated, unchanged; nothing stored on bad input."""

import pytest

from mge_assets.errors import RequestError
from mge_assets.request.store import load_request
from mge_assets.request.submit import submit_request
from mge_assets_tests.conftest import example_path


def test_submit_reports_added_unchanged_then_updated(tmp_path) -> None:
    data = example_path("task_api").read_bytes()
    assert submit_request(data, "a.md", tmp_path, "offline").status == "added"
    assert submit_request(data, "a.md", tmp_path, "offline").status == "unchanged"
    changed = data.replace(b"budget_usd: 5", b"budget_usd: 7")
    submission = submit_request(changed, "a.md", tmp_path, "offline")
    assert submission.status == "updated"
    assert "updated" in submission.describe()
    assert load_request(tmp_path, "task-api").settings.budget_usd == 7


def test_a_request_that_fails_validation_stores_nothing(tmp_path) -> None:
    with pytest.raises(RequestError):
        submit_request(b"---\nname: notes\n---\n# Notes\nfree text\n", "n.md", tmp_path, "offline")
    assert list(tmp_path.iterdir()) == []


def test_free_form_request_is_accepted_for_the_anthropic_backend(tmp_path) -> None:
    submission = submit_request(b"---\nname: notes\n---\n# Notes\nfree text\n", "n.md", tmp_path, "anthropic")
    assert submission.status == "added"


def test_loading_an_unknown_request_names_the_command_to_submit_it(tmp_path) -> None:
    with pytest.raises(RequestError, match="mge submit FILE"):
        load_request(tmp_path, "nothing-here")
