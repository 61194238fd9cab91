"""``TimingMiddleware`` with Starlette and FastAPI, through httpx in process.

The same Starlette app under a real uvicorn: tests/live/test_timing_live.py; in Chromium:
tests/browser/test_timing_browser.py.
"""

from __future__ import annotations

import re

import anyio
import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware

from asgi_middleware import TimingMiddleware, compose, record_timing
from asgi_middleware.timing import TimingResult, timed
from tests.support.asgi import asgi_client
from tests.support.timing_apps import OWN, entries, starlette_app

pytestmark = pytest.mark.anyio


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
