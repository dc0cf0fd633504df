"""Reading back what the instance and the ledger recorded: a request's report and stored values, a
mode's figures, canary runs, model calls, live progress and metrics. The one home of shell code that
reads the Dagster instance after the fact, on Dagster's public API only."""
