"""Migrating from timing-asgi: the same metric names and tags, sent from the callback.

Run it with `uvicorn timing_statsd:app --app-dir docs/examples`.
"""

from __future__ import annotations

from typing import Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware import TimingMiddleware
from asgi_middleware.timing import TimingResult


class TimingClient(Protocol):
    """What timing-asgi calls a client: a statsd or Datadog client has this method."""

    def timing(self, metric_name: str, timing: float, tags: list[str]) -> None:
        """Send one timing in seconds."""


class RecordingClient:
    """Keeps what it is sent; use your statsd client instead."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, float, list[str]]] = []

    def timing(self, metric_name: str, timing: float, tags: list[str]) -> None:
        """Record one timing."""
        self.sent.append((metric_name, timing, tags))


async def health(request: Request) -> PlainTextResponse:
    """Say all is well."""
    return PlainTextResponse("ok")


inner = Starlette(routes=[Route("/api/health", health)])
client = RecordingClient()

# --8<-- [start:migration]
# Before: app = timing_asgi.TimingMiddleware(inner, client=client,
#                                            metric_namer=PathToName("myapp"))


def report(result: TimingResult, client: TimingClient = client) -> None:
    """Send the request's total time under timing-asgi's name and tags."""
    scope = result.scope
    client.timing(
        "myapp" + scope["path"].replace("/", "."),  # PathToName("myapp")
        result.total_ms / 1000,  # timing-asgi sends seconds
        tags=[f"http_status:{result.status}", f"http_method:{scope['method']}", "time:wall"],
    )


app = TimingMiddleware(inner, server_timing=False, callback=report)
# --8<-- [end:migration]
