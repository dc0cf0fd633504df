"""Business rules: typed records (`records`), the sentences that state them (`phrasings`), and the
checks that a discovery document fits together (`consistency`)."""

from mge_assets.rules.phrasings import EXAMPLES, Understanding, rule_shaped, understand_rules
from mge_assets.rules.records import DEFAULT_STATUS, KINDS, Condition, Rule, RuleProblem

__all__ = [
    "DEFAULT_STATUS",
    "EXAMPLES",
    "KINDS",
    "Condition",
    "Rule",
    "RuleProblem",
    "Understanding",
    "rule_shaped",
    "understand_rules",
]
