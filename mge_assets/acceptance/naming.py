"""Where a requirement's acceptance tests live and how they are named, per language of the project."""

from __future__ import annotations

TEST_SUFFIX = {"python": ".py", "typescript": ".ts"}


def test_file_for(requirement_id: str, language: str = "python") -> str:
    return f"acceptance/test_{requirement_id.lower().replace('-', '_')}{TEST_SUFFIX[language]}"


def test_prefix(requirement_id: str) -> str:
    return f"test_{requirement_id.lower().replace('-', '_')}"
