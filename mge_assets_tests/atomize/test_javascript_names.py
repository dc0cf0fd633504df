"""Names defined, read and imported by JavaScript/TypeScript atoms, from the facts one query gathers per
file and looks up by each atom's byte span."""

from mge_assets.atomize import atomize_file


def _by_symbol(path: str, source: bytes, **budget: int) -> dict:
    return {a.symbol: a for a in atomize_file(path, source, **budget)}


def test_a_node_across_the_cuts_of_a_split_function_is_read_by_every_piece_it_reaches_into() -> None:
    source = (
        b'import { a } from "./a";\n\nexport function run(x) {\n  const p = new Promise((resolve) => {\n'
        b"    a.one(x);\n    a.two(x);\n    a.three(x);\n    a.four(x);\n    a.five(x);\n  });\n"
        b"  return p.then(a.six);\n}\n"
    )
    atoms = _by_symbol("m.js", source, line_budget=3)
    assert [atoms[s].attribute_references for s in ("run", "run.<block:3>", "run.<block:6>")] == [
        ("Promise.constructor", "a.one"),  # `new Promise(...)` runs over all three pieces
        ("Promise.constructor", "a.four", "a.three", "a.two"),
        ("Promise.constructor", "a.five", "a.six", "p.then"),
    ]
    assert atoms["run.<block:9>"].attribute_references == ()
    assert all(atoms[s].references == ("a",) for s in ("run", "run.<block:3>", "run.<block:6>"))


def test_a_module_header_imports_in_source_order_and_its_import_statements_read_nothing() -> None:
    source = (
        b'import def, { b as c } from "./b";\nimport type { T } from "./t";\nconst r = require("./r");\n'
        b'export { c as d } from "./c";\nconst x = 1;\nexport default x;\nexport { r as s, c as e };\n'
    )
    header = _by_symbol("m.ts", source)["<module>"]
    assert [(i.module, i.name, i.alias, i.kind) for i in header.imports] == [
        ("./b", "default", "def", "static"),
        ("./b", "b", "c", "static"),
        ("./t", "T", "T", "type"),
        ("./r", None, "r", "require"),
        ("./c", "c", "d", "reexport"),
        ("", "x", "default", "export"),  # `export default x` comes where it is written
        ("", "r", "s", "export"),
        ("", "c", "e", "export"),
    ]
    assert header.references == ("c", "require")  # `export { c as e }` reads the imported c
    assert header.defines == ("r", "x")


def test_bases_are_the_first_heritage_a_span_holds_and_extends_clauses_belong_to_their_own_class() -> None:
    source = (
        b"class A extends mixin(class extends B {}) {\n  m() {}\n}\n"
        b"class C<T> extends Base<T> {\n  m() {\n    class D extends E<number> {}\n    return D;\n  }\n}\n"
        b"for (o.k of xs) {\n  use(o, k);\n}\n"
    )
    atoms = _by_symbol("m.ts", source)
    assert atoms["A"].bases == ("B",) and atoms["A"].references == ("B", "mixin")
    assert atoms["C"].bases == ("Base",) and atoms["C"].typed_names == ("C<>:T", "extends Base:T")
    assert atoms["C.m"].bases == ("E",) and atoms["C.m"].typed_names == ("extends E:*",)
    assert atoms["<statements:10>"].references == ("k", "use", "xs")  # a loop's target binds its names
