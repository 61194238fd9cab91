"""TrustedHostMiddleware and HTTPSRedirectMiddleware under a real uvicorn on 127.0.0.1.

Crafted ``Host`` headers go over a raw socket, as no HTTP client sends them: whatever the server
lets through, the answer is a 400 from the middleware, never a 500.
"""

from __future__ import annotations

import socket

import pytest
import websockets.exceptions
import websockets.sync.client

from asgi_middleware import ASGIApp, Receive, Scope, Send, compose
from asgi_middleware.https_redirect import HTTPSRedirectMiddleware
from asgi_middleware.trusted_host import TrustedHostMiddleware
from tests.support.asgi import answer_lifespan, respond
from tests.support.servers import LiveServer, ServeApp

TIMEOUT = 5.0
#: What uvicorn's h11 parser answers itself to an HTTP/1.1 request without one Host field.
SERVER_REFUSAL = b"Invalid HTTP request received."
REPEATED = {b"Repeated host header", SERVER_REFUSAL}


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer ``ok`` over HTTP, accept and close a WebSocket, complete a lifespan."""
    if scope["type"] == "lifespan":
        await answer_lifespan(receive, send)
    elif scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close"})
    else:
        await respond(send, b"ok")


def trusted(*hosts: str) -> ASGIApp:
    """``hello`` behind TrustedHostMiddleware with ``hosts``."""
    return TrustedHostMiddleware(hello, allowed_hosts=hosts)


def exchange(server: LiveServer, head: bytes) -> tuple[int, bytes]:
    """Send one raw HTTP/1.1 request head; return the status and the body read to the end."""
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as connection:
        connection.sendall(head + b"Connection: close\r\n\r\n")
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    status_line, _, rest = response.partition(b"\r\n")
    _, _, content = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), content


@pytest.mark.server
@pytest.mark.parametrize(
    ("request_head", "status", "contents"),
    [
        (b"GET /x HTTP/1.1\r\nHost: good.example\r\n", 200, {b"ok"}),
        (b"GET /x HTTP/1.1\r\nHost: GOOD.example.:8000\r\n", 200, {b"ok"}),
        (b"GET /x HTTP/1.1\r\nHost: evil.example@good.example\r\n", 400, {b"Invalid host header"}),
        (b"GET /x HTTP/1.1\r\nHost: good.example/evil\r\n", 400, {b"Invalid host header"}),
        (b"GET /x HTTP/1.1\r\nHost: " + b"a" * 8000 + b"\r\n", 400, {b"Invalid host header"}),
        (b"GET /x HTTP/1.1\r\nHost: g\xc3\xb6\xc3\xb6d.example\r\n", 400, {b"Invalid host header"}),
        (b"GET /x HTTP/1.1\r\nHost: good.example:99999\r\n", 400, {b"Invalid host header"}),
        (b"GET /x HTTP/1.1\r\nHost: evil.example\r\n", 400, {b"Invalid host header"}),
        (b"GET /x HTTP/1.0\r\n", 400, {b"Missing host header"}),
        # h11 refuses these itself; with a server that does not, the middleware does.
        (b"GET /x HTTP/1.1\r\nHost: good.example\r\nHost: good.example\r\n", 400, REPEATED),
        (b"GET /x HTTP/1.1\r\nHost: good.example\r\nHost: evil.example\r\n", 400, REPEATED),
        (b"GET /x HTTP/1.1\r\n", 400, {b"Missing host header", SERVER_REFUSAL}),
    ],
)  # fmt: skip
def test_crafted_hosts_get_400_never_500(
    module_live_server: ServeApp, request_head: bytes, status: int, contents: set[bytes]
) -> None:
    """Over a raw socket, each crafted Host gets a 400 with its reason, never a 500."""
    server = module_live_server(trusted("good.example"))

    found_status, content = exchange(server, request_head)

    assert found_status == status
    assert content in contents


@pytest.mark.server
def test_a_websocket_for_a_refused_host_gets_400(module_live_server: ServeApp) -> None:
    """Uvicorn offers the denial extension: the handshake for ``127.0.0.1`` gets our 400."""
    server = module_live_server(trusted("good.example"))

    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        websockets.sync.client.connect(server.ws_url + "/ws", open_timeout=TIMEOUT, proxy=None)

    assert info.value.response.status_code == 400
    assert info.value.response.body == b"Invalid host header"


@pytest.mark.server
def test_a_websocket_for_an_allowed_host_is_accepted(module_live_server: ServeApp) -> None:
    """The same layer lets a listed host's handshake through."""
    server = module_live_server(trusted("127.0.0.1"))

    with (
        websockets.sync.client.connect(
            server.ws_url + "/ws", open_timeout=TIMEOUT, proxy=None
        ) as websocket,
        pytest.raises(websockets.exceptions.ConnectionClosedOK),
    ):
        websocket.recv(timeout=TIMEOUT)


@pytest.mark.server
@pytest.mark.parametrize(
    ("https_port", "location"),
    [
        (443, "https://127.0.0.1/a%2Fb/c?q=1&r=%20"),
        (8443, "https://127.0.0.1:8443/a%2Fb/c?q=1&r=%20"),
    ],
)
def test_an_http_request_gets_the_exact_redirect(
    module_live_server: ServeApp, https_port: int, location: str
) -> None:
    """Over real HTTP, the port is replaced, and the path and query come as they were sent."""
    server = module_live_server(HTTPSRedirectMiddleware(hello, https_port=https_port))

    with server.client() as client:
        response = client.get("/a%2Fb/c?q=1&r=%20")

    assert response.status_code == 307
    assert response.headers["location"] == location
    assert response.headers["content-length"] == str(len(response.content))


@pytest.mark.server
def test_a_crafted_host_never_becomes_a_location(module_live_server: ServeApp) -> None:
    """``Host: evil.example@127.0.0.1`` over a raw socket: 400, not a redirect to evil.example."""
    server = module_live_server(compose(hello, HTTPSRedirectMiddleware))

    status, content = exchange(server, b"GET / HTTP/1.1\r\nHost: evil.example@127.0.0.1\r\n")

    assert (status, content) == (400, b"Invalid host header")


HANDSHAKE = (
    b"GET /ws?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)


@pytest.mark.server
def test_a_ws_handshake_is_redirected_to_wss(module_live_server: ServeApp) -> None:
    """A ``ws:`` handshake gets the 307 to ``wss:`` through the denial extension.

    Sent over a raw socket: the ``websockets`` client would follow the redirect (browsers fail
    the connection instead).
    """
    server = module_live_server(HTTPSRedirectMiddleware(hello))

    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as connection:
        connection.sendall(HANDSHAKE)
        head = b""
        while b"\r\n\r\n" not in head and (chunk := connection.recv(65536)):
            head += chunk

    lines = head.split(b"\r\n")
    assert lines[0].split()[1] == b"307"
    assert b"location: wss://127.0.0.1/ws?x=1" in [line.lower() for line in lines]
