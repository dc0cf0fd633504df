"""Split JavaScript, TypeScript and TSX source into atoms with tree-sitter.

Top level: the module header (imports and what sits between them), each function, class, interface,
type alias, enum and `const f = () => ...`, exported or not, and any other run of statements. A class is
split into its header (heritage and fields) and one atom per method. Comments and decorators directly
above a definition stay with it. As in Python, each atom runs from the start of its first line to the
start of the next, so the atoms cover every byte of the file exactly once; units that share a line are
kept together.
"""

from __future__ import annotations

from tree_sitter import Tree

from mge_assets.atomize.atomicity import LINE_BUDGET
from mge_assets.atomize.javascript.build import Builder
from mge_assets.atomize.javascript.facts import facts_captures, gather
from mge_assets.atomize.javascript.members import file_members
from mge_assets.atomize.javascript.syntax import CLASSES, DIALECTS, dialect_of, parser
from mge_assets.atomize.javascript.units import Unit, kind_of, units_of, with_spans
from mge_assets.atomize.model import Atom
from mge_assets.atomize.split import finish, unique_ids, with_members

__all__ = ["DIALECTS", "atomize_javascript", "atomize_javascript_tree", "dialect_of", "facts_captures", "parser"]


def atomize_javascript(path: str, source: bytes, line_budget: int = LINE_BUDGET) -> list[Atom]:
    """The atoms of one JavaScript/TypeScript/TSX file, in byte order."""
    dialect = dialect_of(path)
    return atomize_javascript_tree(path, source, parser(dialect).parse(source), line_budget)


def atomize_javascript_tree(path: str, source: bytes, tree: Tree, line_budget: int = LINE_BUDGET) -> list[Atom]:
    """As `atomize_javascript`, from a parse tree already made."""
    language = "typescript" if dialect_of(path) != "javascript" else "javascript"
    captured = facts_captures(tree, dialect_of(path))
    build = Builder(path, source, language, line_budget, gather(captured, source))
    units = with_spans(units_of(tree.root_node.children), 0, len(source), source)
    if not units and source:
        units = [Unit([tree.root_node], start=0, end=len(source))]
    atoms: list[Atom] = []
    for index, unit in enumerate(units):
        if unit.definition is None:
            header = index == 0 and any(n.type == "import_statement" for n in unit.nodes)
            atoms.extend(build.block(unit, "module_header" if header else "statements", None, None))
        elif unit.definition.type in CLASSES:
            atoms.extend(build.klass(unit))
        else:
            atoms.extend(build.definition(unit, kind_of(unit.definition), None, None))
    members, typed = file_members(captured, source)
    decisions = sorted(node.start_byte for node in captured.get("decision", []))
    atoms = with_members(finish(unique_ids(atoms), source, decisions), *members)
    return with_members(atoms, *typed, field="typed_names")
