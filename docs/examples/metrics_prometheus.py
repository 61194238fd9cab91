"""Prometheus metrics for a FastAPI app, with its own /metrics endpoint.

Run it with `uvicorn metrics_prometheus:app --app-dir docs/examples`, then open /metrics.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry
from starlette.routing import Route

from asgi_middleware.metrics import MetricsMiddleware, PrometheusExporter, metrics_app

# --8<-- [start:app]
items = APIRouter(prefix="/items")


@items.get("/{item_id}")
async def read_item(item_id: int) -> dict[str, int]:
    """One item."""
    return {"id": item_id}


api = FastAPI()
api.include_router(items, prefix="/api/v1")

# A registry of its own (the default REGISTRY works too); one exporter per registry.
registry = CollectorRegistry()
api.router.routes.append(Route("/metrics", metrics_app(registry)))

# Outermost, so every request is measured, 404s included; /metrics itself is not.
app = MetricsMiddleware(api, exporters=PrometheusExporter(registry=registry))
# --8<-- [end:app]
