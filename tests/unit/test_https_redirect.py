"""HTTPSRedirectMiddleware on raw ASGI: the exact redirect for each request, option and scope.

The Host reader, host patterns and the ``Location`` builder are the kit's, tested in
test_origins.py; these tests pin what the middleware does with them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from asgi_middleware import Receive, Scope, Send
from asgi_middleware._kit.hosts import parse_host_field
from asgi_middleware.https_redirect import HTTPSRedirectMiddleware
from tests.support.asgi import (
    Exchange,
    body,
    http_scope,
    lifespan_scope,
    run,
    start,
    websocket_scope,
)
from tests.support.host_apps import DENIAL, OK, PLAIN, Recorder, host, refusal

pytestmark = pytest.mark.anyio

TEXT = b"Redirecting to HTTPS"


def redirect(location: bytes, status: int = 307) -> list[dict[str, Any]]:
    """The complete redirect to ``location``."""
    headers = [(b"location", location), PLAIN, (b"content-length", str(len(TEXT)).encode())]
    return [start(status, headers), body(TEXT)]


def without_raw_path(path: str) -> dict[str, Any]:
    """An http scope for ``path`` without ``raw_path`` (optional in ASGI)."""
    scope = http_scope()
    del scope["raw_path"]
    return scope | {"path": path}


async def serve(
    scope: Mapping[str, Any], **options: Any
) -> tuple[list[Mapping[str, Any]], Recorder]:
    """Run one request through the middleware; return the messages and the app."""
    app = Recorder()
    return await run(HTTPSRedirectMiddleware(app, **options), scope), app


# --- Options -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"status": 301}, ValueError, "status must be 307 or 308, got 301; 301 and 302 let"),
        ({"status": 302}, ValueError, "status must be 307 or 308, got 302"),
        ({"status": "307"}, TypeError, "status must be 307 or 308, got '307'"),
        ({"status": True}, TypeError, "status must be 307 or 308, got True"),
        ({"https_port": 0}, ValueError, "https_port must be an int from 1 to 65535, got 0"),
        ({"https_port": 65536}, ValueError, "https_port must be an int from 1 to 65535"),
        ({"https_port": "443"}, TypeError, "https_port must be an int from 1 to 65535, got '443'"),
        ({"allowed_hosts": "a.example"}, TypeError, "allowed_hosts must be a list or tuple"),
        ({"allowed_hosts": ["https://a.example"]}, ValueError, "allowed_hosts[0] must be a host"),
        ({"allowed_hosts": []}, ValueError, "allowed_hosts must be a non-empty list of hosts"),
        ({"exclude_paths": "/health"}, TypeError, "exclude_paths must be a list or tuple of str"),
        ({"exclude_paths": ["health"]}, ValueError, "exclude_paths[0] must be a path starting"),
    ],
)
def test_bad_options_are_refused_at_construction(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Each bad option fails at start-up with the SPEC §2.1 message."""
    with pytest.raises(error, match=re.escape(message)):
        HTTPSRedirectMiddleware(Recorder(), **options)


def test_the_status_hint_says_what_to_use() -> None:
    """The hint names both statuses that keep the method."""
    with pytest.raises(ValueError, match=r"use 307 \(temporary\) or 308 \(permanent\)\Z"):
        HTTPSRedirectMiddleware(Recorder(), status=301)


def test_compose_role() -> None:
    """``compose`` knows the layer by its role."""
    assert HTTPSRedirectMiddleware._compose_role == "https_redirect"


# --- Passing through -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scope",
    [
        http_scope(scheme="https", headers=host("a.example")),
        http_scope(scheme="https"),
        websocket_scope(headers=host("a.example")) | {"scheme": "wss"},
    ],
)
async def test_a_request_already_over_https_passes_untouched(scope: dict[str, Any]) -> None:
    """``https`` and ``wss`` reach the app with the very scope, whatever the Host."""
    messages, app = await serve(scope)

    assert app.scopes == [scope]
    assert app.scopes[0] is scope
    if scope["type"] == "http":
        assert messages == OK


async def test_lifespan_passes_through() -> None:
    """Lifespan reaches the app with the very scope."""
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        await receive()
        await send({"type": "lifespan.startup.complete"})

    scope = lifespan_scope()
    await run(HTTPSRedirectMiddleware(app), scope, [{"type": "lifespan.startup"}])

    assert seen == [scope]
    assert seen[0] is scope


@pytest.mark.parametrize(
    ("path", "root_path", "excluded"),
    [
        ("/health", "", True),
        ("/internal/metrics", "", True),
        ("/internal", "", True),
        ("/api/health", "/api", True),
        ("/healthz", "", False),
        ("/api/healthz", "/api", False),
        ("/x/health", "", False),
    ],
)
async def test_excluded_paths_are_served_over_plain_http(
    path: str, root_path: str, excluded: bool
) -> None:
    """Anchored exact and prefix patterns, relative to ``root_path``, pass untouched."""
    scope = http_scope(path=path, root_path=root_path, headers=host("a.example"))

    messages, app = await serve(scope, exclude_paths=["/health", "/internal/*"])

    if excluded:
        assert messages == OK
        assert app.scopes == [scope]
    else:
        assert messages == redirect(b"https://a.example" + path.encode())
        assert app.scopes == []


async def test_an_excluded_path_needs_no_host() -> None:
    """An internal health check without a Host field is served, not refused."""
    scope = http_scope(path="/health")

    messages, _ = await serve(scope, exclude_paths=["/health"])

    assert messages == OK


# --- The redirect --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "https_port", "location"),
    [
        ("a.example", 443, b"https://a.example/p?q=1"),
        ("A.Example.", 443, b"https://a.example/p?q=1"),
        ("a.example:80", 443, b"https://a.example/p?q=1"),
        ("a.example:8080", 443, b"https://a.example/p?q=1"),
        ("a.example:443", 443, b"https://a.example/p?q=1"),
        ("a.example", 8443, b"https://a.example:8443/p?q=1"),
        ("a.example:80", 8443, b"https://a.example:8443/p?q=1"),
        ("a.example:8080", 8443, b"https://a.example:8443/p?q=1"),
        ("[0:0::1]:8080", 443, b"https://[::1]/p?q=1"),
        ("[::1]", 8443, b"https://[::1]:8443/p?q=1"),
        ("127.0.0.1:8000", 443, b"https://127.0.0.1/p?q=1"),
    ],
)
async def test_http_is_redirected_to_https(value: str, https_port: int, location: bytes) -> None:
    """Port 80 dropped, any other replaced by ``https_port`` (left out when 443), IPv6 bracketed."""
    scope = http_scope(path="/p", query_string=b"q=1", headers=host(value))

    messages, app = await serve(scope, https_port=https_port)

    assert messages == redirect(location)
    assert app.scopes == []


async def test_status_308() -> None:
    """The permanent redirect keeps the method and body too."""
    messages, _ = await serve(http_scope(method="POST", headers=host("a.example")), status=308)

    assert messages == redirect(b"https://a.example/", 308)


async def test_the_request_body_is_never_read() -> None:
    """The redirect goes out without reading the request."""
    exchange = Exchange("http")

    await HTTPSRedirectMiddleware(Recorder())(
        http_scope(method="POST", headers=host("a.example")), exchange.receive, exchange.send
    )

    assert exchange.received == []
    assert exchange.sent[0]["status"] == 307


@pytest.mark.parametrize(
    ("scope", "location"),
    [
        (http_scope(path="/a/b") | {"raw_path": b"/a%2Fb"}, b"https://a.example/a%2Fb"),
        (http_scope(path="/caf\u00e9 x") | {"raw_path": None}, b"https://a.example/caf%C3%A9%20x"),
        (http_scope(query_string=b"a=1&b=%20 x"), b"https://a.example/?a=1&b=%20%20x"),
        # A byte the server could not decode, passed on as a lone surrogate: that byte, encoded.
        (without_raw_path("/caf\udce9 x"), b"https://a.example/caf%E9%20x"),
        (without_raw_path("/\udcff/\u00e9"), b"https://a.example/%FF/%C3%A9"),
    ],
)
async def test_the_path_and_query_are_kept(scope: dict[str, Any], location: bytes) -> None:
    """``raw_path`` as sent (else ``path`` encoded), and the query; unsafe bytes encoded."""
    messages, _ = await serve(scope | {"headers": [(b"host", b"a.example")]})

    assert messages == redirect(location)


@pytest.mark.parametrize("scheme", ["http", "anything", None])
async def test_anything_but_https_is_redirected(scheme: str | None) -> None:
    """``http``, an unknown scheme, or none (ASGI's default is ``http``) get the redirect."""
    scope = http_scope(headers=host("a.example"))
    if scheme is None:
        del scope["scheme"]
    else:
        scope["scheme"] = scheme

    messages, _ = await serve(scope)

    assert messages == redirect(b"https://a.example/")


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ([], b"Missing host header"),
        ([("host", "a.example"), ("host", "a.example")], b"Repeated host header"),
        (host("evil.example@a.example"), b"Invalid host header"),
        (host("a.example/evil"), b"Invalid host header"),
        (host("a.example:99999"), b"Invalid host header"),
        (host(b"\xff.example"), b"Invalid host header"),
        (host("a" * 10_000), b"Invalid host header"),
    ],
)
async def test_no_redirect_without_one_valid_host(
    headers: list[tuple[str, str]], reason: bytes
) -> None:
    """Missing, repeated or invalid Host: a complete 400, never a redirect from raw input."""
    messages, app = await serve(http_scope(headers=headers))

    assert messages == refusal(reason)
    assert app.scopes == []


async def test_a_scope_without_headers_has_no_host() -> None:
    """ASGI allows a scope without ``headers``: that is a missing Host, not an exception."""
    scope = http_scope()
    del scope["headers"]

    messages, _ = await serve(scope)

    assert messages == refusal(b"Missing host header")


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        ("a.example", True),
        ("A.EXAMPLE:8080", True),
        ("x.b.example", True),
        ("b.example", False),
        ("evil.example", False),
        ("tls.example", False),
        ("tls.example:443", True),
    ],
)
async def test_allowed_hosts_limit_the_redirect(value: str, allowed: bool) -> None:
    """With ``allowed_hosts`` a host outside them gets 400; the request's port is plain HTTP's."""
    scope = http_scope(headers=host(value))

    messages, _ = await serve(scope, allowed_hosts=["a.example", "*.b.example", "tls.example:443"])

    if allowed:
        assert messages[0]["status"] == 307
    else:
        assert messages == refusal(b"Invalid host header")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(st.binary(max_size=40) | st.text("aAz0.:@/[]#?\\ %-_", max_size=30).map(str.encode))
@example(b"evil.example@a.example")
@example(b"a.example@evil.example")
@example(b"evil.example#a.example")
@example(b"evil.example/a.example")
@example(b"evil.example\\a.example")
@example(b"a.example:80@evil.example")
async def test_a_crafted_host_cannot_redirect_elsewhere(value: bytes) -> None:
    """Whatever the Host, the answer is 400 or a redirect to exactly the parsed host."""
    messages, _ = await serve(http_scope(path="/p", headers=host(value)))

    parsed = parse_host_field(value)
    if parsed is None:
        assert messages == refusal(b"Invalid host header")
    else:
        assert messages == redirect(f"https://{parsed[0]}/p".encode())


# --- WebSockets ----------------------------------------------------------------------------------


async def test_a_websocket_is_redirected_through_the_denial_extension() -> None:
    """``ws:`` gets the redirect to ``wss:`` as the handshake's response when offered."""
    scope = websocket_scope(path="/ws", headers=host("a.example:8080"), extensions=DENIAL)

    messages, app = await serve(scope, status=308, https_port=8443)

    headers = [(b"location", b"wss://a.example:8443/ws"), PLAIN, (b"content-length", b"20")]
    assert messages == [
        {"type": "websocket.http.response.start", "status": 308, "headers": headers},
        {"type": "websocket.http.response.body", "body": TEXT, "more_body": False},
    ]
    assert app.scopes == []


async def test_a_websocket_is_closed_with_1008_without_the_extension() -> None:
    """Without the extension the plain WebSocket is closed before the handshake completes."""
    messages, app = await serve(websocket_scope(headers=host("a.example")))

    assert messages == [{"type": "websocket.close", "code": 1008, "reason": "Use wss://"}]
    assert app.scopes == []


async def test_a_websocket_with_a_bad_host_is_refused() -> None:
    """A WebSocket for a host outside ``allowed_hosts`` gets the 400, not a redirect."""
    scope = websocket_scope(headers=host("evil.example"), extensions=DENIAL)

    messages, _ = await serve(scope, allowed_hosts=["a.example"])

    assert messages[0]["status"] == 400
    assert messages[1]["body"] == b"Invalid host header"
