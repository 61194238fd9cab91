"""Timing scenarios: our TimingMiddleware next to timing-asgi and FastAPI's X-Process-Time recipe.

* ``timing-metrics``: timing-asgi (the reference) reports each request's wall and CPU time to a
  no-op metrics client; ``asgi-middleware`` sends the ``Server-Timing`` header instead (the issue's
  target compares these two), and ``asgi-middleware+callback`` does both jobs: the header and a
  callback reporting duration and status to the same kind of client.
* ``timing-process-time``: every row sets ``X-Process-Time`` in seconds, the recipe of FastAPI's
  documentation (``@app.middleware("http")``, which is Starlette's ``BaseHTTPMiddleware`` with a
  ``dispatch`` function). The recipe is the reference.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response
from timing_asgi import (  # type: ignore[import-untyped]  # timing-asgi ships no py.typed
    TimingMiddleware as TimingASGIMiddleware,
)

from asgi_middleware import TimingMiddleware
from asgi_middleware.timing import TimingResult
from benchmarks.checks import Response as Parsed
from benchmarks.checks import parse_response
from benchmarks.common import NO_BODY, OK_APP, OK_BODY, http_scope
from benchmarks.model import ASGIApp, Check, Message, Scenario, Variant

_SERVER_TIMING = re.compile(r"app;dur=\d+\.\d{3}")
_SECONDS = re.compile(r"\d+\.\d+(e-\d+)?")


class NoOpClient:
    """A metrics client (timing-asgi's ``TimingClient`` shape) that only keeps the last call."""

    def __init__(self) -> None:
        self.calls = 0
        self.last: tuple[str, float, list[str]] = ("", 0.0, [])

    def timing(self, metric_name: str, timing: float, tags: list[str]) -> None:
        """Take one timing, as a statsd client would before sending it."""
        self.calls += 1
        self.last = (metric_name, timing, tags)


def timing_asgi(client: NoOpClient) -> Callable[[ASGIApp], ASGIApp]:
    """timing-asgi with its default metric namer, reporting to ``client``."""
    return lambda app: TimingASGIMiddleware(app, client=client)


def ours_reporting(client: NoOpClient) -> Callable[[ASGIApp], ASGIApp]:
    """Our middleware with Server-Timing on and a callback reporting to ``client``."""

    def report(result: TimingResult) -> None:
        scope = result.scope
        client.timing(
            "unnamed" + scope["path"].replace("/", "."),
            result.total_ms / 1000,
            tags=[f"http_status:{result.status}", f"http_method:{scope['method']}"],
        )

    return lambda app: TimingMiddleware(app, callback=report)


def _ok(messages: list[Message]) -> Parsed:
    response = parse_response(messages)
    if response.status != 200 or response.body != OK_BODY:
        msg = f"status {response.status} or body changed"
        raise AssertionError(msg)
    return response


def reported(client: NoOpClient, *, per_request: int, server_timing: bool) -> Check:
    """Each request reached ``client`` (``per_request`` calls, status tag 200)."""
    seen = [0]

    def check(messages: list[Message]) -> None:
        response = _ok(messages)
        if client.calls - seen[0] != per_request or "http_status:200" not in client.last[2]:
            msg = f"expected {per_request} metric call(s) tagged 200, got {client.calls - seen[0]}"
            raise AssertionError(msg)
        seen[0] = client.calls
        values = response.get_all("server-timing")
        if server_timing and (len(values) != 1 or not _SERVER_TIMING.fullmatch(values[0])):
            msg = f"expected one server-timing 'app;dur=...', got {values!r}"
            raise AssertionError(msg)

    return check


def process_time(messages: list[Message]) -> None:
    """Exactly one X-Process-Time, a number of seconds under one second."""
    values = _ok(messages).get_all("x-process-time")
    if len(values) != 1 or not _SECONDS.fullmatch(values[0]) or not float(values[0]) < 1:
        msg = f"expected one x-process-time in seconds, got {values!r}"
        raise AssertionError(msg)


async def add_process_time_header(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """FastAPI's documented middleware example, as users copy it."""
    start_time = time.perf_counter()
    response = await call_next(request)
    process_time = time.perf_counter() - start_time
    response.headers["X-Process-Time"] = str(process_time)
    return response


def fastapi_recipe(app: ASGIApp) -> ASGIApp:
    """What ``@app.middleware("http")`` builds around the app: BaseHTTPMiddleware + dispatch."""
    return BaseHTTPMiddleware(app, dispatch=add_process_time_header)


def ours_process_time(app: ASGIApp) -> ASGIApp:
    """Our middleware with only X-Process-Time, the recipe's job."""
    return TimingMiddleware(app, server_timing=False, process_time_header=True)


def ours_header_only(app: ASGIApp) -> ASGIApp:
    """Our middleware with its defaults: Server-Timing only."""
    return TimingMiddleware(app)


_PEER_CLIENT = NoOpClient()
_OUR_CLIENT = NoOpClient()


def _bare(messages: list[Message]) -> None:
    if _ok(messages).get_all("server-timing"):
        msg = "the bare app sent server-timing"
        raise AssertionError(msg)


def _header_only(messages: list[Message]) -> None:
    values = _ok(messages).get_all("server-timing")
    if len(values) != 1 or not _SERVER_TIMING.fullmatch(values[0]):
        msg = f"expected one server-timing 'app;dur=...', got {values!r}"
        raise AssertionError(msg)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="timing-metrics",
        description="GET: duration and status reported to a metrics client per request",
        app=OK_APP,
        scope=http_scope("GET", "/api/items", ()),
        request=NO_BODY,
        bare_check=_bare,
        reference="timing-asgi",
        variants=(
            Variant(
                "timing-asgi",
                timing_asgi(_PEER_CLIENT),
                reported(_PEER_CLIENT, per_request=2, server_timing=False),
                "no-op client; wall + CPU time",
            ),
            Variant("asgi-middleware", ours_header_only, _header_only, "Server-Timing header"),
            Variant(
                "asgi-middleware+callback",
                ours_reporting(_OUR_CLIENT),
                reported(_OUR_CLIENT, per_request=1, server_timing=True),
                "Server-Timing + callback to the same client",
            ),
        ),
    ),
    Scenario(
        name="timing-process-time",
        description="GET: X-Process-Time header in seconds, FastAPI's documented recipe",
        app=OK_APP,
        scope=http_scope("GET", "/api/items", ()),
        request=NO_BODY,
        bare_check=_bare,
        reference="fastapi-recipe",
        variants=(
            Variant("fastapi-recipe", fastapi_recipe, process_time, '@app.middleware("http")'),
            Variant("asgi-middleware", ours_process_time, process_time),
        ),
    ),
)
