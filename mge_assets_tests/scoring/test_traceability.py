"""The trace share: records carrying the trace id of the calls that made them."""

from mge_assets.scoring.traceability import overall_share, trace_shares


def test_the_share_counts_every_record_and_an_empty_trace_as_missing() -> None:
    shares = trace_shares({"atoms": ["mge-1", "mge-2"], "test results": ["blog:MUST-01", ""]})
    assert shares == {"atoms": (2, 2), "test results": (1, 2)}
    assert overall_share(shares) == 0.75
    assert overall_share({}) == 1.0
