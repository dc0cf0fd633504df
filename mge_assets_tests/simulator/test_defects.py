"""Each injected defect changes the code, and level-1 validation catches it."""

import asyncio
import random

import pytest

from mge_assets.atomize import atomize_file
from mge_assets.execute import AtomValidator
from mge_assets.execute.typecheck import TypeChecker
from mge_assets.simulator.defects import DEFECT_KINDS, INJECTORS, inject

MODULE = '''"""A module."""


def scale(value: int, factor: int) -> int:
    """Multiply."""
    product = value * factor
    result = product + 1
    return result


def describe(value: int) -> str:
    text = str(scale(value, 2))
    return text.upper()
'''


@pytest.mark.parametrize("kind", DEFECT_KINDS)
def test_each_defect_is_caught(kind, tmp_path):
    atoms = atomize_file("pkg/mod.py", MODULE.encode())
    target = next(a for a in atoms if a.symbol == "scale")
    broken = INJECTORS[kind](target.code, random.Random(0))
    assert broken is not None and broken != target.code
    checker = TypeChecker({"pkg/mod.py": MODULE, "pkg/__init__.py": ""}, tmp_path / "project", tmp_path / "cache")
    validator = AtomValidator({"pkg/mod.py": MODULE.encode()}, checker)
    verdict = asyncio.run(validator(target, broken))
    assert not verdict.ok, (kind, broken)
    assert asyncio.run(validator(target, target.code)).ok


def test_only_the_chosen_kinds_are_injected():
    kinds = set()
    for seed in range(40):
        broken = inject(MODULE, random.Random(seed), ("syntax", "wrong_name"))
        assert broken is not None
        kinds.add(broken[1])
    assert kinds == {"syntax", "wrong_name"}


def test_a_syntax_defect_is_put_in_code_never_in_a_string_or_comment():
    schema = 'SCHEMA = """\nCREATE TABLE a (\n    b_id INTEGER REFERENCES b(id)\n);\n"""  # note: )\n'
    assert all(INJECTORS["syntax"](schema, random.Random(seed)) is None for seed in range(10))
    method = '    def f(self, x: int) -> int:\n        """Doc: it)."""\n        return g(x)\n'
    for seed in range(10):
        broken = INJECTORS["syntax"](method, random.Random(seed))
        assert broken is not None and '"""Doc: it)."""' in broken and broken != method
