"""The per-request job: every asset and check of one partition, in one process."""

import dagster as dg

from mge_assets.defs.tags import MODEL_CALLS_TAG

REPORT_GROUPS = ("canaries", "dual_run")

# In-process: a step costs ~50 ms here instead of 0.5-1.5 s for a new process; parallelism lives
# inside the model stages (asyncio) and across requests in the run queue.
request_pipeline = dg.define_asset_job(
    "request_pipeline",
    # The reports over many requests (canaries, dual-runs) have partitions of their own and jobs of their own.
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(*REPORT_GROUPS),
    executor_def=dg.in_process_executor,
    # Every run of it calls the model: the run queue limits how many run at once by this tag. Job
    # tags (not run_tags): runs launched from the UI and GraphQL get the job's tags, and sensors' and
    # schedules' runs get them too when run_tags is unset.
    tags={MODEL_CALLS_TAG: "true"},
    description="Materialize every stage of one request, from project_request to review_queue, with its gates.",
)

dual_run_job = dg.define_asset_job(
    "dual_run",
    selection=dg.AssetSelection.groups("dual_run"),
    description="Put a request's v2 and mvp runs side by side (dual_run_report), once both have run.",
)

canary_evaluation = dg.define_asset_job(
    "canary_evaluation",
    selection=dg.AssetSelection.groups("canaries"),
    executor_def=dg.in_process_executor,
    description="Report one canary evaluation (a UTC date) from its runs, held to the blessed baseline.",
)

review_apply = dg.define_asset_job(
    "review_apply",
    # atom_results applies the decisions; everything it feeds is made again from the changed atoms.
    selection=dg.AssetSelection.assets("atom_results").downstream(),
    executor_def=dg.in_process_executor,
    tags={MODEL_CALLS_TAG: "true"},
    description="Apply reviewers' decisions to a request: atom_results, then the project, acceptance, score and queue.",
)

review_queue_refresh = dg.define_asset_job(
    "review_queue_refresh",
    # A gate that fails on the project (its unit tests, say) skips the queue in the same run, just
    # when a person is most needed: this run makes it from the stored values on its own.
    selection=dg.AssetSelection.assets("review_queue"),
    executor_def=dg.in_process_executor,
    description="Make a request's review queue after a gate stopped its run before it.",
)
