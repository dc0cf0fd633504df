"""atom_results reports its progress while it runs: observations of the asset for the partition, a
bounded number of them (one per 2 s at most, and the final one), not one per atom."""

import asyncio
import math

import dagster as dg

from mge_assets.llm.offline import OfflineBackend
from mge_assets.llm.types import ModelRequest, ModelResponse
from mge_assets.readback.status import latest_progress, run_entries
from mge_assets_tests.conftest import example_path
from mge_assets_tests.helpers import ASSETS, CHECKS, backend_serving, submit, test_resources


class SlowModel(OfflineBackend):
    """The offline model, half a second more per call: atom_results lasts several seconds (its
    critical path alone is nine calls), however fast the machine."""

    async def complete(self, request: ModelRequest) -> ModelResponse:
        await asyncio.sleep(0.5)
        return await super().complete(request)


def test_atom_results_is_observed_a_bounded_number_of_times_with_numbers_to_plot(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    name = submit(instance, tmp_path, example_path("task_api"))
    result = dg.materialize(
        [*ASSETS, *CHECKS],
        instance=instance,
        partition_key=name,
        resources=test_resources(tmp_path, backend_serving(SlowModel, tmp_path)),
        selection="*atom_results",
    )
    assert result.success
    [materialization] = result.asset_materializations_for_node("atom_results")
    atoms = materialization.metadata["atoms"].value
    makespan = materialization.metadata["makespan_s"].value
    observations = [
        o.event_specific_data.asset_observation
        for o in result.all_events
        if o.event_type == dg.DagsterEventType.ASSET_OBSERVATION
    ]
    assert {o.asset_key for o in observations} == {dg.AssetKey("atom_results")}
    assert {o.partition for o in observations} == {name}
    # The first, then one per 2 s at most, the final: far fewer than the atoms. A snapshot comes at
    # least every second (the engine's tick), so one passes at most 3 s after the one before.
    assert makespan > 3.0
    assert 2 + int(makespan // 3.0) <= len(observations) <= 2 + math.ceil(makespan / 2.0)
    assert len(observations) < atoms / 10
    first, last = observations[0].metadata, observations[-1].metadata
    assert first["progress_done"].value == 0 and first["progress_total"].value == atoms
    assert last["progress_final"].value is True
    assert last["progress_done"].value == materialization.metadata["valid"].value == atoms
    assert last["progress_hard_cap_usd"].value == 5.0 and last["progress_soft_cap_usd"].value == 3.5
    numeric = (dg.IntMetadataValue, dg.FloatMetadataValue)
    assert all(isinstance(v, numeric) for k, v in last.items() if k != "progress_final")
    snapshot = latest_progress(run_entries(instance, result.run_id))  # what `mge status` reads back
    assert snapshot is not None and snapshot.final and snapshot.done == atoms
