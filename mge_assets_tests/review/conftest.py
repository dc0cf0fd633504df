"""One finished request to review, made once per session and copied for each test that decides on it.

The request has one entity and a bound rule. The model slips on the bound (`<= 4` for `<= 5`), a
defect level-1 validation cannot see: the atom validates, MUST-02's tests fail, Gate S blocks. It is
what a reviewer is there to catch; the model writes it right when it is asked again with feedback.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from mge_assets.commands.instance import ensure_dagster_home
from mge_assets.defs.io_manager import MgeIOManager
from mge_assets.defs.resources import ModelBackendResource, WorkspaceResource
from mge_assets.llm.offline import OfflineBackend
from mge_assets_tests.helpers import ASSETS, CHECKS, RewritingModel, submit

NOTES = """---
name: notes
title: Notes
budget_usd: 5
---
# Notes

People keep short notes and rate them.

## Entities
- Note: title (str, required), body (text), rating (int)

## Requirements
### MUST
- Every entity can be created, read, updated, deleted and listed over HTTP.
- A Note's rating is between 1 and 5.
"""
BOUND_ATOM = "notes/rules/note.py::NoteRules._must_02_rating_bounds"
MOVED = ("<= 5", "<= 4")
ENV_NAMES = ("MGE_HOME", "MGE_WORKSPACE", "MGE_INBOX", "MGE_DATABASE_URL", "MGE_BACKEND", "MGE_MODEL")
ENV_NAMES += ("MGE_REDIS_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "MGE_REVIEWER", "MGE_REVIEW_TOKEN")


class SlipsOnTheBound(RewritingModel):
    def rewrite(self, payload: dict[str, Any], answer: str) -> str:
        first = payload.get("kind") == "write_atom" and not payload.get("feedback")
        if first and payload["atom"]["id"] == BOUND_ATOM:
            return answer.replace(*MOVED)
        return answer


def _resources(model: type[OfflineBackend]) -> dict[str, object]:
    """The embedded default's layout (relative to the working directory, as `defs` has it)."""

    class Serving(ModelBackendResource):
        def build_backend(self) -> OfflineBackend:
            return model()

    return {
        "model_backend": Serving(cache_dir=".mge/cache"),
        "workspace": WorkspaceResource(root="mge_workspace", requests_dir=".mge/requests", inbox="mge_inbox"),
        "io_manager": MgeIOManager(base_dir=".mge/assets"),
    }


def _enter(env: pytest.MonkeyPatch, root: Path) -> None:
    env.chdir(root)
    for name in ENV_NAMES:
        env.delenv(name, raising=False)
    env.setenv("DAGSTER_HOME", str(root / "dh"))


@pytest.fixture(scope="session")
def notes_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the finished run of NOTES (instance, values, ledger, project)."""
    root = tmp_path_factory.mktemp("notes-template")
    (root / "notes.md").write_text(NOTES)
    with pytest.MonkeyPatch.context() as env:
        _enter(env, root)
        ensure_dagster_home()
        with dg.DagsterInstance.get() as instance:
            name = submit(instance, root / ".mge", root / "notes.md")
            dg.materialize(
                [*ASSETS, *CHECKS],
                instance=instance,
                partition_key=name,
                resources=_resources(SlipsOnTheBound),
                raise_on_error=False,
            )
    return root


@pytest.fixture
def notes_copy(notes_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the template to decide on, the working directory and DAGSTER_HOME pointing at it."""
    root = tmp_path / "notes"
    shutil.copytree(notes_template, root)
    config = root / "dh" / "dagster.yaml"
    config.write_text(re.sub(re.escape(str(notes_template)), str(root), config.read_text()))
    _enter(monkeypatch, root)
    yield root
