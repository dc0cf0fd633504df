"""Realistic defects a model puts in code, injected into answers by the simulator.

Each takes the code of one unit and returns it broken, or None when it does not apply (no return
statement to get wrong, say). They mimic what models really get wrong: a syntax slip, a misspelt name,
a wrong return value, a dropped statement.

The silent kinds (`SILENT_KINDS`) leave the unit passing level-1 validation (it parses, defines its
unit, names and types check): a comparison bound off by one, a wrong HTTP status code, a dropped
filter or guard. Only the project's tests, or a reviewer, can find them.
"""

from __future__ import annotations

import ast
import builtins
import io
import random
import re
import tokenize
from collections.abc import Callable

from mge_assets import pysource

DEFECT_KINDS = ("syntax", "wrong_name", "wrong_return", "missing_statement")
SILENT_KINDS = ("off_by_one", "wrong_status", "dropped_filter")


def inject(code: str, rng: random.Random, kinds: tuple[str, ...] = DEFECT_KINDS) -> tuple[str, str] | None:
    """A defective version of `code` and the defect's kind (one of `kinds`), or None if none applies."""
    kinds = list(kinds)
    rng.shuffle(kinds)
    for kind in kinds:
        broken = INJECTORS[kind](code, rng)
        if broken is not None and broken != code:
            return broken, kind
    return None


def _parsed(code: str) -> ast.Module | None:
    try:
        return pysource.parse(_dedented(code))
    except SyntaxError:
        return None


def _dedented(code: str) -> str:
    """Methods are indented: parse them inside a dummy block with the same indentation."""
    first = next((line for line in code.splitlines() if line.strip()), "")
    indent = len(first) - len(first.lstrip())
    return f"if True:\n{code}" if indent else code


def _offset(code: str) -> int:
    """Line offset of `_dedented` (1 when a dummy line was added)."""
    return 0 if _dedented(code) is code else 1


def syntax(code: str, rng: random.Random) -> str | None:
    """A block header's colon or a closing parenthesis dropped, in code (never inside a string or a
    comment: there it would not be a syntax error, and a SQL schema would break instead)."""
    tokens = _tokens(code)
    if tokens is None:
        return None
    headers = [t.start for i, t in enumerate(tokens) if t.string == ":" and _ends_line(tokens, i)]
    closers = [t.start for t in tokens if t.type == tokenize.OP and t.string == ")"]
    if headers and (not closers or rng.random() < 0.5):
        row, column = rng.choice(headers)
    elif closers:
        row, column = rng.choice(closers)
    else:
        return None
    lines = code.splitlines(keepends=True)
    lines[row - 1] = lines[row - 1][:column] + lines[row - 1][column + 1 :]
    return "".join(lines)


def _tokens(code: str) -> list[tokenize.TokenInfo] | None:
    try:
        return list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return None


def _ends_line(tokens: list[tokenize.TokenInfo], index: int) -> bool:
    """Whether the token at `index` is an operator that ends its logical line (a block header's colon)."""
    if tokens[index].type != tokenize.OP:
        return False
    following = next((t for t in tokens[index + 1 :] if t.type != tokenize.COMMENT), None)
    return following is None or following.type in (tokenize.NEWLINE, tokenize.ENDMARKER)


def wrong_name(code: str, rng: random.Random) -> str | None:
    module = _parsed(code)
    if module is None:
        return None
    local = {n.id for n in ast.walk(module) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    loads = sorted(
        {
            n.id
            for n in ast.walk(module)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and not hasattr(builtins, n.id)
        }
    )
    if not loads:
        return None
    name = rng.choice(loads)
    misspelt = name.replace("_", "") if "_" in name else name + "s"
    if misspelt in local or misspelt == name:
        misspelt = name + "_value"
    return re.sub(rf"\b{re.escape(name)}\b(?!\s*=[^=])", misspelt, code, count=1)


def wrong_return(code: str, rng: random.Random) -> str | None:
    module = _parsed(code)
    if module is None:
        return None
    returns = [n for n in ast.walk(module) if isinstance(n, ast.Return) and n.value is not None]
    if not returns:
        return None
    node = rng.choice(returns)
    value = node.value
    if isinstance(value, ast.Call) and value.args:
        replacement = ast.unparse(value.args[0])  # forgot to wrap: the raw value instead of the built one
    elif isinstance(value, ast.IfExp):
        replacement = ast.unparse(value.body)
    else:
        replacement = "None"
    lines = code.splitlines(keepends=True)
    index = node.lineno - 1 - _offset(code)
    if node.end_lineno != node.lineno:
        return None
    line = lines[index]
    indent = line[: len(line) - len(line.lstrip())]
    lines[index] = f"{indent}return {replacement}\n"
    return "".join(lines)


def missing_statement(code: str, rng: random.Random) -> str | None:
    module = _parsed(code)
    if module is None:
        return None
    offset = _offset(code)
    candidates = []
    for node in ast.walk(module):
        body = getattr(node, "body", None)
        if not isinstance(body, list) or len(body) < 2:
            continue
        for statement in body[1:] if _has_docstring(body) else body:
            simple = isinstance(statement, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Return | ast.Expr)
            if simple and statement.lineno == statement.end_lineno and statement.lineno > offset:
                candidates.append(statement.lineno - 1 - offset)
    if not candidates:
        return None
    lines = code.splitlines(keepends=True)
    del lines[rng.choice(sorted(candidates))]
    return "".join(lines)


def _has_docstring(body: list[ast.stmt]) -> bool:
    first = body[0]
    return isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)


# -- silent defects -----------------------------------------------------------------------------

Position = tuple[int, int]  # (line, byte column) in the parsed text, as ast gives them
Edit = tuple[Position, Position, str]  # replace the text between two positions
FLIPPED = {ast.Lt: "<=", ast.LtE: "<", ast.Gt: ">=", ast.GtE: ">"}
BOUND_KEYWORDS = {"ge", "gt", "le", "lt", "min_length", "max_length"}  # pydantic and FastAPI bounds
# what a model confuses a status with: the neighbours in the same family, as models mix them up
STATUS_SWAPS: dict[int, tuple[int, ...]] = {
    200: (201, 204),
    201: (200, 202),
    204: (200,),
    400: (422, 409),
    404: (400, 410),
    409: (400, 422),
    422: (400, 409),
}
_MUTATING = {"delete", "insert", "update", "remove", "add", "pop", "execute", "commit", "write", "save", "append"}


def off_by_one(code: str, rng: random.Random) -> str | None:
    """A comparison bound moved by one: `>` and `>=` (or `<` and `<=`) swapped, or a literal compared
    with (or a `ge=`/`le=`-style bound) moved by one."""
    return _apply_one(code, _off_by_one_edits, rng)


def wrong_status(code: str, rng: random.Random) -> str | None:
    """An HTTP status literal (201, 404, 409, 422, ...) changed to a plausible neighbour."""
    return _apply_one(code, _status_edits, rng)


def dropped_filter(code: str, rng: random.Random) -> str | None:
    """A filter or guard dropped: a comprehension's `if`, an `if ...: raise/continue/return` guard, or
    one condition of such a guard. None-checks are kept: dropping one is a type error mypy sees."""
    return _apply_one(code, _filter_edits, rng)


def silent_sites(code: str, kinds: tuple[str, ...] = SILENT_KINDS) -> int:
    """How many places of `code` a silent defect of `kinds` could go (each bound, status, filter once)."""
    module = _parsed(code)
    if module is None:
        return 0
    return sum(len({(start, end) for start, end, _ in SITES[kind](code, module)}) for kind in kinds)


def _off_by_one_edits(code: str, module: ast.Module) -> list[Edit]:
    edits: list[Edit] = []
    for node in ast.walk(module):
        if isinstance(node, ast.Compare):
            edits += _compare_edits(code, node)
        elif isinstance(node, ast.keyword) and node.arg in BOUND_KEYWORDS and _is_int(node.value):
            edits += _literal_edits(node.value)
    return edits


def _status_edits(code: str, module: ast.Module) -> list[Edit]:
    bounds = {id(k.value) for k in ast.walk(module) if isinstance(k, ast.keyword) and k.arg in BOUND_KEYWORDS}
    return [
        (_start(node), _end(node), str(swap))
        for node in ast.walk(module)
        if isinstance(node, ast.Constant) and _is_int(node) and node.value in STATUS_SWAPS and id(node) not in bounds
        for swap in STATUS_SWAPS[node.value]
    ]


def _filter_edits(code: str, module: ast.Module) -> list[Edit]:
    edits: list[Edit] = []
    for node in ast.walk(module):
        for comprehension in getattr(node, "generators", ()):
            edits += _comprehension_edits(comprehension)
        body = getattr(node, "body", None)
        if isinstance(body, list):
            edits += [e for statement in body for e in _guard_edits(code, statement, len(body))]
    return edits


def _compare_edits(code: str, node: ast.Compare) -> list[Edit]:
    edits = []
    operands = [node.left, *node.comparators]
    for op, before, after in zip(node.ops, operands, operands[1:], strict=False):
        if type(op) in FLIPPED:
            between = _text(code, _end(before), _start(after))
            flipped = re.sub(r"<=|>=|<|>", FLIPPED[type(op)], between, count=1)
            edits.append((_end(before), _start(after), flipped))
        for side in (before, after):
            if _is_int(side) and side.value not in STATUS_SWAPS:
                edits += _literal_edits(side)
    return edits


def _literal_edits(node: ast.expr) -> list[Edit]:
    """The literal one up and one down (never below 0: models do not write negative bounds)."""
    assert isinstance(node, ast.Constant) and isinstance(node.value, int)
    return [(_start(node), _end(node), str(v)) for v in (node.value - 1, node.value + 1) if v >= 0]


def _comprehension_edits(comprehension: ast.comprehension) -> list[Edit]:
    """Each `if` clause removed, from the end of what precedes it to its own end."""
    edits = []
    previous: ast.expr = comprehension.iter
    for condition in comprehension.ifs:
        edits.append((_end(previous), _end(condition), ""))
        previous = condition
    return edits


def _guard_edits(code: str, statement: ast.stmt, siblings: int) -> list[Edit]:
    if not _is_guard(statement):
        return []
    assert isinstance(statement, ast.If)
    test = statement.test
    edits: list[Edit] = []
    if siblings > 1 and not _narrows(test) and not _does_work(test):
        edits.append(((statement.lineno, 0), (statement.end_lineno or statement.lineno, -1), ""))
    if isinstance(test, ast.BoolOp):  # one condition dropped, with the `and`/`or` joining it
        values = test.values
        for index, value in enumerate(values):
            if _is_none_check(value):
                continue
            if index + 1 < len(values):
                edits.append((_start(value), _start(values[index + 1]), ""))
            else:
                edits.append((_end(values[index - 1]), _end(value), ""))
    return edits


def _is_guard(statement: ast.stmt) -> bool:
    """`if <condition>: raise / continue / return` with nothing else and no else branch."""
    return (
        isinstance(statement, ast.If)
        and not statement.orelse
        and len(statement.body) == 1
        and isinstance(statement.body[0], ast.Raise | ast.Continue | ast.Return)
    )


def _is_none_check(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and isinstance(node.ops[0], ast.Is | ast.IsNot)
        and isinstance(node.comparators[0], ast.Constant)
        and node.comparators[0].value is None
    )


def _narrows(test: ast.expr) -> bool:
    """Whether the guard narrows a type for what follows (`x is None`, `not x`, `isinstance`)."""
    for node in ast.walk(test):
        if _is_none_check(node) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance":
            return True
    return False


def _does_work(test: ast.expr) -> bool:
    """A condition that changes something (`if not repo.delete(id)`) is an action, not a filter."""
    for node in ast.walk(test):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in _MUTATING:
                return True
    return False


def _is_int(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _start(node: ast.expr) -> Position:
    return (node.lineno, node.col_offset)


def _end(node: ast.expr) -> Position:
    return (node.end_lineno or node.lineno, node.end_col_offset or 0)


def _apply_one(code: str, find: Callable[[str, ast.Module], list[Edit]], rng: random.Random) -> str | None:
    module = _parsed(code)
    edits = find(code, module) if module is not None else []
    if not edits:
        return None
    return _splice(code, [rng.choice(sorted(edits))])


def _splice(code: str, edits: list[Edit]) -> str:
    """`code` with each edit made; positions are those of `_dedented(code)`, a column of -1 meaning
    the end of the line with its newline (a whole-line edit)."""
    data = code.encode()
    for start, end, text in sorted(edits, reverse=True):
        data = data[: _byte(code, start)] + text.encode() + data[_byte(code, end) :]
    return data.decode()


def _text(code: str, start: Position, end: Position) -> str:
    data = code.encode()
    return data[_byte(code, start) : _byte(code, end)].decode()


def _byte(code: str, position: Position) -> int:
    line, column = position
    lines = code.encode().split(b"\n")
    index = line - 1 - _offset(code)
    before = sum(len(text) + 1 for text in lines[:index])
    if column < 0:
        return min(len(code.encode()), before + len(lines[index]) + 1)
    return before + column


SITES: dict[str, Callable[[str, ast.Module], list[Edit]]] = {
    "off_by_one": _off_by_one_edits,
    "wrong_status": _status_edits,
    "dropped_filter": _filter_edits,
}
INJECTORS: dict[str, Callable[[str, random.Random], str | None]] = {
    "syntax": syntax,
    "wrong_name": wrong_name,
    "wrong_return": wrong_return,
    "missing_statement": missing_statement,
    "off_by_one": off_by_one,
    "wrong_status": wrong_status,
    "dropped_filter": dropped_filter,
}
