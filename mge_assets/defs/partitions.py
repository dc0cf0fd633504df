"""One partition per request, keyed by the request's `name`."""

import dagster as dg

requests_partitions = dg.DynamicPartitionsDefinition(name="requests")
