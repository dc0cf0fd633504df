"""The simulator's scripted mode: recorded answers matched by envelope, given in turn, the rest from the
synthesizer; a script that cannot be read is a clear error."""

import json

import pytest

from mge_assets.errors import SettingsError
from mge_assets.simulator.script import Script


def write(tmp_path, entries) -> str:
    path = tmp_path / "script.json"
    path.write_text(json.dumps({"answers": entries}))
    return str(path)


def test_answers_are_matched_by_envelope_and_given_in_turn_the_last_repeating(tmp_path) -> None:
    (tmp_path / "long.txt").write_text("the second answer")
    script = Script.load(
        write(
            tmp_path,
            [
                {
                    "kind": "write_tests",
                    "match": {"requirement.id": "MUST-02"},
                    "answers": ["first", {"file": "long.txt"}],
                },
                {"kind": "discover", "answers": [{"name": "x"}]},
            ],
        )
    )
    asked = {"kind": "write_tests", "requirement": {"id": "MUST-02", "text": "..."}}
    assert [script.answer(asked) for _ in range(3)] == ["first", "the second answer", "the second answer"]
    assert script.answer({"kind": "write_tests", "requirement": {"id": "MUST-03"}}) is None
    assert json.loads(script.answer({"kind": "discover", "request": "..."})) == {"name": "x"}
    assert script.answer({"kind": "draft_task", "task": {"id": "T01"}}) is None
    assert script.used == {"write_tests": 3, "discover": 1}


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"answers": [{"kind": "discover"}]}),
        json.dumps({"answers": [{"kind": "x", "answers": []}]}),
    ],
)
def test_a_script_that_cannot_be_used_is_a_clear_error(tmp_path, content) -> None:
    path = tmp_path / "script.json"
    path.write_text(content)
    with pytest.raises(SettingsError, match="script"):
        Script.load(path)
