"""``TimingMiddleware`` with Starlette and FastAPI, under a real uvicorn and in a real browser."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import anyio
import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route

from asgi_middleware import TimingMiddleware, compose, record_timing
from asgi_middleware.timing import TimingResult, timed
from tests.support.asgi import asgi_client
from tests.support.servers import ServeApp, html_page_app

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.anyio

# The middleware's own metric, whatever the duration.
OWN = re.compile(r"app;dur=\d+\.\d{3}")


def starlette_app() -> Starlette:
    """A Starlette app whose endpoints record metrics, async and sync (thread pool)."""

    async def orders(request: Request) -> JSONResponse:
        record_timing("db", 3.2, "orders query")
        return JSONResponse({"orders": []})

    def report(request: Request) -> PlainTextResponse:  # sync: runs in Starlette's thread pool
        with timed("render"):
            text = "report"
        return PlainTextResponse(text)

    async def stream(request: Request) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for index in range(3):
                await anyio.sleep(0.05)
                yield f"chunk {index}\n".encode()

        return StreamingResponse(chunks(), media_type="text/plain")

    async def public(request: Request) -> JSONResponse:
        # Readable by any page (a CORS response), as an SPA's API calls are.
        record_timing("db", 1.5, "public query")
        return JSONResponse({"public": True}, headers={"access-control-allow-origin": "*"})

    async def boom(request: Request) -> PlainTextResponse:
        raise RuntimeError("boom")

    return Starlette(
        routes=[
            Route("/orders", orders),
            Route("/report", report),
            Route("/stream", stream),
            Route("/public", public),
            Route("/boom", boom),
        ]
    )


def fastapi_app() -> FastAPI:
    """A FastAPI app recording metrics from a dependency and a decorated helper."""
    app = FastAPI()

    @timed("compute", "price calculation")
    async def compute(quantity: int) -> float:
        await anyio.lowlevel.checkpoint()
        return quantity * 9.5

    async def current_user() -> str:
        record_timing("auth", 0.4)
        return "ada"

    @app.get("/price")
    async def price(quantity: int, user: str = Depends(current_user)) -> dict[str, object]:
        return {"user": user, "total": await compute(quantity)}

    return app


def entries(value: str) -> list[str]:
    """Split a Server-Timing value made of our own (unquoted-comma-free) entries."""
    return [entry.strip() for entry in value.split(",")]


async def test_starlette_endpoint_metric_in_header() -> None:
    """An async Starlette endpoint's ``record_timing`` shows up before the middleware's entry."""
    async with asgi_client(TimingMiddleware(starlette_app())) as client:
        response = await client.get("/orders")
    assert response.status_code == 200
    [value] = response.headers.get_list("server-timing")
    db, own = entries(value)
    assert db == 'db;dur=3.200;desc="orders query"'
    assert OWN.fullmatch(own)


async def test_starlette_sync_endpoint_metric_in_header() -> None:
    """A sync endpoint, run in the thread pool, records into the same request."""
    async with asgi_client(TimingMiddleware(starlette_app())) as client:
        response = await client.get("/report")
    render, own = entries(response.headers["server-timing"])
    assert re.fullmatch(r"render;dur=\d+\.\d{3}", render)
    assert OWN.fullmatch(own)


async def test_starlette_middleware_list_form() -> None:
    """``Middleware(TimingMiddleware, ...)`` in Starlette's list works with the same options."""
    app = Starlette(
        routes=starlette_app().routes,
        middleware=[Middleware(TimingMiddleware, metric_name="total", process_time_header=True)],
    )
    async with asgi_client(app) as client:
        response = await client.get("/orders")
    assert entries(response.headers["server-timing"])[1].startswith("total;dur=")
    assert float(response.headers["x-process-time"]) >= 0


async def test_starlette_500_reported_to_callback() -> None:
    """An unhandled exception: Starlette's 500 goes out and the callback sees status 500."""
    results: list[TimingResult] = []
    app = TimingMiddleware(starlette_app(), callback=results.append)
    async with asgi_client(app, raise_app_exceptions=False) as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert [(result.status, result.scope["path"]) for result in results] == [(500, "/boom")]


async def test_fastapi_dependency_and_decorated_helper_metrics() -> None:
    """FastAPI: a dependency's ``record_timing`` and an ``@timed`` helper are both in the header."""
    app = compose(fastapi_app(), TimingMiddleware)
    async with asgi_client(app) as client:
        response = await client.get("/price", params={"quantity": 2})
    assert response.json() == {"user": "ada", "total": 19.0}
    auth, compute, own = entries(response.headers["server-timing"])
    assert auth == "auth;dur=0.400"
    assert re.fullmatch(r'compute;dur=\d+\.\d{3};desc="price calculation"', compute)
    assert OWN.fullmatch(own)


async def test_fastapi_add_middleware_replaces_the_process_time_recipe() -> None:
    """``add_middleware`` with ``process_time_header=True`` gives the recipe's header (seconds)."""
    app = fastapi_app()
    app.add_middleware(TimingMiddleware, server_timing=False, process_time_header=True)
    async with asgi_client(app) as client:
        response = await client.get("/price", params={"quantity": 1})
    assert "server-timing" not in response.headers
    assert 0 <= float(response.headers["x-process-time"]) < 5


def wait_for(results: list[TimingResult]) -> None:
    """Wait until the server thread has called back: it does so after the client got its bytes."""
    deadline = time.monotonic() + 5
    while not results and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.server
def test_server_timing_arrives_under_uvicorn(live_server: ServeApp) -> None:
    """Under a real uvicorn, the header reaches the client next to the server's own headers."""
    server = live_server(TimingMiddleware(starlette_app(), timing_allow_origin="*"))
    with server.client() as client:
        response = client.get("/orders")
    assert response.status_code == 200
    db, own = entries(response.headers["server-timing"])
    assert db == 'db;dur=3.200;desc="orders query"'
    assert OWN.fullmatch(own)
    assert response.headers["timing-allow-origin"] == "*"
    assert "date" in response.headers  # uvicorn's own headers are still there


@pytest.mark.server
def test_streamed_response_total_covers_every_chunk(live_server: ServeApp) -> None:
    """Under uvicorn, a streamed response's total includes the chunks; the header has the ttfb."""
    results: list[TimingResult] = []
    server = live_server(TimingMiddleware(starlette_app(), callback=results.append))
    with server.client() as client:
        response = client.get("/stream")
        wait_for(results)
    assert response.text == "chunk 0\nchunk 1\nchunk 2\n"
    [result] = results
    header_ttfb = float(OWN.findall(response.headers["server-timing"])[0].split("=")[1])
    assert result.completed
    assert result.ttfb_ms is not None
    assert result.ttfb_ms == pytest.approx(header_ttfb, abs=0.001)
    assert result.total_ms - result.ttfb_ms >= 100  # three chunks, 50 ms apart, after the start


@pytest.mark.server
def test_uvicorn_500_still_calls_back(
    live_server: ServeApp, caplog: pytest.LogCaptureFixture
) -> None:
    """Under uvicorn, an app exception is re-raised to the server and still reported as 500."""
    results: list[TimingResult] = []
    server = live_server(TimingMiddleware(starlette_app(), callback=results.append))
    with caplog.at_level(logging.CRITICAL, logger="uvicorn.error"), server.client() as client:
        response = client.get("/boom")  # uvicorn logs the exception; that is expected here
        wait_for(results)
    assert response.status_code == 500
    assert [(result.status, result.completed) for result in results] == [(500, True)]


SERVER_TIMING_JS = """
async (url) => {
    // A CORS fetch, as an SPA makes: reading the body needs CORS, reading timings needs TAO.
    await (await fetch(url, {cache: "no-store"})).json();
    // The Resource Timing entry is added once the body has arrived, a moment after fetch resolves.
    for (let attempt = 0; attempt < 250; attempt++) {
        const [entry] = performance.getEntriesByName(url);
        if (entry) {
            return entry.serverTiming.map((metric) => [metric.name, metric.description]);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return "no resource timing entry";
}
"""


@pytest.mark.browser
@pytest.mark.parametrize(
    ("allow", "visible"),
    [("page", True), ("other", False), (None, False)],
    ids=["page-origin-allowed", "other-origin-allowed", "no-timing-allow-origin"],
)
def test_browser_sees_server_timing_only_with_timing_allow_origin(
    page: Page, live_server: ServeApp, allow: str | None, visible: bool
) -> None:
    """Chromium shows a cross-origin response's Server-Timing only to an origin it lists."""
    page_server = live_server(html_page_app())
    allowed = {"page": [page_server.origin], "other": ["https://other.example"], None: None}
    api = live_server(
        TimingMiddleware(
            starlette_app(), metric_description="handler", timing_allow_origin=allowed[allow]
        )
    )
    page.goto(page_server.url)
    metrics = page.evaluate(SERVER_TIMING_JS, api.url + "/public")
    assert metrics == ([["db", "public query"], ["app", "handler"]] if visible else [])
