"""`mge metrics serve`: the Prometheus exporter of MGE's own families, a standalone HTTP process.

Prometheus pulls, so the families need a server answering its scrapes; a sensor only ticks inside the
daemon and cannot serve HTTP. The exporter reads the Dagster instance ($DAGSTER_HOME, opened as every
`mge` command opens it) and the ledger (MGE_DATABASE_URL, or MGE_HOME/mge.db) on each scrape, so the
runs' stored records stay the one source of truth (see mge_assets/readback/metrics.py)."""

from __future__ import annotations

import argparse
import errno
import sys
import threading

from mge_assets.commands.instance import open_instance
from mge_assets.errors import MgeError

DEFAULT_PORT = 9464


def add_metrics_commands(sub: argparse._SubParsersAction) -> None:
    """`mge metrics serve`, on the parser of `mge`."""
    metrics = sub.add_parser("metrics", help="the Prometheus exporter of MGE's families")
    actions = metrics.add_subparsers(required=True, metavar="ACTION")
    serve = actions.add_parser("serve", help="serve /metrics over HTTP until interrupted")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.set_defaults(command=cmd_metrics_serve)


def cmd_metrics_serve(args: argparse.Namespace) -> int:
    from prometheus_client import CollectorRegistry, start_http_server

    from mge_assets.ledger import database_url
    from mge_assets.llm.cache import redact
    from mge_assets.readback.metrics import MgeCollector

    if not 0 <= args.port <= 65535:
        raise MgeError(f"--port must be between 0 and 65535, not {args.port}")
    instance = open_instance()
    registry = CollectorRegistry()
    registry.register(MgeCollector(instance, database_url()))
    try:
        server, _thread = start_http_server(args.port, addr=args.host, registry=registry)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise MgeError(f"port {args.port} on {args.host} is already in use; pass another with --port") from None
        raise MgeError(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}") from None
    print(
        f"serving MGE metrics on http://{args.host}:{server.server_port}/metrics (instance {instance.root_directory}, "
        f"ledger {redact(database_url())}); Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    threading.Event().wait()  # the server's thread serves; this one waits for Ctrl-C or a signal
    return 0
