"""The gold set: the requests the canaries run, each with the gates it is expected to end in.

The manifest (`examples/gold_set.yaml`) lists request files relative to itself; a gate it does not
name for a request is expected to pass. Gate states are those of `mge run`'s report: passed, warning,
failed, not run (a check downstream of a blocking failure).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from mge_assets.errors import MgeError, RequestError
from mge_assets.request import parse_request

GATE_STATES = ("passed", "warning", "failed", "not run")
DEFAULT_REPEATS = 3


def gold_manifest() -> Path:
    """The gold set's manifest: MGE_GOLD_SET, default examples/gold_set.yaml."""
    return Path(os.environ.get("MGE_GOLD_SET", "examples/gold_set.yaml"))


def canary_repeats() -> int:
    """How many repeats of each canary an evaluation runs: MGE_CANARY_REPEATS, default 3."""
    value = os.environ.get("MGE_CANARY_REPEATS", "")
    try:
        repeats = int(value) if value else DEFAULT_REPEATS
    except ValueError:
        raise MgeError(f"MGE_CANARY_REPEATS must be a whole number of repeats, not {value!r}") from None
    if repeats < 1:
        raise MgeError(f"MGE_CANARY_REPEATS must be at least 1, not {repeats}")
    return repeats


class GoldSetError(MgeError):
    """A gold-set manifest that cannot be used: unreadable, a request missing or invalid, a bad expectation."""


class GoldCanary(BaseModel):
    """One gold request: its name (the request's), its file, and the gates not expected to pass."""

    model_config = ConfigDict(frozen=True)

    name: str
    path: Path
    language: str
    expect: dict[str, str]

    def expected(self, gate: str) -> str:
        return self.expect.get(gate, "passed")


def load_gold_set(manifest: Path) -> list[GoldCanary]:
    """Every canary of `manifest`, checked: each file parses as a request, names are unique, and each
    expectation is one of GATE_STATES. Errors name the entry and what to do."""
    try:
        document = yaml.safe_load(manifest.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise GoldSetError(f"{manifest}: cannot read the gold set ({error}); fix the file or the path") from error
    entries = document.get("canaries") if isinstance(document, Mapping) else None
    if not isinstance(entries, list) or not entries:
        raise GoldSetError(f"{manifest}: expected a mapping with a non-empty list `canaries:` of `- request: FILE`")
    canaries = [_canary(manifest, index, entry) for index, entry in enumerate(entries, start=1)]
    seen: dict[str, Path] = {}
    for canary in canaries:
        if canary.name in seen:
            raise GoldSetError(
                f"{manifest}: requests {seen[canary.name]} and {canary.path} share the name '{canary.name}'; "
                "each canary needs its own"
            )
        seen[canary.name] = canary.path
    return canaries


def _canary(manifest: Path, index: int, entry: object) -> GoldCanary:
    where = f"{manifest}, canary {index}"
    if not isinstance(entry, Mapping) or not isinstance(entry.get("request"), str):
        raise GoldSetError(f"{where}: write it as `- request: requests/NAME.md` (with an optional `expect:`)")
    unknown = sorted(set(entry) - {"request", "expect"})
    if unknown:
        raise GoldSetError(f"{where}: unknown key(s) {', '.join(unknown)}; a canary has `request` and `expect`")
    path = (manifest.parent / entry["request"]).resolve()
    try:
        request = parse_request(path.read_bytes(), source=str(path))
    except OSError as error:
        raise GoldSetError(f"{where}: cannot read {path} ({error.strerror}); fix the path") from error
    except RequestError as error:
        raise GoldSetError(f"{where}: {path} is not a valid request: {error}") from error
    expect = entry.get("expect") or {}
    if not isinstance(expect, Mapping):
        raise GoldSetError(f"{where}: `expect` maps a gate to one of {', '.join(GATE_STATES)}")
    wrong = {gate: state for gate, state in expect.items() if state not in GATE_STATES}
    if wrong:
        gate, state = next(iter(wrong.items()))
        raise GoldSetError(f"{where}: gate {gate} expects '{state}'; write one of {', '.join(GATE_STATES)}")
    return GoldCanary(name=request.name, path=path, language=request.settings.language, expect={**expect})


def unmet_expectations(canary: GoldCanary, gates: Mapping[str, str]) -> list[str]:
    """Each gate whose state in `gates` (gate → state of one run) differs from what the canary expects,
    and each expected gate the run did not report."""
    unmet = [
        f"{gate}: expected {canary.expected(gate)}, got {state}"
        for gate, state in sorted(gates.items())
        if state != canary.expected(gate)
    ]
    unmet += [
        f"{gate}: expected {state}, not reported" for gate, state in sorted(canary.expect.items()) if gate not in gates
    ]
    return unmet
