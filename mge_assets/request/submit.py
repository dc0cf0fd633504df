"""Submitting a request: validate it for the backend that will serve it, then store it.

Used by `mge submit` and by the inbox sensor; neither adds a partition for a request that fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mge_assets.request.model import ProjectRequest
from mge_assets.request.parser import parse_request, require_entities
from mge_assets.request.store import save_request


@dataclass(frozen=True)
class Submission:
    request: ProjectRequest
    status: str  # added | updated | unchanged

    def describe(self) -> str:
        verb = {"added": "added", "updated": "updated (the request changed)", "unchanged": "unchanged"}
        return f"request '{self.request.name}' {verb[self.status]}"


def submit_request(data: bytes, source: str, requests_dir: Path, backend: str) -> Submission:
    """Parse and validate `data`; store it as the request of its name. Raises RequestError, storing nothing."""
    request = parse_request(data, source=source)
    if backend == "offline":
        require_entities(request, backend)
    return Submission(request=request, status=save_request(requests_dir, request))
