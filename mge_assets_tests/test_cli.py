"""The `mge` command line: submit, bad input, reports; nothing added when a request is refused."""

import dagster as dg
import pytest

from mge_assets.cli import main
from mge_assets_tests.conftest import example_path


def _partitions() -> list[str]:
    return dg.DagsterInstance.get().get_dynamic_partitions("requests")


def test_submit_adds_the_partition_then_reports_unchanged_and_updated(mge_env, capsys) -> None:
    source = example_path("task_api")
    assert main(["submit", str(source)]) == 0
    assert "request 'task-api' added; partition 'task-api' added" in capsys.readouterr().out
    assert _partitions() == ["task-api"]
    assert main(["submit", str(source)]) == 0
    assert "unchanged" in capsys.readouterr().out
    changed = mge_env / "task_api.md"
    changed.write_text(source.read_text().replace("budget_usd: 5", "budget_usd: 9"))
    assert main(["submit", str(changed)]) == 0
    assert "request 'task-api' updated (the request changed); partition 'task-api' already exists" in (
        capsys.readouterr().out
    )
    assert _partitions() == ["task-api"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\x00\x01\x02binary", "binary file"),
        (b"# no front matter\n", "no YAML front matter"),
        (b"---\nname: Bad_Name\n---\n# x\n## Entities\n- A: b (str)\n", "setting 'name' is 'Bad_Name'"),
        (b"---\nname: ok\nflavour: x\n---\n# x\n## Entities\n- A: b (str)\n", "unknown setting 'flavour'"),
        (b"---\nname: ok\n---\n# x\nfree text only\n", "'## Entities' section"),
        (b"---\nname: ok\n---\n# x\n## Entities\n- A: b (money)\n", "unknown type 'money'"),
    ],
)
def test_bad_requests_are_refused_with_exit_2_and_add_nothing(mge_env, capsys, content: bytes, message: str) -> None:
    path = mge_env / "bad.md"
    path.write_bytes(content)
    assert main(["submit", str(path)]) == 2
    assert message in capsys.readouterr().err
    assert _partitions() == []
    assert not (mge_env / ".mge" / "requests").exists()


def test_a_missing_file_is_a_clear_error(mge_env, capsys) -> None:
    assert main(["submit", str(mge_env / "nope.md")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_run_with_anthropic_and_no_key_stops_before_anything_is_submitted(mge_env, capsys, monkeypatch) -> None:
    monkeypatch.setenv("MGE_BACKEND", "anthropic")
    assert main(["run", str(example_path("task_api"))]) == 2
    assert "ANTHROPIC_API_KEY" in capsys.readouterr().err
    assert _partitions() == []


def test_report_of_an_unknown_request(mge_env, capsys) -> None:
    assert main(["report", "nothing"]) == 2
    assert "no request named 'nothing'" in capsys.readouterr().err


def test_submit_notes_a_rule_sentence_it_does_not_understand_with_its_line(mge_env, capsys) -> None:
    request = mge_env / "prime.md"
    request.write_text(
        "---\nname: prime\n---\n# P\n\n## Entities\n- Task: priority (int)\n\n## Requirements\n### MUST\n"
        "- A Task's priority must be a prime number.\n- A Task's priority is between 1 and 5.\n"
    )
    assert main(["submit", str(request)]) == 0  # submitted all the same: it is reported untestable later
    err = capsys.readouterr().err
    assert "note: line 11: MUST-01 reads like a business rule but is not understood" in err
    assert "MUST-02" not in err
    assert _partitions() == ["prime"]


def test_several_problems_are_reported_at_once_and_nothing_is_added(mge_env, capsys) -> None:
    request = mge_env / "bad.md"
    request.write_text("---\nname: bad\ncolour: red\n---\n# B\n\n## Entities\n- Task: a (strr), id (int)\n")
    assert main(["submit", str(request)]) == 2
    err = capsys.readouterr().err
    assert "3 problems" in err and "line 3: unknown setting 'colour'" in err
    assert "line 8: field 'a' of Task has unknown type 'strr'" in err and "line 8: field name 'id'" in err
    assert _partitions() == []
