"""Realistic defects a model puts in code, injected into first answers by the simulator.

Each takes the code of one unit and returns it broken, or None when it does not apply (no return
statement to get wrong, say). They mimic what models really get wrong: a syntax slip, a misspelt name,
a wrong return value, a dropped statement.
"""

from __future__ import annotations

import ast
import builtins
import io
import random
import re
import tokenize
from collections.abc import Callable

DEFECT_KINDS = ("syntax", "wrong_name", "wrong_return", "missing_statement")


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
        return ast.parse(_dedented(code))
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


INJECTORS: dict[str, Callable[[str, random.Random], str | None]] = {
    "syntax": syntax,
    "wrong_name": wrong_name,
    "wrong_return": wrong_return,
    "missing_statement": missing_statement,
}
