"""Problems in a request's `## Requirements` section that do not stop parsing but deserve a person's
eye: duplicated requirements, empty bullets, and wording that contradicts its MUST/SHOULD heading."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from mge_assets.request.parser import parse_requirements

_HEADING = re.compile(r"^###[ \t]+(.+?)[ \t]*$")
_EMPTY_BULLET = re.compile(r"^[ \t]*[-*+][ \t]*$")
MUST_WORDS, SHOULD_WORDS = {"must", "shall"}, {"should", "may"}


class RequirementIssue(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str  # duplicate | empty | ambiguous | unclassified
    line: int  # in the section
    requirement_id: str | None
    text: str
    detail: str


def requirement_issues(section: str, first_line: int = 0) -> list[RequirementIssue]:
    """Every issue of the section, in line order (lines of the file when `first_line`, the number of
    file lines before the section's text, is given)."""
    by_line = {r.line: r for r in parse_requirements(section, first_line)}
    issues: list[RequirementIssue] = []
    seen: dict[str, str] = {}
    heading: str | None = None
    for number, line in enumerate(section.splitlines(), first_line + 1):
        found = _HEADING.match(line)
        if found:
            heading = found.group(1).strip().upper()
            if heading not in ("MUST", "SHOULD"):
                detail = f"heading '{found.group(1)}' is neither MUST nor SHOULD; its bullets go by their wording"
                issues.append(_issue("ambiguous", number, None, line.strip(), detail))
            continue
        if _EMPTY_BULLET.match(line):
            issues.append(_issue("empty", number, None, line.strip(), "a bullet with no text; remove it"))
            continue
        requirement = by_line.get(number)
        if requirement is None:
            continue
        issues.extend(_wording_issues(requirement.id, requirement.level, heading, number, requirement.text))
        key = _normalized(requirement.text)
        if key in seen:
            detail = f"the same requirement as {seen[key]}; keep one"
            issues.append(_issue("duplicate", number, requirement.id, requirement.text, detail))
        else:
            seen[key] = requirement.id
    return issues


def _wording_issues(rid: str, level: str | None, heading: str | None, number: int, text: str) -> list[RequirementIssue]:
    words = set(re.findall(r"[a-z]+", text.lower()))
    says_must, says_should = bool(words & MUST_WORDS), bool(words & SHOULD_WORDS)
    if level is None:
        detail = "says neither must/shall nor should/may and is under no MUST or SHOULD heading"
        return [_issue("unclassified", number, rid, text, detail)]
    if heading == "MUST" and says_should and not says_must:
        return [_issue("ambiguous", number, rid, text, "listed under MUST but worded as should/may")]
    if heading == "SHOULD" and says_must and not says_should:
        return [_issue("ambiguous", number, rid, text, "listed under SHOULD but worded as must/shall")]
    if heading not in ("MUST", "SHOULD") and says_must and says_should:
        return [_issue("ambiguous", number, rid, text, f"says both must and should; classified {level}")]
    return []


def _normalized(text: str) -> str:
    return " ".join(text.lower().rstrip(".").split())


def _issue(kind: str, line: int, rid: str | None, text: str, detail: str) -> RequirementIssue:
    return RequirementIssue(kind=kind, line=line, requirement_id=rid, text=text, detail=detail)
