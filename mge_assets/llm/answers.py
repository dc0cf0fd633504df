"""Read a model's answer: a fenced code block, a set of files, or JSON. Garbage is a ModelOutputError."""

from __future__ import annotations

import json
import re
from typing import Any

from mge_assets.errors import ModelOutputError

_FENCE = re.compile(r"```[a-zA-Z0-9_+-]*[ \t]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
_FILE = re.compile(r'<file path="([^"]+)">\n(.*?)</file>', re.DOTALL)


def code_block(answer: str) -> str:
    """The code of an answer that must hold exactly one fenced block."""
    blocks = _FENCE.findall(answer)
    if len(blocks) != 1:
        raise ModelOutputError(
            f"expected exactly one fenced code block in the answer, found {len(blocks)}; "
            f"answer starts with {answer[:120]!r}"
        )
    return blocks[0]


def files(answer: str) -> dict[str, str]:
    """Files of an answer written as `<file path="...">code</file>` blocks."""
    found = _FILE.findall(answer)
    if not found:
        raise ModelOutputError(
            f'expected one or more <file path="..."> blocks in the answer; it starts with {answer[:120]!r}'
        )
    paths = [p for p, _ in found]
    if len(set(paths)) != len(paths):
        raise ModelOutputError(
            f"the answer writes the same file twice: {sorted({p for p in paths if paths.count(p) > 1})}"
        )
    return dict(found)


def json_object(answer: str) -> dict[str, Any]:
    """The JSON object of an answer (bare, or inside a fenced block)."""
    blocks = _FENCE.findall(answer)
    text = blocks[0] if len(blocks) == 1 else answer
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ModelOutputError(f"the answer is not valid JSON ({error.msg} at char {error.pos})") from None
    if not isinstance(value, dict):
        raise ModelOutputError("the answer is JSON but not an object")
    return value


def render_files(files_by_path: dict[str, str]) -> str:
    """The inverse of `files`: how an answer with several files is written."""
    return "".join(f'<file path="{path}">\n{code}</file>\n' for path, code in files_by_path.items())


def render_code(code: str, language: str = "python") -> str:
    """The inverse of `code_block`."""
    return f"```{language}\n{code}{'' if code.endswith(chr(10)) else chr(10)}```\n"
