"""Names defined and read by Python atoms, from the facts one query gathers per file."""

from mge_assets.atomize import atomize_file


def _by_symbol(source: str) -> dict:
    return {a.symbol: a for a in atomize_file("m.py", source.encode())}


def test_names_after_non_ascii_text_and_non_ascii_names() -> None:
    atoms = _by_symbol("s = 'café ☕'\nnaïve = s\n\n\ndef f(x: Ünit) -> None:\n    return naïve + s + x.größe\n")
    assert atoms["f"].references == ("naïve", "s", "Ünit")
    assert atoms["f"].type_references == ("Ünit",)
    assert atoms["f"].attribute_references == ("x.größe",)
    assert atoms["s"].defines == ("s", "naïve")


def test_statement_binds_its_assignments_up_to_its_first_nested_scope() -> None:
    source = "if flag:\n    a = 1\n    b = lambda: 0\n    def g():\n        c = 2\n    d = 3\n"
    assert _by_symbol(source)["a"].defines == ("a", "b")


def test_function_reads_exclude_its_locals_and_keep_decorators_reads() -> None:
    source = "@wrap(limit)\ndef f(x, *rest):\n    y = x + total\n    global counter\n    counter = y\n    return y\n"
    assert _by_symbol(source)["f"].references == ("counter", "limit", "total", "wrap")


def test_a_block_of_a_split_function_names_the_earlier_blocks_binding_the_locals_it_reads() -> None:
    source = (
        "x = 0\n\n\ndef f(a):\n    y = a\n    b = 1\n"  # head: binds `y`, `b` (the parent edge covers them)
        "    c = y + b\n    d = 2\n    e = 3\n"
        "    g = c + x\n    h = d\n    i = h + later\n"  # `x` is the module's; `h` its own; `later` bound after it
        "    later = 4\n    return g, e\n"
    )
    atoms = {a.symbol: a for a in atomize_file("m.py", source.encode(), line_budget=3)}
    assert [atoms[s].local_sources for s in ("f", "f.<block:3>")] == [(), ()]
    assert atoms["f.<block:6>"].local_sources == ("m.py::f.<block:3>",)
    assert atoms["f.<block:6>"].references == ("x",)  # locals stay out of the references resolved file-wide
    assert atoms["f.<block:9>"].local_sources == ("m.py::f.<block:3>", "m.py::f.<block:6>")


def test_the_blocks_of_a_redefined_function_point_to_its_own_head_and_blocks() -> None:
    body = "    a = 1\n    b = 2\n    c = 3\n    d = a\n    e = 5\n    g = 6\n    h = d\n"
    source = f"def f():\n{body}\n\ndef f():\n{body}"
    atoms = {a.id: a for a in atomize_file("m.py", source.encode(), line_budget=3)}
    second = atoms["m.py::f.<block:6>#2"]  # block labels count lines from their unit's start
    assert (second.parent, second.local_sources) == ("m.py::f#2", ("m.py::f.<block:3>#2",))
    assert atoms["m.py::f.<block:6>"].local_sources == ("m.py::f.<block:3>",)


def test_an_over_budget_definition_with_nowhere_to_cut_stays_whole_and_reads_all_of_itself() -> None:
    source = "def f(a: Kind): return g(\n    a,\n    b,\n    c.d,\n)\n\n\nclass C(Base): x = h(\n    1,\n    2,\n)\n"
    f, c = atomize_file("m.py", source.encode(), line_budget=2)
    assert (f.symbol, f.references, f.type_references, f.attribute_references) == (
        "f",
        ("Kind", "b", "c", "g"),
        ("Kind",),
        ("c.d",),
    )
    assert (c.symbol, c.bases, c.references[:2]) == ("C", ("Base",), ("Base", "h"))


def test_the_head_of_a_split_class_keeps_its_bases_and_its_pieces_read_their_own_spans() -> None:
    source = "class C(Base, m.Mixin):\n    x = f(\n        1,\n    )\n    y = g(\n        2,\n    )\n"
    head, *blocks = atomize_file("m.py", source.encode(), line_budget=3)
    assert (head.bases, head.references) == (("Base", "m.Mixin"), ("Base", "m"))
    assert [(b.bases, b.references) for b in blocks] == [((), ("f",)), ((), ("g",))]


def test_a_field_a_class_body_assigns_is_no_read_of_that_name_but_a_later_use_is() -> None:
    source = "x = 1\n\n\nclass C:\n    x = x\n    y: int = 2\n    z = y + 1\n\n    def m(self):\n        return 0\n"
    header = _by_symbol(source)["C"]
    assert (header.members, header.references) == (("C.x", "C.y", "C.z"), ("int", "x", "y"))
