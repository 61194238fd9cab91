"""Prometheus in multiprocess mode: several uvicorn workers, one /metrics adding them up.

Run it with `PROMETHEUS_MULTIPROC_DIR=$(mktemp -d) uvicorn metrics_multiprocess:app --workers 4
--app-dir docs/examples`.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry

# --8<-- [start:app]
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware.metrics import MetricsMiddleware, PrometheusExporter, metrics_app

# PROMETHEUS_MULTIPROC_DIR is set in the environment uvicorn starts with, so every worker has it
# before prometheus-client is imported; without it, this is a one-process app like any other.


async def ping(request: Request) -> PlainTextResponse:
    """Answer with the worker's process ID."""
    return PlainTextResponse(str(os.getpid()))


app = MetricsMiddleware(
    Starlette(routes=[Route("/ping", ping), Route("/metrics", metrics_app())]),
    # The values live in the directory's files, whatever registry holds the instruments; a
    # registry of their own keeps them out of the one metrics_app() builds to read the files.
    exporters=PrometheusExporter(registry=CollectorRegistry()),
)
# --8<-- [end:app]
