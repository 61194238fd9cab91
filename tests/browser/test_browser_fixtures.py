"""Tests of the real-browser fixtures in ``tests/support/servers.py``: ``page``, ``two_origins``.

What a page's ``fetch()`` sees from a live server, same-origin and cross-origin, with no middleware
in between: the baseline the CORS tests in this folder build on.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from asgi_middleware import ASGIApp, Receive, Scope, Send
from tests.support.servers import ServeApp, ServeTwoOrigins, browser_fetch, html_page_app

if TYPE_CHECKING:
    from playwright.sync_api import Page


def _recording_api(*, allow_origin: bool) -> tuple[ASGIApp, list[str | None]]:
    """An API app answering ``api body`` and the list of request ``Origin`` headers it saw.

    With ``allow_origin`` it answers ``access-control-allow-origin: <the request's Origin>``.
    """
    origins: list[str | None] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        origin = dict(scope["headers"]).get(b"origin")
        origins.append(None if origin is None else origin.decode("latin-1"))
        headers = [(b"content-type", b"text/plain")]
        if allow_origin and origin is not None:
            headers.append((b"access-control-allow-origin", origin))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"api body"})

    return app, origins


@pytest.mark.browser
def test_page_shows_served_html(page: Page, live_server: ServeApp) -> None:
    """Chromium loads a page from a live server and the page's script reads its title."""
    server = live_server(html_page_app("<!doctype html><title>served title</title>"))

    page.goto(server.url)

    assert page.evaluate("document.title") == "served title"


@pytest.mark.browser
def test_same_origin_fetch_succeeds(page: Page, two_origins: ServeTwoOrigins) -> None:
    """A page's ``fetch`` to its own origin resolves with the response."""
    api, _ = _recording_api(allow_origin=False)  # the page fetches its own origin only
    origins = two_origins(api)
    page.goto(origins.page.url)

    result = browser_fetch(page, origins.page.url + "/")

    assert (result["ok"], result["status"]) == (True, 200)
    assert "<title>live page</title>" in result["body"]
    assert result["headers"]["content-type"] == "text/html; charset=utf-8"


@pytest.mark.browser
def test_cross_origin_fetch_without_cors_rejects(page: Page, two_origins: ServeTwoOrigins) -> None:
    """A fetch to another port without CORS headers reaches the server, then rejects in the page."""
    api, seen = _recording_api(allow_origin=False)
    origins = two_origins(api)
    page.goto(origins.page.url)

    result = browser_fetch(page, origins.api.url + "/data")

    assert result == {"error": "TypeError: Failed to fetch"}
    assert seen == [origins.page.origin]


@pytest.mark.browser
def test_cross_origin_fetch_with_allow_origin_succeeds(
    page: Page, two_origins: ServeTwoOrigins
) -> None:
    """A cross-origin fetch answered with ``access-control-allow-origin: <origin>`` resolves."""
    api, seen = _recording_api(allow_origin=True)
    origins = two_origins(api)
    page.goto(origins.page.url)

    result = browser_fetch(page, origins.api.url + "/data", {"method": "GET"})

    assert (result["ok"], result["status"], result["body"]) == (True, 200, "api body")
    # The page reads the CORS-safelisted headers only, not uvicorn's ``server`` header.
    assert result["headers"]["content-type"] == "text/plain"
    assert "server" not in result["headers"]
    assert seen == [origins.page.origin]


@pytest.mark.browser
def test_no_running_loop_outside_browser_tests(request: pytest.FixtureRequest) -> None:
    """Once the browser is up, code outside browser tests can still start an event loop."""
    request.getfixturevalue("browser")

    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert asyncio.run(answer()) == 42
