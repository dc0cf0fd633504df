"""Run tags MGE reads and writes: what kind of run this is, and what it may reuse."""

# A canary run: its value is the evaluation it belongs to (the canary_report partition, a UTC date).
CANARY_TAG = "mge/canary"
# Which repeat of the canary within its evaluation (0, 1, ...).
REPEAT_TAG = "mge/repeat"
# "true": ask the model anew, no response cache and no atom checkpoints (a canary repeat must not
# replay the one before it, or repeats through a sampling model could never differ).
FRESH_TAG = "mge/fresh"
# "true" on an mvp run the dual_run sensor asked for (its partition names the request).
DUAL_RUN_TAG = "mge/dual-run"
# Which attempt of a canary repeat this run is ("2": the re-run of a repeat a harness error ended).
ATTEMPT_TAG = "mge/attempt"
# "true" on every request_pipeline run (a tag of that job): the run queue lets only so many of them
# run at once (`concurrency: runs: tag_concurrency_limits` in dagster.yaml), since they share the
# model's rate limit and budget.
MODEL_CALLS_TAG = "mge/model-calls"
# The review decisions a review_apply run applies (their ids, comma-separated): the run's link to
# what reviewers decided.
REVIEW_TAG = "mge/review-decisions"
