"""Integration per atom: an atom with dependencies passes when its file's module-level check and the
system-level check pass (the components of the precision score and of review confidence).

For review, a finer signal: the atoms a failing test points at (`failing_clues`). A test's verdict
names its own atom; its traceback names the atoms at the project lines it ran through; its message
names a requirement id (`MUST-10`: the atoms that carry it) or the HTTP status it got instead of the
one it wanted (`assert 410 == 404`: the service's atoms that write 410). `integration_path_ok` is
then per atom what `integration_ok` is per module: the module imports, the service answers, and no
failing test points at the atom (a test file's atoms judged by their own tests, not the whole file).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import pandas as pd

from mge_assets.acceptance.results import AcceptanceResults
from mge_assets.assemble.project import GeneratedProject
from mge_assets.graph.model import DependencyGraph

PASSING = {"passed", "skipped"}
_FRAME = re.compile(r"^(?P<path>[\w./-]+\.(?:py|ts)):(?P<line>\d+):", re.MULTILINE)
_REQUIREMENT = re.compile(r"\b(?:MUST|SHOULD|MAY)-\d+\b")
_GOT_STATUS = re.compile(r"\bassert (?P<got>[1-5]\d\d) == [1-5]\d\d\b")


def integration_by_atom(
    atoms: pd.DataFrame,
    graph: DependencyGraph,
    project: GeneratedProject,
    results: pd.DataFrame | None = None,
    acceptance: AcceptanceResults | None = None,
) -> pd.DataFrame:
    """Columns atom_id, has_dependencies, integration_ok; with the atoms' `results` (their final code),
    also failing_clues and integration_path_ok."""
    depends = graph.dependencies()
    system_ok = project.checks.system_ok
    file_ok = {path: project.file_ok(path) for path in atoms["file"].unique()}
    frame = pd.DataFrame(
        {
            "atom_id": atoms["id"],
            "has_dependencies": [bool(depends.get(a)) for a in atoms["id"]],
            "integration_ok": [file_ok[f] and system_ok for f in atoms["file"]],
        }
    )
    if results is None:
        return frame
    clues = failing_clues(results, project, acceptance)
    frame["failing_clues"] = frame["atom_id"].map(clues).fillna(0).astype(int)
    own_ok = [_is_test(f) or file_ok[f] for f in atoms["file"]]  # a test file: its own tests, below
    frame["integration_path_ok"] = [
        o and system_ok and not n for o, n in zip(own_ok, frame["failing_clues"], strict=True)
    ]
    return frame


def failing_clues(
    results: pd.DataFrame, project: GeneratedProject, acceptance: AcceptanceResults | None = None
) -> pd.Series:
    """Per atom id, how many clues of failing unit or acceptance tests point at it. `results` has the
    atoms' final code (atom_id, file, start_byte, code): tracebacks name lines of the assembled files."""
    failing = [t for t, outcome in project.checks.unit_tests.items() if outcome not in PASSING]
    texts = [project.checks.unit_log] if failing else []
    if acceptance is not None:
        texts += [f"{t.requirement_id} {t.message}" for t in acceptance.tests if t.outcome not in PASSING]
    spans = _final_spans(results)
    found: Counter[str] = Counter(t.split("[")[0] for t in failing)  # a test's own atom: its id
    for clue in _clues_in(spans, texts):
        found.update(clue)
    return pd.Series({a: found[a] for a in spans["atom_id"]}, dtype=int)


def _final_spans(results: pd.DataFrame) -> pd.DataFrame:
    """Each atom's lines in its file as assembled from the final code (in byte order, as written)."""
    frame = results[["atom_id", "file", "start_byte", "code"]].sort_values(["file", "start_byte"])
    lines = frame["code"].str.count("\n")
    frame["start_line"] = lines.groupby(frame["file"]).cumsum() - lines + 1
    frame["end_line"] = frame["start_line"] + lines.clip(lower=1) - 1
    return frame


def _clues_in(spans: pd.DataFrame, texts: Iterable[str]) -> list[list[str]]:
    """One clue per traceback line, requirement id and unexpected status found in the texts."""
    clues: list[list[str]] = []
    service = spans[~spans["file"].map(_is_test)]
    for text in texts:
        for match in _FRAME.finditer(text):
            line, at = int(match["line"]), spans[spans["file"] == match["path"]]
            clues.append(list(at.loc[(at["start_line"] <= line) & (at["end_line"] >= line), "atom_id"]))
        for requirement in set(_REQUIREMENT.findall(text)):
            clues.append(list(spans.loc[spans["code"].str.contains(rf"\b{requirement}\b"), "atom_id"]))
        for got in {m["got"] for m in _GOT_STATUS.finditer(text)}:
            clues.append(list(service.loc[service["code"].str.contains(rf"\b{got}\b"), "atom_id"]))
    return clues


def _is_test(path: str) -> bool:
    return path.startswith("tests/")
