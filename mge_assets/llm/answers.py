"""Read a model's answer: a fenced code block, a set of files, or JSON. Garbage is a ModelOutputError."""

from __future__ import annotations

import json
import re
from typing import Any

from mge_assets.errors import ModelOutputError

_FENCE = re.compile(r"```[a-zA-Z0-9_+-]*[ \t]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
_FILE = re.compile(r'<file path="([^"]+)">\n(.*?)</file>', re.DOTALL)
_UNIT = re.compile(r'<unit n="(\d+)">\n(.*?)</unit>', re.DOTALL)


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


def units(answer: str, ids: list[str]) -> dict[str, str | ModelOutputError]:
    """Each asked unit's part of a grouped answer (`<unit n="...">` blocks, numbered from 1 in the order
    asked: a number costs fewer output tokens than an id): its text, or the problem that leaves it
    without one (missing, or written twice). A block whose number was not asked is ignored."""
    found: dict[int, list[str]] = {}
    for number, text in _UNIT.findall(answer):
        found.setdefault(int(number), []).append(text)
    parts: dict[str, str | ModelOutputError] = {}
    for number, unit_id in enumerate(ids, 1):
        texts = found.get(number, [])
        if len(texts) == 1:
            parts[unit_id] = texts[0]
        else:
            how = "no" if not texts else f"{len(texts)}"
            parts[unit_id] = ModelOutputError(
                f'the grouped answer has {how} <unit n="{number}"> block{"s" if texts else ""} (for {unit_id}), '
                "where one was asked"
            )
    return parts


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


def render_units(parts: dict[int, str]) -> str:
    """The inverse of `units`: how a grouped answer is written, each part under its number."""
    return "".join(f'<unit n="{number}">\n{text}</unit>\n' for number, text in parts.items())
