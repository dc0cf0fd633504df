"""JavaScript, TypeScript and TSX atoms; over-budget splits; parse errors; reassembly on real corpora."""

from pathlib import Path

import pytest
from tree_sitter import Tree

from mge_assets.atomize import atomize_file, atomize_with_errors, language_of
from mge_assets.atomize.javascript import parser as javascript_parser
from mge_assets.atomize.python import parser as python_parser

TSX = b"""import React, { useState, type FC } from "react";
import type { Props } from "@/types";
import * as ns from "./ns";
export * from "./barrel";
export { x as y } from "./x";
const lazy = () => import("./lazy");
const fs = require("fs");
// The app.
export default function App(props: Props): JSX.Element {
  const [a, setA] = useState(0);
  if (a && props.b) {
    return <div>{ns.a}</div>;
  }
  for (const k of props.items) {
    console.log(k);
    fs.readFileSync(k);
  }
  return <Other />;
}
@sealed
export class C extends Base implements I {
  private x: number = 1;
  m(a: number): number { return this.x + a; }
}
interface I { a: string }
type T = Props | I;
enum E { A, B }
"""

PY_LONG = b"""def long(a):
    b = 1
    c = 2
    if a:
        d = helper(a)
        e = 4
    for i in range(3):
        print(i)
    return b + c
"""


def _imports(atoms) -> set[tuple]:
    return {(i.module, i.name, i.alias, i.kind) for a in atoms for i in a.imports}


def test_tsx_units_kinds_imports_and_exports() -> None:
    atoms = atomize_file("src/App.tsx", TSX, line_budget=4)
    kinds = [(a.kind, a.symbol) for a in atoms]
    assert kinds[0] == ("module_header", "<module>")
    assert ("function", "App") in kinds and ("class_header", "C") in kinds and ("method", "C.m") in kinds
    assert ("interface", "I") in kinds and ("type", "T") in kinds and ("enum", "E") in kinds
    blocks = [a for a in atoms if a.kind == "block"]
    app = next(a for a in atoms if a.symbol == "App")
    assert blocks and all(b.parent == app.id and b.loc <= 4 for b in blocks)
    assert app.code.startswith("// The app.\nexport default function App")
    assert "props" not in {r for b in blocks for r in b.references}  # a parameter, not a dependency
    imports = _imports(atoms)
    assert ("react", "FC", "FC", "type") in imports and ("@/types", "Props", "Props", "type") in imports
    assert ("./ns", None, "ns", "static") in imports and ("./barrel", "*", "*", "reexport") in imports
    assert ("./lazy", None, "", "dynamic") in imports and ("fs", None, "fs", "require") in imports
    assert ("", "App", "default", "export") in imports
    header = next(a for a in atoms if a.symbol == "C")
    assert header.bases == ("Base",) and header.exported and "sealed" in header.references
    assert b"".join(a.code.encode() for a in atoms) == TSX


def test_python_units_over_budget_split_at_statements_with_parent_links() -> None:
    atoms = atomize_file("m.py", PY_LONG, line_budget=4)
    assert [a.kind for a in atoms] == ["function", "block", "block"]
    assert all(a.loc <= 4 for a in atoms) and {a.parent for a in atoms[1:]} == {atoms[0].id}
    assert "helper" in atoms[1].references and "a" not in atoms[1].references
    assert atomize_file("m.py", PY_LONG)[0].kind == "function" and len(atomize_file("m.py", PY_LONG)) == 1
    assert "".join(a.code for a in atoms).encode() == PY_LONG


def test_python_cuts_are_where_a_statement_clause_or_comment_of_any_block_begins_its_line() -> None:
    body = "    if a:\n        x = (\n            1,\n        )\n        # note\n        y = 2; q = 0\n"
    clauses = "    elif a > 1:\n        z = 3\n    else:\n        w = 4\n"
    handlers = "    try:\n        v = 5\n    except E:\n        u = 6\n    finally:\n        t = 7\n"
    module = "x = 1\n# top\ny = [\n    2,\n]\n"
    source = f"def f(a):\n{body}{clauses}{handlers}{module}".encode()
    atoms = atomize_file("m.py", source, line_budget=1)
    assert [a.start_line for a in atoms if a.kind == "block" and a.parent == "m.py::f"] == [2, 3, 6, *range(7, 18)]
    assert [(a.kind, a.start_line) for a in atoms[-3:]] == [("statements", 18), ("block", 19), ("block", 20)]


def test_python_type_checking_and_late_imports_have_their_kind() -> None:
    source = (
        b"from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .m import T\n\n\ndef f():\n    import json\n"
    )
    assert _imports(atomize_file("p.py", source)) == {
        ("typing", "TYPE_CHECKING", "TYPE_CHECKING", "static"),
        ("m", "T", "T", "type"),
        ("json", None, "json", "late"),
    }


@pytest.mark.parametrize("path", ["bad.py", "bad.ts", "bad.js"])
def test_a_file_that_does_not_parse_reports_positions_and_still_reassembles(path: str) -> None:
    source = b"x = 1\ndef broken(:\n    pass\n" if path.endswith(".py") else b"const a = 1;\nfunction f( {\n"
    atoms, errors = atomize_with_errors(path, source)
    assert errors and errors[0].line == 2 and errors[0].file == path
    assert "".join(a.code for a in atoms).encode() == source


def test_unknown_extensions_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match=r"cannot atomize notes\.txt: only"):
        atomize_file("notes.txt", b"hello")


def _corpus(roots: list[Path]) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*") if p.is_file() and language_of(p.name))


CORPORA = {
    "npm (JavaScript)": [Path("/usr/lib/node_modules/npm")],
    "registry projects (TypeScript/TSX/JavaScript)": [
        Path(__file__).resolve().parents[2] / "benchmarks" / ".data" / "projects"
    ],
}


# What holds the statements of a block, and the clauses a statement goes on with: an atom may begin
# with one of their children or a clause, anywhere else it would begin inside a statement.
_BLOCKS = {"module", "block", "program", "statement_block", "class_body", "interface_body", "object_type"}
_BLOCKS |= {"enum_body", "switch_body", "switch_case", "switch_default", "ERROR"}
_CLAUSES = {"elif_clause", "else_clause", "except_clause", "except_group_clause", "finally_clause"}
_CLAUSES |= {"case_clause", "catch_clause", "switch_case", "switch_default"}


def _inside_a_statement(tree: Tree, source: bytes, start: int) -> bool:
    """Whether an atom that starts at `start` starts inside a statement: its first token does not open
    a statement, a clause or a comment of a block."""
    first = start + len(source[start:]) - len(source[start:].lstrip())
    if first >= len(source):
        return False
    node = tree.root_node.descendant_for_byte_range(first, first + 1)
    while node.parent is not None and node.parent.start_byte == first and node.parent.type not in _BLOCKS:
        node = node.parent
    return node.type not in _CLAUSES and (node.parent is None or node.parent.type not in _BLOCKS)


@pytest.mark.parametrize("name", sorted(CORPORA))
def test_every_file_of_a_real_corpus_reassembles_byte_for_byte_with_no_atom_starting_inside_a_statement(
    name: str,
) -> None:
    files = _corpus([r for r in CORPORA[name] if r.exists()])
    if len(files) < 50:
        pytest.skip(f"{name} not on this machine (run benchmarks/fetch_corpora.py)")
    bad = []
    for path in files:
        if path.stat().st_size > 400_000:
            continue  # bundles and minified files: a single line each, nothing to learn
        source = path.read_bytes()
        atoms = atomize_file(str(path), source)
        joined = "".join(a.code for a in atoms).encode("utf-8", "surrogateescape")
        language = language_of(path.name) or ""
        tree = (python_parser() if language == "python" else javascript_parser(language)).parse(source)
        if (
            joined != source
            or any(a.end_byte <= a.start_byte for a in atoms)
            or len({a.id for a in atoms}) < len(atoms)
            or any(_inside_a_statement(tree, source, a.start_byte) for a in atoms[1:])
        ):
            bad.append(str(path))
    assert bad == []


def test_atomicity_criteria_for_hidden_state_and_context() -> None:
    import pandas as pd

    from mge_assets.atomize.atomicity import atomicity

    atoms = atomize_file("m.py", b"N = 0\n\n\ndef bump():\n    global N\n    N += 1\n\n\ndef pure(x):\n    return x\n")
    frame = pd.DataFrame([a.as_row() for a in atoms])
    assert atomicity(frame)["no_hidden_state"].tolist() == [True, False, True]
    frame["context_completeness"] = [1.0, 1.0, 0.5]
    assert atomicity(frame)["context_complete"].tolist() == [True, True, False]


def test_a_split_javascript_function_keeps_its_signature_in_the_head_after_a_long_comment() -> None:
    doc = b"/**\n" + b"".join(b" * line %d\n" % i for i in range(12)) + b" */\n"
    source = doc + b"function f(a) {\n  const b = a;\n  const c = b;\n  return c;\n}\n"
    head, *pieces = atomize_file("e.js", source, line_budget=4)
    assert pieces and "function f(a) {" in head.code and all("function f" not in p.code for p in pieces)
    assert b"".join(a.code.encode() for a in (head, *pieces)) == source


def test_a_block_of_a_split_javascript_function_names_the_earlier_blocks_binding_the_locals_it_reads() -> None:
    source = (
        "const x = 0;\n\nfunction f(a) {\n  const y = a;\n  const b = 1;\n"
        "  const c = y + b;\n  const d = 2;\n  const e = 3;\n"
        "  const g = c + x;\n  const h = d;\n  const i = h + later;\n"  # `later` is bound after this block
        "  const later = 4;\n  return [g, e];\n}\n"
    )
    atoms = {a.symbol: a for a in atomize_file("m.js", source.encode(), line_budget=3)}
    assert [atoms[s].local_sources for s in ("f", "f.<block:3>")] == [(), ()]
    assert atoms["f.<block:6>"].local_sources == ("m.js::f.<block:3>",)
    assert atoms["f.<block:6>"].references == ("x",)
    assert atoms["f.<block:9>"].local_sources == ("m.js::f.<block:3>", "m.js::f.<block:6>")


def test_a_comment_after_the_last_line_of_a_typescript_unit_stays_with_it() -> None:
    source = b"export type T =\n  | A\n  | B; // the union\nexport const x = 1;\n"
    atoms = atomize_file("t.ts", source)
    assert [(a.symbol, a.code) for a in atoms] == [
        ("T", "export type T =\n  | A\n  | B; // the union\n"),
        ("x", "export const x = 1;\n"),
    ]
    assert atoms[0].type_references == ("A", "B")


def test_a_split_never_cuts_before_an_opening_brace_on_a_line_of_its_own() -> None:
    members = "".join(f"    m{i}: string;\n" for i in range(6))
    source = f"type T = Box<\n  {{\n{members}  }}\n>;\n".encode()
    atoms = atomize_file("t.ts", source, line_budget=3)
    assert len(atoms) > 1 and b"".join(a.code.encode() for a in atoms) == source
    assert all(not a.code.lstrip().startswith("{") for a in atoms)


def test_a_split_function_with_its_opening_brace_on_a_line_of_its_own_keeps_the_brace_in_its_head() -> None:
    body = "".join(f"  const v{i} = {i};\n" for i in range(8))
    source = f"function f(\n  a,\n  b,\n)\n{{\n{body}  return a;\n}}\n".encode()  # the signature fills the budget
    head, *pieces = atomize_file("f.js", source, line_budget=4)
    assert pieces and head.code.startswith("function f(\n  a,\n  b,\n)\n{\n")
    assert all(not p.code.lstrip().startswith("{") for p in pieces)
