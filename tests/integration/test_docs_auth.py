"""The authentication page's examples (docs/examples/auth_*.py), run as the page shows them.

Those that need a real server (a WebSocket, a JWKS provider): tests/live/test_docs_live.py.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from asgi_middleware import ASGIApp
from tests.support.asgi import asgi_client
from tests.support.auth_apps import basic
from tests.support.samples import app_of, load

# --- auth_bearer ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_bearer_example_greets_the_token_user(monkeypatch: pytest.MonkeyPatch) -> None:
    """auth_bearer: the token from API_TOKEN is accepted and greeted by its user name."""
    monkeypatch.setenv("API_TOKEN", "docs-token-1")
    async with asgi_client(app_of(load("auth_bearer"))) as client:
        response = await client.get("/", headers={"Authorization": "Bearer docs-token-1"})

    assert (response.status_code, response.text) == (200, "Hello, token-0!\n")


@pytest.mark.anyio
async def test_bearer_example_refuses_without_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """auth_bearer: without API_TOKEN nobody gets in, not even with an empty-looking token."""
    monkeypatch.delenv("API_TOKEN", raising=False)
    async with asgi_client(app_of(load("auth_bearer"))) as client:
        response = await client.get("/", headers={"Authorization": "Bearer None"})

    assert response.status_code == 401


@pytest.mark.anyio
async def test_bearer_example_health_is_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """auth_bearer: /health is excluded, so the app answers it for an anonymous caller."""
    monkeypatch.setenv("API_TOKEN", "docs-token-1")
    async with asgi_client(app_of(load("auth_bearer"))) as client:
        response = await client.get("/health")

    assert (response.status_code, response.text) == (200, "Hello, !\n")


# --- auth_starlette ---------------------------------------------------------------------------


@pytest.fixture
def starlette_app(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """The Starlette example with known secrets."""
    monkeypatch.setenv("ADMIN_PASSWORD", "correct horse")
    monkeypatch.setenv("DEPLOY_TOKEN", "deploy-123")
    return app_of(load("auth_starlette"))


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (basic("admin", "correct horse"), {"user": "admin", "scopes": ["read"]}),
        (
            {"Authorization": "Bearer deploy-123"},
            {"user": "ci-pipeline", "scopes": ["read", "deploy"]},
        ),
    ],
    ids=["basic", "bearer"],
)
async def test_starlette_example_profile(
    starlette_app: ASGIApp, headers: dict[str, str], expected: dict[str, Any]
) -> None:
    """auth_starlette: people log in with Basic, the pipeline with its token."""
    async with asgi_client(starlette_app) as client:
        response = await client.get("/me", headers=headers)

    assert response.json() == {"authenticated": True, **expected}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (basic("admin", "correct horse"), 403),
        ({"Authorization": "Bearer deploy-123"}, 200),
        ({}, 401),
    ],
    ids=["person", "pipeline", "anonymous"],
)
async def test_starlette_example_deploy_needs_scope(
    starlette_app: ASGIApp, headers: dict[str, str], status: int
) -> None:
    """auth_starlette: @requires("deploy") lets only the pipeline deploy."""
    async with asgi_client(starlette_app) as client:
        response = await client.post("/deploy", headers=headers)

    assert response.status_code == status


@pytest.mark.anyio
async def test_starlette_example_challenges_both(starlette_app: ASGIApp) -> None:
    """auth_starlette: an anonymous 401 offers the Basic and the Bearer challenge."""
    async with asgi_client(starlette_app) as client:
        response = await client.get("/me")

    assert response.headers.get_list("www-authenticate") == [
        'Basic realm="api", charset="UTF-8"',
        'Bearer realm="api"',
    ]


@pytest.mark.anyio
async def test_starlette_example_health_is_public(starlette_app: ASGIApp) -> None:
    """auth_starlette: /health answers without credentials."""
    async with asgi_client(starlette_app) as client:
        response = await client.get("/health")

    assert (response.status_code, response.text) == (200, "ok\n")


# --- auth_fastapi -----------------------------------------------------------------------------


@pytest.fixture
def fastapi_app(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """The FastAPI example with two keys."""
    monkeypatch.setenv("API_KEYS", "key-a,key-b")
    return app_of(load("auth_fastapi"))


@pytest.mark.anyio
async def test_fastapi_example_items(fastapi_app: ASGIApp) -> None:
    """auth_fastapi: a key from API_KEYS reads the items as its user."""
    async with asgi_client(fastapi_app) as client:
        response = await client.get("/items", headers={"X-API-Key": "key-b"})

    assert response.json() == {"owner": "key-1", "items": []}


@pytest.mark.anyio
@pytest.mark.parametrize(("headers", "status"), [({"X-API-Key": "key-a"}, 403), ({}, 401)])
async def test_fastapi_example_delete_needs_write(
    fastapi_app: ASGIApp, headers: dict[str, str], status: int
) -> None:
    """auth_fastapi: keys grant items:read only, so deleting is 403; no key is 401."""
    async with asgi_client(fastapi_app) as client:
        response = await client.delete("/items/3", headers=headers)

    assert response.status_code == status


@pytest.mark.anyio
async def test_fastapi_example_openapi_has_authorize_schemes(fastapi_app: ASGIApp) -> None:
    """auth_fastapi: /openapi.json is public and declares both schemes (the Authorize button)."""
    async with asgi_client(fastapi_app) as client:
        schema = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")

    assert schema["components"]["securitySchemes"] == {
        "HTTPBearer": {"type": "http", "scheme": "bearer"},
        "APIKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    }
    assert docs.status_code == 200


# --- auth_requires ----------------------------------------------------------------------------


@pytest.fixture
def requires_example(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The requires example with known secrets."""
    monkeypatch.setenv("ADMIN_PASSWORD", "correct horse")
    monkeypatch.setenv("DEPLOY_TOKEN", "deploy-123")
    monkeypatch.setenv("EDITOR_TOKEN", "editor-123")
    monkeypatch.setenv("VIEWER_TOKEN", "viewer-123")
    return load("auth_requires")


@pytest.mark.anyio
async def test_requires_example_home_is_public(requires_example: ModuleType) -> None:
    """auth_requires: anonymous users reach the public page."""
    async with asgi_client(app_of(requires_example)) as client:
        response = await client.get("/")

    assert (response.status_code, response.text) == (200, "Hello, guest!\n")


@pytest.mark.anyio
async def test_requires_example_account_asks_anonymous_users_to_log_in(
    requires_example: ModuleType,
) -> None:
    """auth_requires: @requires() answers anonymous users 401 with both challenges."""
    async with asgi_client(app_of(requires_example)) as client:
        anonymous = await client.get("/account")
        admin = await client.get("/account", headers=basic("admin", "correct horse"))

    assert anonymous.status_code == 401
    assert anonymous.headers.get_list("www-authenticate") == [
        'Basic realm="api", charset="UTF-8"',
        'Bearer realm="api"',
    ]
    assert (admin.status_code, admin.text) == (200, "Signed in as admin\n")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("headers", "status", "challenges"),
    [
        ({"Authorization": "Bearer deploy-123"}, 200, []),
        (basic("admin", "correct horse"), 403, []),
        ({}, 401, ['Basic realm="api", charset="UTF-8"', 'Bearer realm="api"']),
    ],
    ids=["pipeline", "person", "anonymous"],
)
async def test_requires_example_deploy_needs_the_scope(
    requires_example: ModuleType, headers: dict[str, str], status: int, challenges: list[str]
) -> None:
    """auth_requires: only the pipeline's token (mapped to its name) has the deploy scope."""
    async with asgi_client(app_of(requires_example)) as client:
        response = await client.post("/deploy", headers=headers)

    assert response.status_code == status
    assert response.headers.get_list("www-authenticate") == challenges


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("headers", "status", "body", "challenge"),
    [
        ({"Authorization": "Bearer editor-123"}, 200, {"deleted": 7, "by": "ed"}, None),
        (
            {"Authorization": "Bearer viewer-123"},
            403,
            {"detail": "Insufficient scope"},
            'Bearer realm="api", error="insufficient_scope", scope="items:write"',
        ),
        ({}, 401, {"detail": "Authentication required"}, 'Bearer realm="api"'),
    ],
    ids=["editor", "viewer", "anonymous"],
)
async def test_requires_example_fastapi_delete(
    requires_example: ModuleType,
    headers: dict[str, str],
    status: int,
    body: dict[str, Any],
    challenge: str | None,
) -> None:
    """auth_requires: the FastAPI route answers 401/403 as JSON, with the bearer challenges."""
    async with asgi_client(app_of(requires_example, "api")) as client:
        public = await client.get("/items")
        response = await client.delete("/items/7", headers=headers)

    assert public.json() == {"items": [], "viewer": None}
    assert (response.status_code, response.json()) == (status, body)
    assert response.headers.get("www-authenticate") == challenge


# --- auth_custom ------------------------------------------------------------------------------


@pytest.fixture
def custom(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The custom-backend example with a known key."""
    monkeypatch.setenv("SESSION_KEY", "docs-session-key")
    return load("auth_custom")


@pytest.mark.anyio
async def test_custom_example_signed_cookie(custom: ModuleType) -> None:
    """auth_custom: a correctly signed session cookie logs the user in."""
    cookie = custom.sessions.sign("grace")
    async with asgi_client(custom.app) as client:
        response = await client.get("/", headers={"Cookie": f"theme=dark; session={cookie}"})

    assert (response.status_code, response.text) == (200, "Hello, grace!\n")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("cookie", "status", "challenge"),
    [
        ("session=grace.0000", 401, 'Session realm="app"'),
        ("theme=dark", 401, 'Session realm="app"'),
    ],
    ids=["forged", "none"],
)
async def test_custom_example_refusals(
    custom: ModuleType, cookie: str, status: int, challenge: str
) -> None:
    """auth_custom: forged or missing sessions get a text 401 with the custom challenge."""
    async with asgi_client(custom.app) as client:
        response = await client.get("/", headers={"Cookie": cookie})

    assert response.status_code == status
    assert response.headers["www-authenticate"] == challenge
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
