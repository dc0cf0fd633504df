"""What one evaluation of one gold request measured."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CanaryOutcome(BaseModel):
    """One repeat of one canary: its score and costs, or the harness error that kept it from a score.

    `stage_digests` maps each stage (asset name) to a digest of what it produced, so a regression can
    name the first stage whose output changed. A harness error (a timeout, a crashed sandbox, a model
    API that was down) is the harness failing, not the pipeline: such a repeat is re-run and never
    counted as a regression.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    repeat: int = Field(ge=0)
    precision: float | None = Field(default=None, ge=0.0, le=1.0)
    components: dict[str, float] = Field(default_factory=dict)
    gate_s: bool = False
    cost_usd: float = 0.0
    wall_s: float = 0.0
    calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    harness_error: str | None = None
    stage_digests: dict[str, str] = Field(default_factory=dict)

    @property
    def scored(self) -> bool:
        """Whether the pipeline, not the harness, decided this repeat (a precision of None, when a
        blocking gate stopped the run before scoring, counts as 0)."""
        return self.harness_error is None
