"""Model access: one interface (`ModelClient`) over the offline synthesizer and Claude."""

from mge_assets.llm.budget import Budget
from mge_assets.llm.client import CallRecord, ModelClient
from mge_assets.llm.types import ModelBackend, ModelRequest, ModelResponse, Usage

__all__ = ["Budget", "CallRecord", "ModelBackend", "ModelClient", "ModelRequest", "ModelResponse", "Usage"]
