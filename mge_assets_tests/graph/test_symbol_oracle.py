"""The symbol-level oracle of benchmarks/graph_accuracy.py: a SCIP index read from its wire format and
mapped onto our atoms, on a hand-made index (so the test needs neither indexer)."""

from mge_assets.atomize import atomize_files
from mge_assets_tests.conftest import benchmark_module

oracle = benchmark_module("scip_oracle")

FILES = {
    "pkg/a.py": "class Base:\n    def run(self, n):\n        return n\n",
    "pkg/b.py": "from pkg.a import Base\n\n\ndef f():\n    s = 'é'; return Base().run(n=s)\n",
}
A, B = "scip-python python pkg 0 `pkg.a`/", "scip-python python pkg 0 `pkg.b`/"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _occurrence(line: int, column: int, end: int, symbol: str, roles: int = 0) -> bytes:
    span = b"".join(_varint(v) for v in (line, column, end))
    body = _field(1, span) + _field(2, symbol.encode()) + (_field(3, roles) if roles else b"")
    return _field(2, body)


def _index() -> bytes:
    a = [
        _occurrence(0, 0, 0, f"{A}__init__:", 1),
        _occurrence(0, 6, 10, f"{A}Base#", 1),
        _occurrence(1, 8, 11, f"{A}Base#run().", 1),
        _occurrence(1, 17, 18, f"{A}Base#run().(n)", 1),
        _occurrence(2, 15, 16, f"{A}Base#run().(n)"),  # a parameter used in its own function: no edge
        _occurrence(2, 8, 14, f"{A}Base#"),  # the method's class is its parent: out of scope
    ]
    b = [
        _occurrence(0, 0, 0, f"{B}__init__:", 1),
        _occurrence(0, 5, 10, f"{A}__init__:"),  # the module as a whole: out of scope
        _occurrence(0, 18, 22, f"{A}Base#"),
        _occurrence(3, 4, 5, f"{B}f().", 1),
        _occurrence(4, 4, 5, "local 0", 1),
        # after `'é'` (one UTF-16 unit, two bytes): columns count UTF-16 units
        _occurrence(4, 21, 25, f"{A}Base#"),
        _occurrence(4, 28, 31, f"{A}Base#run()."),
        _occurrence(4, 32, 33, f"{A}Base#run().(n)"),  # a keyword argument names its function
        _occurrence(4, 34, 35, "local 0"),
        _occurrence(4, 20, 21, "scip-python python python-stdlib 3.11 builtins/str#"),  # defined elsewhere
    ]
    documents = [_field(1, b"pkg/a.py") + b"".join(a), _field(1, b"pkg/b.py") + b"".join(b)]
    return b"".join(_field(2, d) for d in documents)


def test_a_scip_index_is_read_from_its_wire_format() -> None:
    documents = oracle.read_index(_index())
    assert sorted(documents) == ["pkg/a.py", "pkg/b.py"]
    first = documents["pkg/a.py"][1]
    assert (first.line, first.column, first.symbol, first.roles) == (0, 6, f"{A}Base#", 1)


def test_references_map_onto_atom_pairs_with_the_symbol_kind() -> None:
    sources = {p: t.encode() for p, t in FILES.items()}
    atoms = atomize_files(FILES)
    edges = oracle.symbol_edges(oracle.read_index(_index()), atoms, sources)
    assert edges == {
        ("pkg/b.py::<module>", "pkg/a.py::Base"): "type",
        ("pkg/b.py::f", "pkg/a.py::Base"): "type",
        ("pkg/b.py::f", "pkg/a.py::Base.run"): "method",
    }  # not Base.run -> Base (its parent), not the module, not the local or the builtin


def test_our_side_leaves_out_pairs_with_a_structural_ancestor() -> None:
    atoms = atomize_files(FILES)
    ours = {("pkg/a.py::Base.run", "pkg/a.py::Base"): "call", ("pkg/b.py::f", "pkg/a.py::Base"): "call"}
    assert oracle.our_symbol_edges(ours, atoms) == {("pkg/b.py::f", "pkg/a.py::Base"): "call"}
    module = {("pkg/b.py::<module>", "pkg/a.py::Base"): "import", ("pkg/b.py::f", "pkg/a.py::Base"): "import"}
    only_module_object = {("pkg/b.py::<module>", "pkg/a.py::Base")}  # as if `from pkg import a`
    assert oracle.our_symbol_edges(module, atoms, only_module_object) == {("pkg/b.py::f", "pkg/a.py::Base"): "import"}


def test_symbol_kinds_from_the_last_descriptor() -> None:
    assert [
        oracle.category(s)
        for s in (
            f"{A}__init__:",
            "scip-typescript npm x 1 src/`a.ts`/",
            f"{A}Base#",
            f"{A}f().",
            f"{A}Base#run().",
            f"{A}X.",
            f"{A}Base#x.",
            "scip-typescript npm x 1 src/`u.js`/isFunction0:",
        )
    ] == ["module", "module", "type", "function", "method", "variable", "attribute", "variable"]
    assert oracle.owner_symbol(f"{A}Base#run().(n)") == f"{A}Base#run()." and oracle.owner_symbol("x/C#[T]") == "x/C#"


def test_columns_count_utf16_units_and_lines_start_after_each_newline() -> None:
    locator = oracle._Locator("a\ns = 'é😀'; x\n".encode(), [])
    assert locator.offset(1, 0) == 2 and locator.offset(1, 5) == 7  # é is one unit and two bytes
    assert locator.offset(1, 11) == 2 + len("s = 'é😀'; ".encode())  # the emoji is two units, four bytes


def test_a_redefined_function_reading_its_own_parameter_is_no_edge_to_the_first_definition() -> None:
    files = {"pkg/o.py": "def g(x):\n    return x\n\n\ndef g(x, y=1):\n    return x\n"}
    o = "scip-python python pkg 0 `pkg.o`/"
    occurrences = [
        _occurrence(0, 0, 0, f"{o}__init__:", 1),
        _occurrence(0, 4, 5, f"{o}g().", 1),
        _occurrence(0, 6, 7, f"{o}g().(x)", 1),
        _occurrence(1, 11, 12, f"{o}g().(x)"),
        _occurrence(4, 6, 7, f"{o}g().(x)", 1),  # the symbols of the redefinition's parameters are shared
        _occurrence(5, 11, 12, f"{o}g().(x)"),  # its own parameter: a local, not the first g
    ]
    index = _field(2, _field(1, b"pkg/o.py") + b"".join(occurrences))
    atoms = atomize_files(files)
    edges = oracle.symbol_edges(oracle.read_index(index), atoms, {p: t.encode() for p, t in files.items()})
    assert edges == {}  # as a keyword argument, the parameter still names its function (test above)


def test_imports_of_an_anonymous_default_export_are_out_of_scope_unless_a_spelled_key_is_read() -> None:
    benchmark_module("python_imports")
    accuracy = benchmark_module("graph_accuracy")
    files = {
        "conf.js": "export default {\n  retries: 3,\n};\n",
        "named.js": "export default function named() {\n  return 1;\n}\n",
        "use.js": "import conf from './conf.js';\nimport named from './named.js';\n\n"
        "export function a() {\n  return conf;\n}\n\nexport function b() {\n  return conf.retries + named();\n}\n",
    }
    atoms = atomize_files(files)
    export = next(a.id for a in atoms if a.file == "conf.js")
    pairs = accuracy.anonymous_defaults(atoms, {p: s.encode() for p, s in files.items()}, None)
    assert pairs == {("use.js::<module>", export), ("use.js::a", export)}  # b reads the key the index names


def test_naming_a_namespace_as_a_whole_is_out_of_scope_unless_an_export_of_its_atom_is_read() -> None:
    benchmark_module("python_imports")
    accuracy = benchmark_module("graph_accuracy")
    files = {
        "n.ts": "export namespace util {\n  export const keys = 1;\n}\n\nexport const other = { keys: 1 };\n",
        "u.ts": "import { util, other } from './n';\n\nexport function a() {\n  return util;\n}\n"
        "export function b() {\n  return util.keys;\n}\nexport function c() {\n  return other;\n}\n",
        "p.py": "# the namespace foo\nfoo = 1\n",  # Python has no namespaces: the word is only a word
        "q.py": "from p import foo\n\n\ndef g():\n    return foo\n",
    }
    atoms = atomize_files(files)
    namespace = next(a.id for a in atoms if a.file == "n.ts" and "util" in a.defines)
    assert accuracy.namespace_reads(atoms) == {("u.ts::<module>", namespace), ("u.ts::a", namespace)}
