"""The precision score and the review queue."""

from mge_assets.scoring.precision import (
    GATE_A,
    GATE_S,
    Component,
    PrecisionReport,
    integration_pass,
    precision_report,
    spec_conformance,
    validation_pass,
)
from mge_assets.scoring.review import confidence_frame, select_for_review

__all__ = [
    "GATE_A",
    "GATE_S",
    "Component",
    "PrecisionReport",
    "confidence_frame",
    "integration_pass",
    "precision_report",
    "select_for_review",
    "spec_conformance",
    "validation_pass",
]
