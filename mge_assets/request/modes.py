"""The two ways atom_results runs, and how a request partition names its mode.

`v2` (atoms, validation, retries) is the request's own partition, keyed by its name; the mvp baseline
of the same request is a partition of its own, `<name>@mvp`, so its every stage has its own lineage
and a re-materialization from the UI can never mix the two (request names cannot contain `@`).
"""

from __future__ import annotations

V2 = "v2"
MVP = "mvp"
MODES = (V2, MVP)
SEPARATOR = "@"


def mode_partition(name: str, mode: str = V2) -> str:
    """The partition key of request `name` in `mode`."""
    if mode not in MODES:
        raise ValueError(f"unknown execution mode '{mode}'; choose one of {', '.join(MODES)}")
    return name if mode == V2 else f"{name}{SEPARATOR}{mode}"


def split_partition(key: str) -> tuple[str, str]:
    """(request name, mode) of a partition key; a key without a mode is the request's v2 partition."""
    name, _, mode = key.partition(SEPARATOR)
    mode = mode or V2
    if mode not in MODES:
        raise ValueError(f"partition '{key}' names an unknown mode '{mode}'; choose one of {', '.join(MODES)}")
    return name, mode
