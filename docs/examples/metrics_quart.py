"""Quart: the route of each request from Quart's URL rule, through a route function."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from quart import Quart, request

from asgi_middleware import Scope
from asgi_middleware.metrics import MetricsMiddleware, PrometheusExporter

quart_app = Quart(__name__)


@quart_app.get("/users/<int:user_id>")
async def user(user_id: int) -> dict[str, int]:
    """One user."""
    return {"id": user_id}


# --8<-- [start:recipe]
@quart_app.before_request
async def route_to_state() -> None:
    """Put the matched URL rule where MetricsMiddleware can read it."""
    if request.url_rule is not None:
        request.scope["state"]["http.route"] = request.url_rule.rule  # "/users/<int:user_id>"


def quart_route(scope: Scope) -> str | None:
    """MetricsMiddleware's route function: what route_to_state found, None for a 404."""
    route: str | None = scope["state"].get("http.route")
    return route


registry = CollectorRegistry()
app = MetricsMiddleware(
    quart_app, exporters=PrometheusExporter(registry=registry), route=quart_route
)
# --8<-- [end:recipe]
