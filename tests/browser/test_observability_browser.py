"""Request IDs seen from a real browser on another origin, through CORS (issue 5).

The stack is the documented one, wrapped around the whole Starlette object: CORS outermost, then
request ID, access log and timing. The page's script must be able to read the ``X-Request-ID`` of
every answer, including the 500 of an unhandled exception, and that ID must be the one the
access-log event for the same request carries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asgi_middleware import (
    AccessLogMiddleware,
    CORSMiddleware,
    Layer,
    RequestIDMiddleware,
    TimingMiddleware,
    compose,
)
from tests.support.logs import Events
from tests.support.servers import ServeApp, browser_fetch, html_page_app

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


async def ok(request: Request) -> JSONResponse:
    """Answer with the ID the endpoint sees in ``request.state``."""
    return JSONResponse({"seen": request.state.request_id})


async def boom(request: Request) -> JSONResponse:
    """Fail with an unhandled exception."""
    msg = "deliberate failure"
    raise RuntimeError(msg)


def api(page_origin: str, events: Events) -> Any:
    """The documented stack around a whole Starlette app, allowing ``page_origin``."""
    starlette_app = Starlette(routes=[Route("/ok", ok), Route("/boom", boom)])
    return compose(
        starlette_app,
        Layer(
            CORSMiddleware,
            allow_origins=[page_origin],
            expose_headers=["X-Request-ID", "Server-Timing"],
        ),
        RequestIDMiddleware,
        Layer(AccessLogMiddleware, logger=events.logger),
        Layer(TimingMiddleware, timing_allow_origin=[page_origin]),
    )


def _access_events(events: Events) -> list[tuple[str, int, str]]:
    """The access-log events, once the first has arrived.

    The event is written in the server's thread when the app returns, which can be just after
    the browser has the whole response: wait for it rather than race it.
    """
    return [(e["path"], e["status"], e["request_id"]) for e in events.wait(1)]


def test_page_reads_the_request_id_the_access_log_recorded(
    page: Page, live_server: ServeApp
) -> None:
    """A cross-origin fetch can read X-Request-ID; the access-log event has the same ID."""
    page_server = live_server(html_page_app())
    events = Events()
    api_server = live_server(api(page_server.origin, events))
    page.goto(page_server.url)
    result = browser_fetch(page, f"{api_server.url}/ok")
    assert result.get("status") == 200, result
    request_id = result["headers"]["x-request-id"]
    assert result["body"] == f'{{"seen":"{request_id}"}}'
    assert result["headers"]["server-timing"].startswith("app;dur=")
    assert _access_events(events) == [("/ok", 200, request_id)]


def test_page_reads_the_500_and_its_request_id(page: Page, live_server: ServeApp) -> None:
    """An unhandled exception's 500 reaches the page with CORS headers and a request ID."""
    page_server = live_server(html_page_app())
    events = Events()
    api_server = live_server(api(page_server.origin, events))
    page.goto(page_server.url)
    result = browser_fetch(page, f"{api_server.url}/boom")
    assert result.get("status") == 500, result
    request_id = result["headers"]["x-request-id"]
    assert _access_events(events) == [("/boom", 500, request_id)]
