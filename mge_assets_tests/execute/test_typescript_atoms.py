"""Level 1 for TypeScript atoms: an answer must parse in its file and still define its unit; the
Python-only checks (pyflakes, mypy) are recorded as not run."""

import asyncio

from mge_assets.atomize import atomize_file
from mge_assets.execute.validate import AtomValidator

SOURCE = b"""import { NotFoundError } from "./errors.js";

export function find(rows: Map<number, string>, id: number): string {
  const row = rows.get(id);
  if (row === undefined) {
    throw new NotFoundError("Row", id);
  }
  return row;
}
"""


def _verdict(code: str):
    atom = next(a for a in atomize_file("src/find.ts", SOURCE) if a.symbol == "find")
    return atom, asyncio.run(AtomValidator({"src/find.ts": SOURCE})(atom, code))


def test_the_draft_itself_is_valid_and_python_checks_are_not_run() -> None:
    atom = next(a for a in atomize_file("src/find.ts", SOURCE) if a.symbol == "find")
    _, verdict = _verdict(atom.code)
    assert verdict.problems == ()
    assert verdict.checks["parses"] and verdict.checks["defines_unit"] and verdict.checks["atomic"]
    assert verdict.checks["names"] is None and verdict.checks["types"] is None


def test_an_answer_that_does_not_parse_or_drops_its_unit_is_rejected() -> None:
    atom, broken = _verdict("export function find(rows: Map<number, string>, id: number): string {\n  return (\n")
    assert not broken.checks["parses"] and "syntax error in src/find.ts" in broken.problems[0]
    _, renamed = _verdict(atom.code.replace("function find(", "function lookup("))
    assert renamed.checks["parses"] and not renamed.checks["defines_unit"]
    assert "no longer defines `find`" in renamed.problems[0]
