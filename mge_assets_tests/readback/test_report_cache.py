"""The report's cache line: the response cache's hit rate per stage and the prompt cache's share."""

from mge_assets.defs.metadata import CALL_FIELDS, call_metadata
from mge_assets.readback.report import RequestReport, cache_line


def stage(**numbers: float) -> dict[str, float]:
    return dict.fromkeys(CALL_FIELDS, 0.0) | numbers


def test_the_cache_line_gives_hit_rates_per_stage_and_the_prompt_cache_share_with_its_saving() -> None:
    report = RequestReport(
        name="blog",
        calls={
            "discovery_document": stage(model_calls=1, input_tokens=900),
            "atom_results": stage(
                model_calls=3,
                cache_hits=1,
                input_tokens=300,
                cache_write_tokens=1000,
                cache_read_tokens=7800,
                prompt_cache_saved_usd=0.0195,
            ),
            "acceptance_tests": stage(),  # not asked: no rate
        },
    )
    line = cache_line(report)
    assert "discovery document 0%, atom results 25%" in line and "acceptance" not in line
    assert "prompt cache read 78% of 10,000 prompt tokens, saving $0.0195" in line
    assert call_metadata({"model_calls": 3, "cache_hits": 1})["cache_hit_rate"] == 0.25
    assert call_metadata({})["cache_hit_rate"] == 0.0
