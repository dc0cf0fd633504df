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
