"""``requires`` in Starlette and FastAPI endpoints: 401 with the middleware's challenges, 403."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi import WebSocket as FastAPIWebSocket
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from asgi_middleware import ASGIApp, requires
from asgi_middleware.auth import (
    AuthCredentials,
    AuthenticationMiddleware,
    AuthResult,
    BasicAuthBackend,
    BearerTokenBackend,
    SimpleUser,
    UnauthenticatedUser,
)
from asgi_middleware.auth._refusal import SCOPE_KEY, AuthContext, Refuser
from tests.support.asgi import asgi_client, run, websocket_scope

pytestmark = pytest.mark.anyio

BASIC = 'Basic realm="api", charset="UTF-8"'
BEARER = 'Bearer realm="api"'
TOKENS: dict[str, str | AuthResult] = {
    "reader-token": "reader",
    "admin-token": AuthResult(AuthCredentials(["read", "admin"]), SimpleUser("root")),
}


def auth(token: str) -> dict[str, str]:
    """Request headers carrying a bearer token."""
    return {"Authorization": f"Bearer {token}"}


def basic_ada() -> dict[str, str]:
    """Request headers carrying Basic credentials for ``ada:pw``."""
    return {"Authorization": "Basic YWRhOnB3"}


def backends() -> list[Any]:
    """Basic for people, bearer tokens for machines: two challenges without credentials."""
    return [
        BasicAuthBackend(users={"ada": "pw"}, scopes=["read"]),
        BearerTokenBackend(tokens=TOKENS, scopes=["read"]),
    ]


# --- Starlette ----------------------------------------------------------------------------------


@requires("admin")
async def admin(request: Request) -> JSONResponse:
    """Only for the admin scope."""
    return JSONResponse({"admin": request.user.display_name})


@requires()
def profile(request: Request) -> PlainTextResponse:
    """A sync endpoint for any authenticated user."""
    return PlainTextResponse(request.user.display_name)


@requires(["read"])
async def feed(websocket: WebSocket) -> None:
    """A WebSocket for the read scope."""
    await websocket.accept()
    await websocket.send_text(websocket.user.display_name)
    await websocket.close()


ROUTES = [Route("/admin", admin), Route("/me", profile), WebSocketRoute("/ws", feed)]


def starlette_app(**options: Any) -> ASGIApp:
    """A Starlette app behind our middleware in anonymous mode."""
    options.setdefault("backend", backends())
    options.setdefault("allow_anonymous", True)
    return AuthenticationMiddleware(Starlette(routes=ROUTES), **options)


async def test_starlette_anonymous_gets_401_with_the_middlewares_challenges() -> None:
    """An anonymous user: 401 with every challenge the middleware sends, one line each."""
    async with asgi_client(starlette_app()) as client:
        response = await client.get("/admin")

    assert response.status_code == 401
    assert response.headers.get_list("www-authenticate") == [BASIC, BEARER]
    assert response.text == "Authentication required"


async def test_starlette_anonymous_gets_the_401_the_middleware_sends() -> None:
    """The endpoint's 401 carries the very challenges of the middleware's own 401."""
    async with asgi_client(starlette_app()) as client:
        from_endpoint = await client.get("/admin")
    async with asgi_client(starlette_app(allow_anonymous=False)) as client:
        from_middleware = await client.get("/admin")

    expected = from_middleware.headers.get_list("www-authenticate")
    assert from_endpoint.headers.get_list("www-authenticate") == expected


async def test_starlette_sync_endpoint_is_checked() -> None:
    """A sync endpoint is refused to anonymous users and served to authenticated ones."""
    async with asgi_client(starlette_app()) as client:
        anonymous = await client.get("/me")
        reader = await client.get("/me", headers=auth("reader-token"))

    assert anonymous.status_code == 401
    assert (reader.status_code, reader.text) == (200, "reader")


async def test_starlette_missing_scope_is_403_insufficient_scope() -> None:
    """A bearer token without the scope: 403 with ``insufficient_scope`` and the scope."""
    async with asgi_client(starlette_app()) as client:
        response = await client.get("/admin", headers=auth("reader-token"))

    assert response.status_code == 403
    assert response.headers.get_list("www-authenticate") == [
        'Bearer realm="api", error="insufficient_scope", scope="admin"'
    ]
    assert response.text == "Insufficient scope"


async def test_starlette_missing_scope_for_basic_has_no_challenge() -> None:
    """Basic defines no scope error, so its 403 carries no WWW-Authenticate."""
    async with asgi_client(starlette_app()) as client:
        response = await client.get("/admin", headers=basic_ada())

    assert response.status_code == 403
    assert "www-authenticate" not in response.headers


async def test_starlette_scope_present_passes() -> None:
    """A token with the scope reaches the endpoint."""
    async with asgi_client(starlette_app()) as client:
        response = await client.get("/admin", headers=auth("admin-token"))

    assert (response.status_code, response.json()) == (200, {"admin": "root"})


async def test_insufficient_scope_names_the_middlewares_required_scopes_too() -> None:
    """The 403 challenge names every scope the resource needs, the middleware's first."""
    tokens = {"t": AuthResult(AuthCredentials(["api"]), SimpleUser("u"))}
    app = starlette_app(
        backend=BearerTokenBackend(tokens=tokens), allow_anonymous=False, required_scopes=["api"]
    )
    async with asgi_client(app) as client:
        response = await client.get("/admin", headers=auth("t"))

    assert response.headers["www-authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", scope="api admin"'
    )


async def test_excluded_path_endpoint_gets_401() -> None:
    """On an excluded path the user is anonymous, and ``requires`` still answers 401."""
    async with asgi_client(starlette_app(allow_anonymous=False, exclude_paths=["/me"])) as client:
        response = await client.get("/me")

    assert response.status_code == 401
    assert response.headers.get_list("www-authenticate") == [BASIC, BEARER]


# --- WebSocket ----------------------------------------------------------------------------------


async def test_websocket_anonymous_gets_the_401_response() -> None:
    """With the denial extension, an anonymous WebSocket gets the JSON 401 with challenges."""
    scope = websocket_scope(path="/ws", extensions={"websocket.http.response": {}})

    messages = await run(starlette_app(), scope)

    content = b'{"detail":"Authentication required"}'
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        (b"www-authenticate", BASIC.encode()),
        (b"www-authenticate", BEARER.encode()),
    ]
    assert messages == [
        {"type": "websocket.http.response.start", "status": 401, "headers": headers},
        {"type": "websocket.http.response.body", "body": content, "more_body": False},
    ]


async def test_websocket_anonymous_without_extension_is_closed_1008() -> None:
    """Without the extension the WebSocket is closed with 1008 before it is accepted."""
    messages = await run(starlette_app(), websocket_scope(path="/ws"))

    assert messages == [
        {"type": "websocket.close", "code": 1008, "reason": "Authentication required"}
    ]


async def test_websocket_with_the_scope_is_served() -> None:
    """A WebSocket whose token has the scope reaches the endpoint."""
    scope = websocket_scope(path="/ws", headers=[("Authorization", "Bearer reader-token")])

    messages = await run(starlette_app(), scope)

    assert [message["type"] for message in messages] == [
        "websocket.accept",
        "websocket.send",
        "websocket.close",
    ]


def fastapi_websocket_app() -> ASGIApp:
    """A FastAPI WebSocket endpoint needing the admin scope."""
    api = FastAPI()

    @api.websocket("/ws")
    @requires("admin")
    async def ws(websocket: FastAPIWebSocket) -> None:
        await websocket.accept()
        await websocket.close()

    return AuthenticationMiddleware(api, backend=backends())


async def test_fastapi_websocket_missing_scope_gets_403() -> None:
    """In FastAPI, a WebSocket token without the scope gets the 403 with its challenge."""
    headers = [("Authorization", "Bearer reader-token")]
    scope = websocket_scope(path="/ws", headers=headers, extensions={"websocket.http.response": {}})

    messages = await run(fastapi_websocket_app(), scope)

    assert messages[0]["status"] == 403
    assert (
        b"www-authenticate",
        b'Bearer realm="api", error="insufficient_scope", scope="admin"',
    ) in messages[0]["headers"]


# --- FastAPI ------------------------------------------------------------------------------------


def fastapi_app() -> ASGIApp:
    """A FastAPI app behind our middleware (one bearer backend), in anonymous mode."""
    api = FastAPI()

    @api.delete("/items/{item_id}")
    @requires("admin")
    async def delete_item(item_id: int, request: Request) -> dict[str, Any]:
        return {"deleted": item_id, "by": request.user.display_name}

    @api.get("/me")
    @requires()
    def me(request: Request, verbose: bool = False) -> dict[str, Any]:
        return {"name": request.user.display_name, "verbose": verbose}

    backend = BearerTokenBackend(tokens=TOKENS, scopes=["read"])
    return AuthenticationMiddleware(api, backend=backend, allow_anonymous=True)


async def test_fastapi_anonymous_gets_json_401_with_challenge() -> None:
    """FastAPI renders the 401 as ``{"detail": ...}`` with the bearer challenge."""
    async with asgi_client(fastapi_app()) as client:
        response = await client.delete("/items/3")

    assert response.status_code == 401
    assert response.headers.get_list("www-authenticate") == [BEARER]
    assert response.json() == {"detail": "Authentication required"}


async def test_fastapi_missing_scope_is_json_403_insufficient_scope() -> None:
    """FastAPI renders the 403 as JSON with the ``insufficient_scope`` challenge."""
    async with asgi_client(fastapi_app()) as client:
        response = await client.delete("/items/3", headers=auth("reader-token"))

    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", scope="admin"'
    )
    assert response.json() == {"detail": "Insufficient scope"}


async def test_fastapi_still_injects_the_endpoints_parameters() -> None:
    """The signature is kept: FastAPI converts path and query parameters as before."""
    async with asgi_client(fastapi_app()) as client:
        deleted = await client.delete("/items/3", headers=auth("admin-token"))
        me = await client.get("/me?verbose=true", headers=auth("reader-token"))

    assert deleted.json() == {"deleted": 3, "by": "root"}
    assert me.json() == {"name": "reader", "verbose": True}


async def test_fastapi_openapi_shows_only_the_endpoints_parameters() -> None:
    """The OpenAPI schema lists the endpoint's own parameters, not ``*args``/``**kwargs``."""
    async with asgi_client(fastapi_app()) as client:
        schema = (await client.get("/openapi.json", headers=auth("reader-token"))).json()

    parameters = schema["paths"]["/items/{item_id}"]["delete"]["parameters"]
    assert [parameter["name"] for parameter in parameters] == ["item_id"]


# --- Misuse -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "error", "message"),
    [
        (("a b",), ValueError, r"scopes\[0\] must be a scope token"),
        (("ok", ["x", 'y"']), ValueError, r"scopes\[2\] must be a scope token"),
        ((3,), TypeError, "scopes must be a list or tuple of str, got 3"),
        ((["a", 3],), TypeError, r"scopes\[1\] must be a str"),
    ],
)
def test_bad_scopes_are_refused(
    scopes: tuple[Any, ...], error: type[Exception], message: str
) -> None:
    """Scopes that are not scope tokens cannot go into a challenge: refused when decorating."""
    with pytest.raises(error, match=message):
        requires(*scopes)


def test_endpoint_without_a_connection_parameter_is_refused() -> None:
    """An endpoint without ``request`` or ``websocket`` cannot be checked: TypeError."""

    async def items(item_id: int) -> None: ...

    with pytest.raises(TypeError, match="needs a parameter named request or websocket on"):
        requires("read")(items)


def test_sync_websocket_endpoint_is_refused() -> None:
    """A sync function with a ``websocket`` parameter cannot be a WebSocket endpoint."""

    def feed(websocket: WebSocket) -> None: ...

    with pytest.raises(TypeError, match="needs an async WebSocket endpoint"):
        requires("read")(feed)


async def test_without_the_middleware_is_a_configuration_error() -> None:
    """Without our middleware around the app there is nothing to check against: RuntimeError."""
    app = Starlette(routes=ROUTES)

    with pytest.raises(RuntimeError, match="needs asgi_middleware's AuthenticationMiddleware"):
        async with asgi_client(app) as client:
            await client.get("/admin")


def anonymous_connection() -> SimpleNamespace:
    """A stand-in connection whose scope holds an anonymous user and a middleware context."""
    context = AuthContext([BEARER], None, (), Refuser("json"))
    scope = {
        "type": "http",
        "user": UnauthenticatedUser(),
        "auth": AuthCredentials(),
        SCOPE_KEY: context,
    }
    return SimpleNamespace(scope=scope)


async def test_argument_that_is_no_connection_is_a_type_error() -> None:
    """A ``request`` argument without a scope is a misuse, named in a TypeError."""
    with pytest.raises(TypeError, match="must be a Starlette Request or WebSocket, got object"):
        await admin(object())  # type: ignore[arg-type]


async def test_call_without_the_connection_is_a_type_error() -> None:
    """Calling the endpoint without its ``request`` argument is a TypeError naming it."""
    with pytest.raises(TypeError, match="called without its request argument"):
        await admin()  # type: ignore[call-arg]


async def test_refusal_without_starlette_loaded_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Outside Starlette (no ``starlette.exceptions`` loaded) the refusal explains itself."""
    monkeypatch.delitem(sys.modules, "starlette.exceptions")

    with pytest.raises(RuntimeError, match=r"starlette\.exceptions is not loaded"):
        await admin(anonymous_connection())  # type: ignore[arg-type]


def test_importing_requires_loads_no_starlette() -> None:
    """``requires`` is importable without loading Starlette (it looks it up when refusing)."""
    code = (
        "import sys\n"
        "from asgi_middleware import requires\n"
        "frameworks = ('starlette', 'fastapi')\n"
        "loaded = [name for name in sys.modules if name.split('.')[0] in frameworks]\n"
        "assert not loaded, loaded\n"
    )

    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
