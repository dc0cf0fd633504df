"""A reviewer's decision on an item, checked before it is stored.

- approve [comment]; reject and regenerate need a comment (what is wrong: for regenerate it is the
  model's feedback);
- edit takes new code, validated at level 1 (parses in its file, defines its unit, no undefined or
  shadowed name, atomicity) before it is accepted; a refused edit is kept as a draft;
- undo takes back the newest decision in effect on the atom;
- a decision on a stale item (the atom changed since it was queued), or on a version other than the
  one the reviewer saw, is refused.
"""

from __future__ import annotations

from mge_assets.atomize.model import Atom, evolve
from mge_assets.errors import MgeError
from mge_assets.execute.validate import validate_atom
from mge_assets.review.items import ReviewItem
from mge_assets.review.sources import current_sources
from mge_assets.review.store import ACTIONS, NewDecision, Suggestion, code_sha

NEEDS_COMMENT = {"regenerate": "say what the model must change", "reject": "say what is wrong"}


class RefusedEdit(MgeError):
    """An edit the validator refused; the shell keeps it as a draft."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("the edit was refused by level-1 validation:\n  " + "\n  ".join(problems))


def new_decision(
    item: ReviewItem,
    action: str,
    reviewer: str,
    comment: str = "",
    code: str | None = None,
    seen_sha: str | None = None,
    suggestion: Suggestion | None = None,
    atom: Atom | None = None,
    codes: dict[str, str] | None = None,
    atoms: dict[str, Atom] | None = None,
) -> NewDecision:
    """The decision to store, or a clear error saying why it cannot be taken. An edit is validated
    against the atom's file as the other atoms' current code (`codes`) makes it."""
    if action not in ACTIONS or action == "undo":
        raise MgeError(f"unknown review action '{action}'; choose one of approve, edit, regenerate, reject")
    refuse_stale(item, seen_sha)
    comment = comment.strip()
    if action in NEEDS_COMMENT and not comment:
        raise MgeError(f"{action} needs a comment (--comment): {NEEDS_COMMENT[action]}")
    code_after = item.code
    if action == "edit":
        if code is None or not code.strip():
            raise MgeError("edit needs the new code (--file F)")
        if atom is None or atoms is None:
            raise MgeError(f"the atom {item.atom} is not among the request's atoms; materialize atoms again")
        code = code if code.endswith("\n") or not item.code.endswith("\n") else code + "\n"
        problems = edit_problems(atom, code, codes or {}, atoms)
        if problems:
            raise RefusedEdit(problems)
        code_after = code
    elif action == "regenerate":
        code_after = ""
    return NewDecision(
        partition=item.request,
        atom_id=item.atom,
        trace_id=item.id,
        action=action,
        reviewer=reviewer,
        base_sha=item.code_sha,
        code_before=item.code,
        code_after=code_after,
        comment=comment,
        spot_check=item.spot_check,
        suggestion_id=suggestion.id if suggestion else None,
        suggestion_taken=taken(action, code_after, suggestion),
    )


def undo_decision(item: ReviewItem, reviewer: str, comment: str = "") -> NewDecision:
    """Take back the newest decision in effect on the item's atom: the next run applies the rest."""
    in_effect = [d for d in item.decisions if d.in_effect]
    if not in_effect:
        raise MgeError(f"{item.id} has no decision to undo")
    last = in_effect[-1]
    return NewDecision(
        partition=item.request,
        atom_id=item.atom,
        trace_id=item.id,
        action="undo",
        reviewer=reviewer,
        base_sha=code_sha(item.code),
        code_before=item.code,
        code_after=last.code_before,
        comment=comment or f"undo #{last.id} ({last.action})",
        undoes=last.id,
    )


def refuse_stale(item: ReviewItem, seen_sha: str | None = None) -> None:
    if item.stale:
        raise MgeError(
            f"{item.id} is stale: the atom {item.atom} changed since it was queued (queued version "
            f"{item.code_sha}, now {item.current_sha}); materialize review_queue for '{item.request}' again "
            "and decide on the new version"
        )
    if seen_sha and seen_sha != item.code_sha:
        raise MgeError(
            f"{item.id} changed while you looked at it (you saw version {seen_sha}, it is now {item.code_sha}); "
            "reload it and decide again"
        )


def edit_problems(atom: Atom, code: str, codes: dict[str, str], atoms: dict[str, Atom]) -> list[str]:
    """Level-1 problems of `code` in place of `atom`, in its file as it is now (no type check: that
    runs when the decision is applied)."""
    files, placed = current_sources(codes, atoms)
    here = evolve(placed[atom.id], code=codes.get(atom.id, atom.code))
    return validate_atom(here, code, files[atom.file])


def taken(action: str, code_after: str, suggestion: Suggestion | None) -> bool:
    """Whether the decision takes the suggestion: the edit is its fix, or an approval where it found
    nothing to change."""
    if suggestion is None or not suggestion.available:
        return False
    if action == "edit":
        return _normal(code_after) == _normal(suggestion.fix)
    return action == "approve" and not suggestion.issues


def _normal(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.strip().splitlines())
