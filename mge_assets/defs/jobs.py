"""The per-request job: every asset and check of one partition, in one process."""

import dagster as dg

REPORT_GROUPS = ("canaries", "dual_run")

# In-process: a step costs ~50 ms here instead of 0.5-1.5 s for a new process; parallelism lives
# inside the model stages (asyncio) and across requests in the run queue.
request_pipeline = dg.define_asset_job(
    "request_pipeline",
    # The reports over many requests (canaries, dual-runs) have partitions of their own and jobs of their own.
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(*REPORT_GROUPS),
    executor_def=dg.in_process_executor,
    description="Materialize every stage of one request, from project_request to review_queue, with its gates.",
)
