"""The simulator's scripted mode: answers from a recorded conversation instead of the synthesizer.

A script is a JSON file: `{"answers": [{"kind": "discover", "match": {...}, "answers": [...]}, ...]}`.
An entry answers the prompts of its `kind` whose envelope holds every `match` item (a dotted path
into the envelope: `{"task.id": "T03"}`, `{"requirement.id": "MUST-02"}`, `{"atom.symbol": "..."}`);
its `answers` are given in turn, one per matching call, the last one repeating, so a recording can
hold a malformed first answer and the corrected one that follows the validator's feedback. An
answer is text, or `{"file": "name"}` for text kept beside the script. A prompt no entry matches is
answered by the offline synthesizer from its envelope, as without a script; a free-form request's
discovery can only come from the script.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mge_assets.errors import SettingsError


@dataclass
class _Entry:
    kind: str
    match: dict[str, Any]
    answers: list[str]
    given: int = 0

    def fits(self, payload: dict[str, Any]) -> bool:
        return payload.get("kind") == self.kind and all(_lookup(payload, k) == v for k, v in self.match.items())

    def next_answer(self) -> str:
        answer = self.answers[min(self.given, len(self.answers) - 1)]
        self.given += 1
        return answer


@dataclass
class Script:
    """A recorded conversation, answered in order per entry (thread-safe: the server is concurrent)."""

    entries: list[_Entry]
    used: dict[str, int] = field(default_factory=dict)  # prompt kind -> answers given from the script
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, path: str | Path) -> Script:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
            entries = [
                _Entry(
                    kind=str(item["kind"]),
                    match=dict(item.get("match", {})),
                    answers=[_text(answer, path.parent) for answer in item["answers"]],
                )
                for item in data["answers"]
            ]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise SettingsError(
                f"the simulator's script {path} cannot be read ({error}); it must be JSON of the form "
                '{"answers": [{"kind": ..., "match": {...}, "answers": [...]}]}'
            ) from None
        if any(not entry.answers for entry in entries):
            raise SettingsError(f"the simulator's script {path} has an entry without answers")
        return cls(entries)

    def answer(self, payload: dict[str, Any]) -> str | None:
        """The recorded answer to a prompt's envelope, or None when the recording has none."""
        with self._lock:
            entry = next((e for e in self.entries if e.fits(payload)), None)
            if entry is None:
                return None
            self.used[entry.kind] = self.used.get(entry.kind, 0) + 1
            return entry.next_answer()


def _lookup(payload: dict[str, Any], dotted: str) -> Any:
    value: Any = payload
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _text(answer: Any, folder: Path) -> str:
    if isinstance(answer, str):
        return answer
    if isinstance(answer, dict) and "file" in answer:
        return (folder / answer["file"]).read_text()
    if isinstance(answer, dict | list):  # a JSON answer written as JSON in the script
        return json.dumps(answer, indent=1)
    raise TypeError(f"an answer is text, {{'file': name}} or JSON, not {answer!r}")
