"""The words rule sentences are made of: names, modals, counts, the status clause, the bounds.

Shared by the phrasings of every kind (`phrasings.py`); a sentence that does not fit raises
`NotUnderstood` with the reason, which the request's author is shown.
"""

from __future__ import annotations

import re

NUMBER = r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?"
WORD_NUMBERS = {
    w: i
    for i, w in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"],
    )
}
COUNT = r"\d+|" + "|".join(WORD_NUMBERS)
ARTICLE = r"(?:(?:a|an|every|each|any|the|one)\s+)?"
NAME = r"[A-Za-z][A-Za-z0-9_]*"
SUBJECTS = (
    rf"^{ARTICLE}(?P<entity>{NAME})(?:'s|’s|'|’)\s+(?P<field>{NAME})\s+",
    rf"^(?:the\s+)?(?P<field>{NAME})\s+of\s+{ARTICLE}(?P<entity>{NAME})\s+",
)
MODAL = r"(?:(?:must|should|shall|will|has to|have to|needs to|need to)\s+(?:always\s+)?be|(?:is|are)(?:\s+always)?)"
NEGATED = (
    r"(?:(?:must|should|shall|will|may|can)\s*not|mustn't|shouldn't|cannot|can't|won't|(?:must|may|can) never)"
    r"\s+be|(?:is|are)\s+never|(?:is|are)\s*n[o']t|isn't|aren't"
)
AT_MOST = r"(?:at most|no more than|up to|a maximum of|not more than)"
CANNOT = r"(?:cannot|can't|can not|may not|must not|should not|shall not)"
SOME = r"(?:any\s+|a\s+|an\s+|one or more\s+|some\s+)?"
CHILDREN_END = r"(?:\s+(?:at (?:a|the same) time|at once|simultaneously))?$"


class NotUnderstood(Exception):
    """A rule-shaped sentence that cannot be turned into a rule; the message says why."""


TRIGGERS = [
    re.compile(rf"^{ARTICLE}{NAME}(?:'s|’s|'|’)\s+{NAME}\s+\w", re.I),
    re.compile(
        rf"^(?:the\s+)?{NAME}\s+of\s+(?:a|an|every|each|any)\s+{NAME}\s+(?:must|should|is|are|can|may|moves|defaults)",
        re.I,
    ),
    re.compile(
        rf"^{ARTICLE}{NAME}\s+(?:(?:can|may)\s+(?:only\s+)?(?:have|hold)|has|holds?)\s+{AT_MOST}\b",
        re.I,
    ),
    re.compile(
        rf"^{ARTICLE}{NAME}\s+{CANNOT}\s+(?:have|hold)\s+(?:more than|two|2\b|multiple|several)",
        re.I,
    ),
    re.compile(r"^deleting\s+", re.I),
    re.compile(
        rf"^{ARTICLE}{NAME}\s+(?:that|which|with)\s+(?:has|have)\s+.+\s+{CANNOT}\s+be\s+deleted$",
        re.I,
    ),
    re.compile(rf"^{ARTICLE}{NAME}\s+can\s+be\s+[\w-]+(?:\s+by\s+[\w ]+?)?\s*:", re.I),
]


def normalize(text: str) -> str:
    return " ".join(text.split()).rstrip(" .")


def strip_status(sentence: str) -> tuple[str, int | None]:
    """The sentence without its trailing status clause ('; any other change is rejected with 409',
    '(422)', a remark in parentheses), and the status it names."""
    status: int | None = None
    found = re.search(r"\s*\((?:status\s+|http\s+)?(\d{3})\)$", sentence, re.I)
    if found:
        return sentence[: found.start()].rstrip(" ,;"), int(found.group(1))
    remark = re.search(r"\s*\(([^()]*)\)$", sentence)
    if remark and not re.search(r"\d{3}", remark.group(1)):
        sentence = sentence[: remark.start()].rstrip(" ,;")
    found = re.search(
        r"[,;:]?\s*(?:(?:otherwise|else|or|and)\s+)?"
        r"(?:(?:the next(?: one)?|any other(?: \w+)?|it|this|that|a violation|violations|such(?: an?)? \w+|"
        r"the (?:request|change|call|creation|update))\s+)?"
        r"(?:is|are|gets|get)\s+(?:rejected|refused|denied)(?:\s+with\s+(?:(?:a\s+)?(?:status|http)\s+(?:code\s+)?)?(\d{3}))?$",
        sentence,
        re.I,
    )
    if found:
        status = int(found.group(1)) if found.group(1) else None
        sentence = sentence[: found.start()].rstrip(" ,;")
    return sentence, status


def parse_limits(predicate: str) -> list[tuple[str, float]] | None:
    """`between 1 and 5` → [(">=", 1), ("<=", 5)]; `greater than 0 and at most 9` → two limits; else None."""
    between = re.fullmatch(
        rf"(?P<strict>strictly\s+)?between\s+(?P<a>{NUMBER})\s+and\s+(?P<b>{NUMBER})(?:\s+inclusive)?",
        predicate,
        re.I,
    )
    if between:
        low, high = (">", "<") if between["strict"] else (">=", "<=")
        return [(low, number_of(between["a"])), (high, number_of(between["b"]))]
    limits = [single_limit(part) for part in re.split(r"\s+and\s+(?=[a-z<>≤≥])", predicate, flags=re.I)]
    return None if any(limit is None for limit in limits) else limits  # type: ignore[return-value]


def single_limit(part: str) -> tuple[str, float] | None:
    part = part.strip()
    table = (
        (
            r"(?:at least|no less than|not less than|a minimum of|minimum|min|greater than or equal to|"
            r"more than or equal to|equal to or greater than|equal to or more than|>=|≥)",
            ">=",
        ),
        (
            r"(?:at most|no more than|not more than|a maximum of|maximum|max|less than or equal to|"
            r"equal to or less than|up to|<=|≤)",
            "<=",
        ),
        (r"(?:greater than|more than|larger than|higher than|bigger than|above|over|>)", ">"),
        (r"(?:less than|fewer than|smaller than|lower than|below|under|<)", "<"),
    )
    part = re.sub(r"^an?\s+(.+?)(?:\s+(?:number|value|integer|amount|quantity))$", r"\1", part, flags=re.I)
    for words, operator in table:
        found = re.fullmatch(rf"{words}\s*(?P<n>{NUMBER}|{COUNT})", part, re.I)
        if found:
            return operator, number_of(found["n"])
    named = {
        "positive": (">", 0.0),
        "strictly positive": (">", 0.0),
        "negative": ("<", 0.0),
        "non-negative": (">=", 0.0),
        "nonnegative": (">=", 0.0),
        "not negative": (">=", 0.0),
        "zero or more": (">=", 0.0),
        "zero or positive": (">=", 0.0),
        "positive or zero": (">=", 0.0),
        "zero or greater": (">=", 0.0),
    }
    return named.get(part.lower())


def negated_limit(limit: tuple[str, float]) -> tuple[str, float]:
    operator, number = limit
    return {">=": "<", ">": "<=", "<=": ">", "<": ">="}[operator], number


def number_of(text: str) -> float:
    return float(WORD_NUMBERS[text.lower()]) if text.lower() in WORD_NUMBERS else float(text.replace(",", ""))


def count_of(text: str) -> int:
    return int(text) if text.isdigit() else WORD_NUMBERS[text.lower()]
