"""The one composition root: every asset, check, job, sensor, schedule and resource of MGE."""

import dagster as dg

from mge_assets.defs import acceptance, drafting, execution, intake, scoring
from mge_assets.defs.jobs import request_pipeline
from mge_assets.defs.resources import default_resources
from mge_assets.defs.schedules import canary_schedule
from mge_assets.defs.sensors import request_inbox

STAGES = (intake, drafting, execution, acceptance, scoring)

defs = dg.Definitions(
    assets=dg.load_assets_from_modules(STAGES),
    asset_checks=dg.load_asset_checks_from_modules(STAGES),
    jobs=[request_pipeline],
    sensors=[request_inbox],
    schedules=[canary_schedule],
    resources=default_resources(),
    executor=dg.in_process_executor,
)
