"""The HTTPS-redirect samples (docs/examples/https_redirect_*.py) do what its page says."""

from __future__ import annotations

import pytest

from tests.support.asgi import asgi_client
from tests.support.samples import app_of, load

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("sibling_imports")]


async def test_basic_sample_redirects_with_308_to_the_https_port() -> None:
    """https_redirect_basic: 308 to the HTTPS port, path and query kept."""
    async with asgi_client(
        app_of(load("https_redirect_basic")), base_url="http://localhost:8000"
    ) as client:
        response = await client.get("/orders?page=2")

    assert response.status_code == 308
    assert response.headers["location"] == "https://localhost:8443/orders?page=2"


async def test_basic_sample_serves_the_health_check_over_http() -> None:
    """https_redirect_basic: ``/health`` is excluded, so it is served over plain HTTP."""
    async with asgi_client(app_of(load("https_redirect_basic"))) as client:
        response = await client.get("/health")

    assert (response.status_code, response.text) == (200, "ok")


async def test_basic_sample_serves_https() -> None:
    """https_redirect_basic: over HTTPS the endpoint answers."""
    async with asgi_client(
        app_of(load("https_redirect_basic")), base_url="https://localhost"
    ) as client:
        response = await client.get("/orders")

    assert response.text == "orders, over https"


@pytest.mark.parametrize(
    ("base_url", "status", "location"),
    [
        ("http://example.com", 307, "https://example.com/"),
        ("http://evil.example", 400, None),
        ("https://example.com", 200, None),
        ("https://evil.example", 400, None),
    ],
)
async def test_stack_sample_refuses_before_it_redirects(
    base_url: str, status: int, location: str | None
) -> None:
    """https_redirect_stack: an unknown host gets 400, never a redirect; HTTPS passes."""
    async with asgi_client(app_of(load("https_redirect_stack")), base_url=base_url) as client:
        response = await client.get("/")

    assert response.status_code == status
    assert response.headers.get("location") == location


async def test_migration_sample_drops_the_http_port() -> None:
    """https_redirect_migration: Starlette keeps ``:8080``; ours sends the HTTPS default port."""
    module = load("https_redirect_migration")
    locations = []
    for name in ("before_app", "app"):
        async with asgi_client(app_of(module, name), base_url="http://example.com:8080") as client:
            locations.append((await client.get("/a?b=1")).headers["location"])

    assert locations == ["https://example.com:8080/a?b=1", "https://example.com/a?b=1"]
