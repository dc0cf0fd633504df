"""The acceptance suite: test files, each test linked to its requirement, and untestable requirements."""

from __future__ import annotations

import ast
import re

from pydantic import BaseModel, ConfigDict

from mge_assets import pysource
from mge_assets.acceptance.naming import test_file_for, test_prefix
from mge_assets.atomize import atomize_with_errors
from mge_assets.errors import ModelOutputError
from mge_assets.llm.answers import files as answer_files
from mge_assets.request import Requirement

_NODE_TEST = re.compile(r"""^test\(\s*["'`]([^"'`]+)["'`]""", re.M)
_UNTESTABLE = re.compile(r'<untestable\s+reason="([^"]*)"\s*/?>', re.I)


class TestCase(BaseModel):
    """One pytest test and the requirement it checks."""

    __test__ = False  # not a pytest class
    model_config = ConfigDict(frozen=True)

    test_id: str
    requirement_id: str
    file: str
    name: str
    trace_id: str = ""  # the trace of the call that wrote it, as in cost_events


class UntestableRequirement(BaseModel):
    model_config = ConfigDict(frozen=True)

    requirement_id: str
    level: str | None
    reason: str


class AcceptanceSuite(BaseModel):
    """Everything acceptance_results needs to run and judge the tests."""

    model_config = ConfigDict(frozen=True)

    requirements: tuple[Requirement, ...]
    files: dict[str, str]
    cases: tuple[TestCase, ...]
    untestable: tuple[UntestableRequirement, ...]
    language: str = "python"  # of the project: pytest files, or TypeScript files for node --test


def read_tests_answer(
    requirement: Requirement, answer: str, language: str = "python"
) -> tuple[dict[str, str], list[TestCase]] | str:
    """The test file and cases of an answer for one requirement, or the reason it is untestable.

    Raises ModelOutputError when the answer is neither: wrong file, no test, or code that does not parse.
    """
    refusal = _UNTESTABLE.search(answer)
    if refusal:
        return refusal.group(1)
    expected = test_file_for(requirement.id, language)
    written = answer_files(answer)
    if set(written) != {expected}:
        raise ModelOutputError(f"tests for {requirement.id} must be written to {expected}, not {sorted(written)}")
    code = written[expected]
    names = (
        _node_test_names(requirement, expected, code) if language == "typescript" else _pytest_names(requirement, code)
    )
    if not names:
        raise ModelOutputError(f"the answer for {requirement.id} defines no test function")
    prefix = test_prefix(requirement.id)
    wrong = [n for n in names if not n.startswith(prefix + "__")]
    if wrong:
        raise ModelOutputError(f"tests of {requirement.id} must be named {prefix}__<what>; got {wrong}")
    if len(set(names)) != len(names):
        raise ModelOutputError(f"tests of {requirement.id} must have distinct names; got {names}")
    cases = [TestCase(test_id=f"{expected}::{n}", requirement_id=requirement.id, file=expected, name=n) for n in names]
    return {expected: code}, cases


def _pytest_names(requirement: Requirement, code: str) -> list[str]:
    try:
        tree = pysource.parse(code)
    except SyntaxError as error:
        raise ModelOutputError(f"tests for {requirement.id} do not parse: {error.msg} (line {error.lineno})") from None
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]


def _node_test_names(requirement: Requirement, path: str, code: str) -> list[str]:
    """The names of the top-level `test("...", ...)` calls of a TypeScript test file that parses."""
    errors = atomize_with_errors(path, code.encode())[1]
    if errors:
        raise ModelOutputError(f"tests for {requirement.id} do not parse: {errors[0].kind} at line {errors[0].line}")
    return [n for n in _NODE_TEST.findall(code) if n.startswith("test_")]
