"""The CORS page's examples (docs/examples/cors_*): each one does what the page says.

The WebSocket example under a real server: tests/live/test_docs_live.py; the SPA recipe in
Chromium: tests/browser/test_docs_browser.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from asgi_middleware import ASGIApp, CORSMiddleware
from tests.support.asgi import asgi_client
from tests.support.samples import load

SPA = "https://app.example.com"
PREFLIGHT = {"origin": SPA, "access-control-request-method": "POST"}


def app_of(name: str, attribute: str = "app") -> Any:
    """An attribute (by default the app) of an example module, loaded afresh."""
    return vars(load(name))[attribute]


# --- cors_basic --------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (SPA, True),
        ("https://pr-42.preview.example.com", True),
        ("https://preview.example.com", False),
        ("https://evil.example", False),
    ],
)
async def test_basic_allows_listed_and_wildcard_origins(origin: str, allowed: bool) -> None:
    """cors_basic: the exact origin and preview subdomains read the answer; others do not."""
    async with asgi_client(app_of("cors_basic")) as client:
        response = await client.get("/", headers={"origin": origin})

    assert response.json() == {"hello": "world"}
    assert response.headers.get("access-control-allow-origin") == (origin if allowed else None)
    assert response.headers.get("access-control-expose-headers") == ("x-total" if allowed else None)
    assert response.headers["vary"] == "Origin"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://eu.app.example.com", True),
        ("https://shop.customer.example", True),
        ("https://xx.app.example.com", False),
    ],
)
async def test_basic_regex_and_check(origin: str, allowed: bool) -> None:
    """cors_basic: the tenant app allows by regex and by the callable check."""
    async with asgi_client(app_of("cors_basic", "tenant_app")) as client:
        response = await client.get("/", headers={"origin": origin})

    assert ("access-control-allow-origin" in response.headers) is allowed


@pytest.mark.anyio
async def test_basic_private_network_preflight() -> None:
    """cors_basic: the device app answers a Private Network Access preflight."""
    headers = {
        "origin": "https://setup.example.com",
        "access-control-request-method": "GET",
        "access-control-request-private-network": "true",
    }
    async with asgi_client(app_of("cors_basic", "device_app")) as client:
        response = await client.options("/", headers=headers)

    assert response.status_code == 200
    assert response.headers["access-control-allow-private-network"] == "true"


# --- cors_starlette ----------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("attribute", ["added", "api", "app"])
async def test_starlette_migration_preflight(attribute: str) -> None:
    """cors_starlette: every way of adding the middleware answers the SPA's preflight."""
    async with asgi_client(app_of("cors_starlette", attribute)) as client:
        response = await client.options(
            "/items", headers={**PREFLIGHT, "access-control-request-method": "GET"}
        )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SPA
    assert response.headers["access-control-allow-credentials"] == "true"


@pytest.mark.anyio
@pytest.mark.parametrize(("attribute", "carried"), [("app", True), ("added", False)])
async def test_starlette_500_carries_cors_only_when_composed(attribute: str, carried: bool) -> None:
    """cors_starlette: the composed app's 500 has CORS headers; add_middleware's has none."""
    app = app_of("cors_starlette", attribute)
    async with asgi_client(app, raise_app_exceptions=False) as client:
        response = await client.get("/boom", headers={"origin": SPA})

    assert response.status_code == 500
    assert ("access-control-allow-origin" in response.headers) is carried


def test_starlette_migration_changes_only_the_import() -> None:
    """cors_starlette: the class used is ours, under Starlette's option names."""
    module = load("cors_starlette")

    assert module.CORSMiddleware is CORSMiddleware
    assert [m.cls for m in module.added.user_middleware] == [CORSMiddleware]


# --- cors_spa_cookies --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_spa_recipe_in_process() -> None:
    """cors_spa_cookies: preflight, sign-in, a cookie-carrying call, then sign-out."""
    app: ASGIApp = load("cors_spa_cookies").create_app(secure_cookie=False)
    origin = {"origin": SPA}
    async with asgi_client(app) as client:
        preflight = await client.options(
            "/login", headers={**PREFLIGHT, "access-control-request-headers": "content-type"}
        )
        login = await client.post("/login", json={"user": "ada"}, headers=origin)
        me = await client.get("/me", headers=origin)
        await client.post("/logout", headers=origin)
        after = await client.get("/me", headers=origin)

    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert login.headers["access-control-allow-origin"] == SPA
    assert "httponly" in login.headers["set-cookie"].lower()
    assert (me.json(), me.headers["access-control-allow-credentials"]) == ({"user": "ada"}, "true")
    assert after.status_code == 401


@pytest.mark.anyio
async def test_spa_recipe_refuses_other_origins() -> None:
    """cors_spa_cookies: another origin's preflight fails and its calls carry no CORS headers."""
    app = app_of("cors_spa_cookies")
    async with asgi_client(app) as client:
        preflight = await client.options("/login", headers={**PREFLIGHT, "origin": "https://x.io"})
        me = await client.get("/me", headers={"origin": "https://x.io"})

    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in me.headers
