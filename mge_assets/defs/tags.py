"""Run tags MGE reads and writes: what kind of run this is, and what it may reuse."""

# A canary run: its value is the evaluation it belongs to (the canary_report partition, a UTC date).
CANARY_TAG = "mge/canary"
# Which repeat of the canary within its evaluation (0, 1, ...).
REPEAT_TAG = "mge/repeat"
# "true": ask the model anew, no response cache and no atom checkpoints (a canary repeat must not
# replay the one before it, or repeats through a sampling model could never differ).
FRESH_TAG = "mge/fresh"
