"""The partitions of MGE: one per request and mode, one per dual-run."""

import dagster as dg

# A request's name (v2), or `<name>@mvp` for its baseline run (see mge_assets/request/modes.py).
requests_partitions = dg.DynamicPartitionsDefinition(name="requests")

# A request's name, once both of its modes have run: the side-by-side report of the two.
dual_run_partitions = dg.DynamicPartitionsDefinition(name="dual_runs")

# A canary evaluation: a UTC date; today's is open (end_offset=1), so an evaluation can run the day it is named.
canary_partitions = dg.DailyPartitionsDefinition(start_date="2026-11-20", end_offset=1)
