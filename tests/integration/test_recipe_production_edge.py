"""The production-edge recipe (docs/examples/recipe_production_edge.py) does what its page says."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import structlog

from tests.support.samples import load

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("sibling_imports")]

#: What nginx adds to a request that reached it over HTTPS from 203.0.113.9.
FORWARDED = {"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"}


@pytest.fixture
def recipe() -> Any:
    """The recipe module, loaded as written."""
    return load("recipe_production_edge")


@pytest.fixture
async def public(recipe: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a fresh app, as nginx on 127.0.0.1 forwards it under the public name."""
    transport = httpx.ASGITransport(app=recipe.create_app())
    async with httpx.AsyncClient(
        transport=transport, base_url=f"http://{recipe.PUBLIC_HOST}", headers=FORWARDED
    ) as client:
        yield client


async def test_an_authenticated_request_passes_every_layer(
    recipe: Any, public: httpx.AsyncClient
) -> None:
    """200 with every layer's mark, logged under the client nginx saw, not nginx's address."""
    with structlog.testing.capture_logs() as events:
        response = await public.get(
            "/api/orders/7",
            headers={"authorization": f"Bearer {recipe.TOKEN}", "accept-encoding": "gzip"},
        )
    assert response.status_code == 200
    assert response.json()["user"] == "edge-user"
    headers = response.headers
    assert headers["content-encoding"] == "gzip"
    assert headers["strict-transport-security"] == "max-age=31536000"
    assert "'nonce-" in headers["content-security-policy"]
    assert headers["ratelimit-policy"] == '"api";q=20;w=1'
    assert headers["server-timing"].startswith("app;dur=")
    [event] = [event for event in events if event["event"] == "http_request"]
    assert (event["client"], event["request_id"]) == ("203.0.113.9", headers["x-request-id"])


async def test_the_spa_reads_a_refusal(recipe: Any, public: httpx.AsyncClient) -> None:
    """An anonymous call from the SPA gets a 401 its code can read: CORS, ID, challenge."""
    response = await public.get("/api/orders/7", headers={"origin": recipe.SPA_ORIGIN})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == recipe.SPA_ORIGIN
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    assert "x-request-id" in response.headers["access-control-expose-headers"]


async def test_plain_http_is_redirected_to_the_public_https_url(public: httpx.AsyncClient) -> None:
    """A request nginx received over plain HTTP gets a 308 to the same URL over HTTPS."""
    response = await public.get("/api/orders/7?x=1", headers={"x-forwarded-proto": "http"})
    assert response.status_code == 308
    assert response.headers["location"] == "https://api.example.com/api/orders/7?x=1"


async def test_a_foreign_host_is_refused(public: httpx.AsyncClient) -> None:
    """A Host the service does not serve gets a 400 that still carries the security headers."""
    response = await public.get("/api/orders/7", headers={"host": "evil.example"})
    assert (response.status_code, response.text) == (400, "Invalid host header")
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_bodies_are_limited_per_path(recipe: Any, public: httpx.AsyncClient) -> None:
    """2 MiB is over the 1 MiB default, and within the upload path's own 16 MiB."""
    token = {"authorization": f"Bearer {recipe.TOKEN}"}
    body = b"x" * (2 * 1024 * 1024)
    refused = await public.post("/api/orders/7", content=body, headers=token)
    uploaded = await public.post("/api/upload", content=body, headers=token)
    assert refused.status_code == 413
    assert uploaded.json() == {"bytes": len(body)}


async def test_a_hanging_query_gets_a_504(recipe: Any, public: httpx.AsyncClient) -> None:
    """The report endpoint's 0.5 s timeout answers 504, logged as such."""
    with structlog.testing.capture_logs() as events:
        response = await public.get(
            "/api/report", headers={"authorization": f"Bearer {recipe.TOKEN}"}
        )
    assert (response.status_code, response.text) == (504, "Gateway Timeout")
    assert [event["status"] for event in events if event["event"] == "http_request"] == [504]


async def test_local_health_checks_and_metrics_pass_over_plain_http(recipe: Any) -> None:
    """From the host itself (127.0.0.1, no proxy headers): /healthz and /metrics answer."""
    transport = httpx.ASGITransport(app=recipe.create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as local:
        health = await local.get("/healthz")
        metrics = await local.get("/metrics")
    assert health.json() == {"status": "ok"}
    assert 'http_route="/healthz"' in metrics.text
    assert 'http_route="/metrics"' not in metrics.text


async def test_clients_over_the_limit_get_429(recipe: Any, public: httpx.AsyncClient) -> None:
    """Anonymous clients are limited by address: 40 at once, then 20 a second, then 429."""
    began = time.monotonic()
    statuses = [(await public.get("/healthz")).status_code for _ in range(80)]
    elapsed = time.monotonic() - began
    refused = statuses.index(429)
    # The first 40 pass at once; GCRA's bound then lets 20 more through per second elapsed.
    assert 40 <= statuses.count(200) <= 40 + int(elapsed * 20) + 1
    assert set(statuses[:40]) == {200}
    assert refused >= 40
