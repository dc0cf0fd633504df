"""The machine-readable part of a prompt: a JSON payload between `<mge-task>` tags.

Claude reads it as structured context; the offline synthesizer (and the simulator) answer from it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mge_assets.errors import ModelOutputError

_TAG = re.compile(r"<mge-task>\s*(\{.*?\})\s*</mge-task>", re.DOTALL)


def embed(kind: str, payload: dict[str, Any]) -> str:
    """Wrap a payload so that `extract` can read it back."""
    return f"<mge-task>\n{json.dumps({'kind': kind, **payload}, sort_keys=True)}\n</mge-task>"


def extract(*texts: str) -> dict[str, Any]:
    """Merge every envelope found in the texts (system first, then prompt); later keys win."""
    merged: dict[str, Any] = {}
    for text in texts:
        for match in _TAG.finditer(text):
            merged.update(json.loads(match.group(1)))
    if "kind" not in merged:
        raise ModelOutputError("the prompt carries no <mge-task> envelope, so the offline synthesizer cannot answer")
    return merged
