"""Why an answer was asked again: each item's inputs (named digests) against those of the run before.

A stage names, per item (a task, an atom, a requirement), the digests of the inputs its answer depends
on (the same ones its request's reuse key is made of). An item asked again is explained by the inputs
that changed since the last run; one with no inputs on record is new; one whose inputs are unchanged
was asked again for another reason (a fresh run, an expired cache entry, a retry that failed before).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

Inputs = Mapping[str, str]  # input name -> digest
UNCHANGED = "inputs unchanged: no reusable answer (a fresh run, or an expired cache entry)"


def regeneration_reasons(
    previous: Mapping[str, Inputs], current: Mapping[str, Inputs], regenerated: Iterable[str]
) -> dict[str, str]:
    """For each regenerated item, which of its inputs changed since `previous` (or why else it was asked)."""
    reasons = {}
    for item in regenerated:
        before = previous.get(item)
        now = current.get(item, {})
        if before is None:
            reasons[item] = "new: no earlier run wrote it"
            continue
        changed = sorted(name for name in set(now) | set(before) if now.get(name) != before.get(name))
        reasons[item] = f"changed: {', '.join(changed)}" if changed else UNCHANGED
    return reasons
