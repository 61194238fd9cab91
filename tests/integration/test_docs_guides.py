"""The framework guides' samples (docs/guides/, docs/examples/guide_*.py), run in process.

Each guide shows two ways in: the layers wrapped around the app object, and the framework's own
list. Where the two differ (the error handler, Litestar's routing), both are run to show it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from asgi_middleware import ASGIApp
from tests.support.asgi import asgi_client, lifespan_scope, run, websocket_scope
from tests.support.samples import app_of, load

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("sibling_imports")]

ORIGIN = "https://app.example"
BEARER = {"Authorization": "Bearer change-me"}
CORS_AND_ID = ("access-control-allow-origin", "x-request-id")
#: A WebSocket session: the handshake, one text frame, the client's clean close.
SESSION: list[dict[str, Any]] = [
    {"type": "websocket.connect"},
    {"type": "websocket.receive", "text": "ping"},
    {"type": "websocket.disconnect", "code": 1000},
]


@pytest.fixture
def anyio_backend() -> str:
    """Asyncio only: Django's handler, Quart and Litestar run on asyncio."""
    return "asyncio"


@pytest.fixture
def django_urls() -> Iterator[None]:
    """Forget Django's cached URL resolver afterwards: other samples set their own patterns."""
    yield
    from django.urls import (  # type: ignore[import-untyped]  # noqa: PLC0415
        clear_url_caches,  # imported here: the samples set Django up
    )

    clear_url_caches()


async def get(
    app: ASGIApp, path: str, headers: Mapping[str, str] | None = None, method: str = "GET"
) -> httpx.Response:
    """One request from the page's origin, in process; an app's exception becomes the 500."""
    async with asgi_client(app, raise_app_exceptions=False) as client:
        return await client.request(method, path, headers={"Origin": ORIGIN, **(headers or {})})


def has_cors_and_id(response: httpx.Response) -> bool:
    """Whether the response carries the CORS header for the page and a request ID."""
    return (
        response.headers.get("access-control-allow-origin") == ORIGIN
        and len(response.headers.get("x-request-id", "")) == 32
    )


def lacks_cors_and_id(response: httpx.Response) -> bool:
    """Whether the response carries neither header."""
    return not any(name in response.headers for name in CORS_AND_ID)


# --- Starlette and FastAPI -------------------------------------------------------------------

FRAMEWORK_LISTS = [
    ("guide_starlette", "listed"),
    ("guide_starlette", "added"),
    ("guide_fastapi", "added"),
]
EVERY_SPELLING = [
    ("guide_starlette", "app"),
    *FRAMEWORK_LISTS,
    ("guide_fastapi", "app"),
]


@pytest.mark.parametrize(
    ("sample", "attribute"), [("guide_starlette", "app"), ("guide_fastapi", "app")]
)
async def test_wrapped_500_carries_cors_and_request_id(sample: str, attribute: str) -> None:
    """Wrapped around the app object, the layers put their headers on the error handler's 500."""
    response = await get(app_of(load(sample), attribute), "/boom")
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert has_cors_and_id(response)


@pytest.mark.parametrize(("sample", "attribute"), FRAMEWORK_LISTS)
async def test_listed_500_has_no_cors_and_no_request_id(sample: str, attribute: str) -> None:
    """In the framework's own list, the layers sit inside its error handler: a bare 500."""
    response = await get(app_of(load(sample), attribute), "/boom")
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert lacks_cors_and_id(response)


@pytest.mark.parametrize(("sample", "attribute"), EVERY_SPELLING)
async def test_401_carries_cors_in_every_spelling(sample: str, attribute: str) -> None:
    """Each spelling builds the documented order: authentication's 401 passes out through CORS."""
    response = await get(app_of(load(sample), attribute), "/whoami")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    assert has_cors_and_id(response)


@pytest.mark.parametrize(("sample", "attribute"), EVERY_SPELLING)
async def test_the_user_reaches_the_route(sample: str, attribute: str) -> None:
    """With the token, ``request.user`` is the user the authentication layer found."""
    response = await get(app_of(load(sample), attribute), "/whoami", BEARER)
    assert response.status_code == 200
    assert response.json() == {"user": "token-0"}
    assert has_cors_and_id(response)


# --- Litestar --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/nope", 404), ("POST", "/whoami", 405)]
)
async def test_litestar_list_skips_unrouted_requests(method: str, path: str, status: int) -> None:
    """Litestar's list runs for matched routes only: a 404 or 405 gets no headers and no log."""
    with capture_logs() as events:
        response = await get(app_of(load("guide_litestar"), "listed"), path, BEARER, method)
    assert response.status_code == status
    assert lacks_cors_and_id(response)
    assert [event for event in events if event["event"] == "http_request"] == []


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/nope", 404), ("POST", "/whoami", 405)]
)
async def test_litestar_wrapped_covers_unrouted_requests(
    method: str, path: str, status: int
) -> None:
    """Wrapped around the Litestar object, a 404 or 405 gets the headers and its log event."""
    with capture_logs() as events:
        response = await get(app_of(load("guide_litestar")), path, BEARER, method)
    assert response.status_code == status
    assert has_cors_and_id(response)
    logged = [event for event in events if event["event"] == "http_request"]
    assert [(event["status"], event["request_id"]) for event in logged] == [
        (status, response.headers["x-request-id"])
    ]


@pytest.mark.parametrize("attribute", ["app", "listed"])
async def test_litestar_500_carries_the_headers_either_way(attribute: str) -> None:
    """Litestar answers a route's exception inside its list, so the 500 passes out through it."""
    response = await get(app_of(load("guide_litestar"), attribute), "/boom")
    assert response.status_code == 500
    assert has_cors_and_id(response)


@pytest.mark.parametrize("attribute", ["app", "listed"])
async def test_litestar_route_sees_the_user(attribute: str) -> None:
    """A matched route gets the user either way."""
    response = await get(app_of(load("guide_litestar"), attribute), "/whoami", BEARER)
    assert response.json() == {"user": "token-0"}
    assert has_cors_and_id(response)


# --- Django and Channels ---------------------------------------------------------------------


@pytest.mark.usefixtures("django_urls")
async def test_django_request_user_comes_from_the_scope() -> None:
    """guide_django: ``request.user`` in a Django view is the user the layer found."""
    response = await get(app_of(load("guide_django")), "/whoami", BEARER)
    assert response.status_code == 200
    assert response.json() == {"user": "token-0"}
    assert has_cors_and_id(response)


@pytest.mark.usefixtures("django_urls")
async def test_django_plain_request_has_no_user() -> None:
    """Django's own ASGI request never reads ``scope["user"]``: the reason for the subclass."""
    module = load("guide_django")
    from django.core.handlers.asgi import (  # type: ignore[import-untyped]  # noqa: PLC0415
        ASGIRequest,  # imported here: the sample sets Django up
    )

    request = ASGIRequest({**websocket_scope("/whoami"), "type": "http", "method": "GET",
                           "user": object()}, None)  # fmt: skip
    assert not hasattr(request, "user")
    assert module.ScopeUserHandler.request_class is module.ScopeUserRequest


@pytest.mark.usefixtures("django_urls")
async def test_django_500_passes_out_through_the_layers() -> None:
    """Django turns a view's exception into its 500 inside the handler: the layers add headers."""
    response = await get(app_of(load("guide_django")), "/boom")
    assert response.status_code == 500
    assert has_cors_and_id(response)


@pytest.mark.usefixtures("django_urls")
async def test_django_has_no_lifespan() -> None:
    """Django refuses the lifespan scope (servers log it and go on); the layers pass it through."""
    with pytest.raises(ValueError, match="not lifespan"):
        await run(app_of(load("guide_django")), lifespan_scope(), [{"type": "lifespan.startup"}])


@pytest.mark.usefixtures("django_urls")
async def test_channels_authenticated_handshake_greets_the_user() -> None:
    """Channels: the consumer reads our user from ``scope["user"]``; the accept has the ID."""
    headers = {"origin": ORIGIN, **{name.lower(): value for name, value in BEARER.items()}}
    sent = await run(
        app_of(load("guide_django_channels")),
        websocket_scope(headers=list(headers.items())),
        SESSION,
    )
    accept, *frames = sent
    assert accept["type"] == "websocket.accept"
    assert [name for name, _ in accept["headers"]] == [b"x-request-id"]
    assert frames == [
        {"type": "websocket.send", "text": "hello token-0"},
        {"type": "websocket.send", "text": "ping"},
    ]


@pytest.mark.usefixtures("django_urls")
@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"origin": ORIGIN}, 1008),
        ({"origin": "https://evil.example", "authorization": "Bearer change-me"}, 1008),
    ],
    ids=["no-token", "foreign-origin"],
)
async def test_channels_refusals_close_1008_without_denial_response(
    headers: dict[str, str], code: int
) -> None:
    """Without the denial-response extension (daphne), a refused handshake is a close 1008."""
    sent = await run(
        app_of(load("guide_django_channels")),
        websocket_scope(headers=list(headers.items())),
        SESSION,
    )
    assert [(message["type"], message["code"]) for message in sent] == [("websocket.close", code)]


@pytest.mark.usefixtures("django_urls")
async def test_channels_serves_django_over_http() -> None:
    """The router's HTTP side is the Django app, behind the same layers."""
    response = await get(app_of(load("guide_django_channels")), "/whoami", BEARER)
    assert response.json() == {"user": "token-0"}
    assert has_cors_and_id(response)


# --- Quart -----------------------------------------------------------------------------------


@pytest.mark.parametrize("attribute", ["app", "wrapped_inside"])
@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [("/whoami", {}, 401), ("/whoami", BEARER, 200), ("/boom", {}, 500)],
    ids=["401", "200", "500"],
)
async def test_quart_both_ways_in(
    attribute: str, path: str, headers: dict[str, str], status: int
) -> None:
    """Around the object or its ``asgi_app``: every answer, Quart's 500 too, has the headers."""
    response = await get(app_of(load("guide_quart"), attribute), path, headers)
    assert response.status_code == status
    assert has_cors_and_id(response)


def _without_scheme(headers: Mapping[str, str]) -> dict[str, Any]:
    scope = websocket_scope(headers=list(headers.items()))
    del scope["scheme"]  # as daphne sends it
    return scope


@pytest.mark.parametrize("attribute", ["app", "wrapped_inside"])
async def test_quart_websocket_without_scheme_works_with_default_scheme(attribute: str) -> None:
    """``default_scheme`` fills in the scheme daphne leaves out, and Quart accepts the handshake."""
    headers = {"origin": ORIGIN, "authorization": "Bearer change-me"}
    sent = await run(app_of(load("guide_quart"), attribute), _without_scheme(headers), SESSION)
    assert [message["type"] for message in sent] == [
        "websocket.accept",
        "websocket.send",
        "websocket.close",
    ]
    assert sent[1]["text"] == "hello token-0"


async def test_quart_websocket_without_scheme_fails_without_default_scheme() -> None:
    """Without the workaround, Quart fails the handshake with ``KeyError: 'scheme'``."""
    from asgi_middleware import compose  # noqa: PLC0415

    module = load("guide_quart")
    bare = compose(module.make_quart(), *module.layers)
    headers = {"origin": ORIGIN, "authorization": "Bearer change-me"}
    with pytest.raises(KeyError, match="scheme"):
        await run(bare, _without_scheme(headers), SESSION)


# --- Raw ASGI and the server-settings stack --------------------------------------------------


@pytest.mark.parametrize("attribute", ["app", "nested"])
async def test_raw_asgi_500_passes_out_through_the_layers(attribute: str) -> None:
    """``server_errors`` innermost answers the exception, and the 500 gets the headers."""
    app = app_of(load("guide_raw_asgi"), attribute)
    response = await get(app, "/boom")
    assert (response.status_code, response.text) == (500, "Internal Server Error\n")
    assert has_cors_and_id(response)
    assert (await get(app, "/")).text == "Hello, world!\n"


async def test_raw_asgi_without_server_errors_the_server_answers() -> None:
    """Without it the exception reaches the server, whose 500 carries none of the headers."""
    response = await get(app_of(load("guide_raw_asgi"), "bare"), "/boom")
    assert response.status_code == 500
    assert lacks_cors_and_id(response)


async def test_raw_asgi_server_errors_raises_again() -> None:
    """``server_errors`` re-raises after its 500, so the server still logs the exception."""
    async with asgi_client(app_of(load("guide_raw_asgi"))) as client:
        with pytest.raises(RuntimeError, match="something went wrong"):
            await client.get("/boom")


async def test_servers_stack_logs_the_client_from_the_trusted_proxy(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """servers_stack: from 127.0.0.1, the client is the right-most address, not the spoofed one."""
    module = load("servers_stack")
    transport = httpx.ASGITransport(app=app_of(module), client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/", headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.7"})
    assert response.text == "ok\n"
    import json  # noqa: PLC0415

    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["client"] == "198.51.100.7"
