"""Level-1 validation of an atom's answer, each check recorded:

- `parses`: the file, with the answer in place of the atom, parses;
- `defines_unit`: a function, method or class atom still defines exactly its unit;
- `names`: no undefined or shadowed name (pyflakes) on the answer's lines, and none it causes elsewhere
  in its file (a name other atoms use and the answer no longer defines);
- `atomic`: the answer meets every atomicity criterion its draft met (`mge_assets.atomize.atomicity`;
  an answer identical to its draft meets them by definition);
- `types`: mypy finds no error on the answer's lines, and none it causes elsewhere in its module.

Later checks run only when the earlier ones pass (a `None` in the record means not run). TypeScript
atoms are judged by tree-sitter (parses, defines its unit) and the atomicity criteria; pyflakes and
mypy are Python's, so `names` and `types` are not run for them (tsc judges the whole project at level 2).
"""

from __future__ import annotations

import ast
import hashlib
import textwrap
from collections import Counter

import pandas as pd
from pyflakes import checker as pyflakes
from pyflakes import messages as flake

from mge_assets import pysource
from mge_assets.atomize import atomize_file, atomize_with_errors
from mge_assets.atomize.atomicity import CRITERIA, atomicity
from mge_assets.atomize.model import Atom
from mge_assets.execute.engine import Verdict
from mge_assets.execute.typecheck import TypeChecker

_DEFINITION_KINDS = {"function", "method", "class", "class_header"}
CHECKS = ("parses", "defines_unit", "names", "atomic", "types")
_NAME_PROBLEMS = (
    flake.UndefinedName,
    flake.UndefinedLocal,
    flake.UndefinedExport,
    flake.RedefinedWhileUnused,
    flake.ImportShadowedByLoopVar,
)


def splice(file_bytes: bytes, atom: Atom, code: str) -> bytes:
    """The file with the atom's span replaced by `code`."""
    return file_bytes[: atom.start_byte] + code.encode() + file_bytes[atom.end_byte :]


class AtomValidator:
    """Validates answers against the drafts of their files; the type check is optional (None: off)."""

    def __init__(self, drafts: dict[str, bytes], type_checker: TypeChecker | None = None) -> None:
        self.drafts = drafts
        self.type_checker = type_checker
        self._name_cache: dict[str, list[tuple[int, str]]] = {}

    async def __call__(self, atom: Atom, code: str) -> Verdict:
        checks: dict[str, bool | None] = dict.fromkeys(CHECKS)
        file_bytes = self.drafts[atom.file]
        problems = syntax_problems(atom, code, file_bytes)
        checks["parses"] = not problems
        if problems:
            return Verdict(tuple(problems), checks)
        source = splice(file_bytes, atom, code)
        lines = _answer_lines(atom, code)
        python = atom.language == "python"
        for name, run in (
            ("defines_unit", lambda: unit_problems(atom, code, source)),
            ("names", (lambda: self._name_problems(atom, source, lines)) if python else None),
            ("atomic", lambda: [] if code == atom.code else atomicity_problems(atom, source, code)),
        ):
            if run is None:
                continue
            problems = run()
            checks[name] = not problems
            if problems:
                return Verdict(tuple(problems), checks)
        if self.type_checker is not None and atom.file.endswith(".py"):
            problems, judged = await self._type_problems(atom, source.decode(), lines)
            checks["types"] = not problems if judged else None
        return Verdict(tuple(problems), checks)

    def _name_problems(self, atom: Atom, source: bytes, lines: range) -> list[str]:
        found = self._names(atom.file, source)
        before = Counter(text for _, text in self._names(atom.file, self.drafts[atom.file]))
        return _located_or_new(found, before, lines, atom.file)

    def _names(self, path: str, source: bytes) -> list[tuple[int, str]]:
        """pyflakes per distinct file text: every atom answered as drafted shares one analysis."""
        key = hashlib.sha256(source).hexdigest()
        if key not in self._name_cache:
            self._name_cache[key] = name_messages(path, source)
        return self._name_cache[key]

    async def _type_problems(self, atom: Atom, source: str, lines: range) -> tuple[list[str], bool]:
        assert self.type_checker is not None
        found = await self.type_checker.check(atom.file, source)
        if found is None:
            return [], False
        baseline = self.type_checker.baseline or {}
        before = Counter(text for _, text in baseline.get(atom.file, []))
        return [f"type error: {p}" for p in _located_or_new(found, before, lines, atom.file)], True


def syntax_problems(atom: Atom, code: str, file_bytes: bytes) -> list[str]:
    if not code.strip():
        return ["the answer is empty"]
    if atom.language != "python":
        errors = atomize_with_errors(atom.file, splice(file_bytes, atom, code))[1]
        return [f"syntax error in {atom.file} at line {e.line}: {e.kind} {e.text!r}" for e in errors[:3]]
    try:
        pysource.parse(splice(file_bytes, atom, code))
    except SyntaxError as error:
        return [f"syntax error in {atom.file} at line {error.lineno}: {error.msg}"]
    return []


def unit_problems(atom: Atom, code: str, source: bytes) -> list[str]:
    if atom.kind not in _DEFINITION_KINDS:
        return []
    if atom.language != "python":
        found = {(a.kind, a.symbol) for a in atomize_file(atom.file, source)}
        return [] if (atom.kind, atom.symbol) in found else [f"{atom.file} no longer defines `{atom.symbol}`"]
    problems = _one_definition(atom, code)
    if not _defines(pysource.parse(source), atom):
        problems.append(f"{atom.file} no longer defines `{atom.symbol}`")
    return problems


def name_messages(path: str, source: bytes) -> list[tuple[int, str]]:
    """pyflakes' undefined and shadowed names in a file: (line, message)."""
    tree = pysource.parse(source)
    result = pyflakes.Checker(tree, filename=path)
    return [(m.lineno, m.message % m.message_args) for m in result.messages if isinstance(m, _NAME_PROBLEMS)]


def atomicity_problems(atom: Atom, source: bytes, code: str) -> list[str]:
    """Criteria the draft met that the answer does not (the answer judged as the atoms it becomes)."""
    draft = _criteria(pd.DataFrame([atom.as_row()]))
    start, end = atom.start_byte, atom.start_byte + len(code.encode())
    pieces = [a for a in atomize_file(atom.file, source) if a.start_byte < end and a.end_byte > start]
    if not pieces:
        return []
    answer = _criteria(pd.DataFrame([a.as_row() for a in pieces]))
    lost = [name for name in CRITERIA if draft[name] and not answer[name]]
    return [f"the answer breaks the atomicity criterion '{name}': {CRITERIA[name]}" for name in lost]


def _criteria(frame: pd.DataFrame) -> dict[str, bool]:
    table = atomicity(frame)
    return {name: bool(table[name].all()) for name in CRITERIA}


def _answer_lines(atom: Atom, code: str) -> range:
    return range(atom.start_line, atom.start_line + max(1, code.count("\n")) + 1)


def _located_or_new(found: list[tuple[int, str]], before: Counter[str], lines: range, path: str) -> list[str]:
    """Messages on the answer's lines, and messages elsewhere that the draft did not have."""
    remaining = Counter(before)
    problems = []
    for line, text in found:
        if line in lines:
            problems.append(f"{path} line {line}: {text}")
        elif remaining[text] > 0:
            remaining[text] -= 1
        else:
            problems.append(f"{path} line {line}: {text}")
    return problems


def _one_definition(atom: Atom, code: str) -> list[str]:
    try:
        own = pysource.parse(textwrap.dedent(code))
    except SyntaxError:
        return []  # judged in the file's context above
    definitions = [n for n in own.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    if len(definitions) != 1:
        return [f"the unit must define exactly `{atom.symbol}`, it defines {len(definitions)} things"]
    return []


def _defines(module: ast.Module, atom: Atom) -> bool:
    parts = atom.symbol.split(".")
    scope: list[ast.stmt] = module.body
    for index, part in enumerate(parts):
        node = next(
            (
                n
                for n in scope
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and n.name == part
            ),
            None,
        )
        if node is None:
            return False
        if index < len(parts) - 1:
            scope = node.body
    return True


def validate_atom(atom: Atom, code: str, file_bytes: bytes) -> list[str]:
    """The checks that need no type checker, synchronously: problems, empty when valid."""
    problems = syntax_problems(atom, code, file_bytes)
    if problems:
        return problems
    source = splice(file_bytes, atom, code)
    validator = AtomValidator({atom.file: file_bytes})
    names = validator._name_problems(atom, source, _answer_lines(atom, code)) if atom.language == "python" else []
    return unit_problems(atom, code, source) or names or atomicity_problems(atom, source, code)
