"""BodyLimitMiddleware under a real uvicorn on 127.0.0.1: what the in-process transport hides.

Uploads go over raw sockets, so the test decides the framing (chunked, a lying or a doubled
length) and sees the wire: when the 413 arrives, how much was sent by then, and whether a
response was cut. Each app records, beside the middleware, what the server handed over: a spy
outside the middleware counts every ``http.request`` the server delivered, the app inside counts
what reached it.
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import websockets.exceptions
import websockets.sync.client
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from asgi_middleware import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware.body_limit import BodyLimitMiddleware, RequestBodyTooLargeError
from tests.support.asgi import answer_lifespan, respond
from tests.support.servers import LiveServer, ServeApp

pytestmark = pytest.mark.server

TIMEOUT = 10.0
LIMIT = 64 * 1024
CHUNK = 16 * 1024
#: The upload the client offers: 256 times the limit.
TOTAL = 256 * LIMIT
#: The most one read of uvicorn's can hold: its 64 KiB pause mark plus one socket read.
MAX_READ = 64 * 1024 + 256 * 1024


@dataclass
class Record:
    """What one request did on the server's side, filled in by the apps."""

    delivered: list[int] = field(default_factory=list)  # each http.request body the server gave
    received: int = 0  # the body bytes that reached the app inside the middleware
    calls: int = 0
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Recorded:
    """The app behind the middleware and the spy in front of it, for one test at a time."""

    def __init__(self, *, stream_first: bool = False) -> None:
        self.record = Record()
        self.stream_first = stream_first

    async def spy(self, scope: Scope, receive: Receive, send: Send, inner: ASGIApp) -> None:
        """Count what the server delivers, then call the middleware."""
        record = self.record

        async def counting() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                record.delivered.append(len(message.get("body", b"")))
            return message

        try:
            await inner(scope, counting, send)
        finally:
            record.done.set()

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the whole body, then answer with its size; or stream first, then read."""
        record = self.record
        record.calls += 1
        assert scope["type"] == "http"
        if self.stream_first:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"started", "more_body": True})
        try:
            while True:
                message = await receive()
                record.received += len(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except RequestBodyTooLargeError as error:
            record.error = error
            raise
        await respond(send, b"%d" % record.received)


def serve_limited(live_server: ServeApp, recorded: Recorded) -> LiveServer:
    """Serve ``recorded``'s app behind the middleware (limit ``LIMIT``), the spy in front."""
    limited = BodyLimitMiddleware(recorded.app, max_body_size=LIMIT)

    async def outer(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
        else:
            await recorded.spy(scope, receive, send, limited)

    return live_server(outer)


@pytest.fixture
def recorded() -> Recorded:
    """The recording apps, reading the body before they answer."""
    return Recorded()


@pytest.fixture
def server(live_server: ServeApp, recorded: Recorded) -> LiveServer:
    """A uvicorn server with the recording apps behind the middleware."""
    return serve_limited(live_server, recorded)


@dataclass
class Upload:
    """What the client saw: the bytes it sent and the response it read (to the close)."""

    sent: int
    response: bytes

    @property
    def status(self) -> int:
        """The response's status code (0 without a response)."""
        line = self.response.partition(b"\r\n")[0].split()
        return int(line[1]) if len(line) > 1 else 0

    @property
    def head(self) -> bytes:
        """The status line and headers, lower case."""
        return self.response.partition(b"\r\n\r\n")[0].lower()

    @property
    def body(self) -> bytes:
        """What follows the headers."""
        return self.response.partition(b"\r\n\r\n")[2]


def read_all(connection: socket.socket, first: bytes = b"") -> bytes:
    """Read until the server closes the connection (a reset ends it too)."""
    chunks = [first]
    while True:
        try:
            data = connection.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def upload(
    server: LiveServer, head: bytes, pieces: Iterator[bytes], *, stop_on_answer: bool = True
) -> Upload:
    """Send ``head``, then ``pieces`` until the server answers; read the answer to the end.

    After each piece the socket is polled: once the response has begun, the client stops
    sending, as a browser or curl does, and reads the rest. Without ``stop_on_answer`` it
    sends on until the server closes the connection.
    """
    sent = 0
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as connection:
        connection.sendall(head)
        for piece in pieces:
            readable, _, _ = select.select([connection], [], [], 0)
            if readable and stop_on_answer:
                break
            try:
                connection.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        return Upload(sent, read_all(connection))


def chunked(total: int = TOTAL, size: int = CHUNK) -> Iterator[bytes]:
    """A chunked body of ``total`` bytes in chunks of ``size``, then its last chunk."""
    data = b"u" * size
    for _ in range(total // size):
        yield b"%x\r\n%b\r\n" % (size, data)
    yield b"0\r\n\r\n"


def request_head(*fields: bytes) -> bytes:
    """A POST /upload head with ``fields``."""
    return b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"".join(f + b"\r\n" for f in fields)


def test_a_chunked_upload_over_the_limit_gets_413_long_before_its_end(
    server: LiveServer, recorded: Recorded
) -> None:
    """413 while the client is still sending; the server held at most one read past the limit.

    The app inside got no more than the limit; the server delivered every read up to the one
    that crossed it and no further, and that read was one of uvicorn's bounded buffers.
    """
    result = upload(server, request_head(b"Transfer-Encoding: chunked", b""), chunked())
    record = recorded.record
    assert record.done.wait(TIMEOUT)

    assert result.status == 413
    assert result.body == b"Content Too Large"
    assert b"connection: close" in result.head
    assert result.sent < TOTAL // 2
    assert record.received <= LIMIT
    assert isinstance(record.error, RequestBodyTooLargeError)
    assert sum(record.delivered[:-1]) <= LIMIT < sum(record.delivered)
    assert max(record.delivered) <= MAX_READ


def test_a_declared_length_over_the_limit_gets_413_without_the_app(
    server: LiveServer, recorded: Recorded
) -> None:
    """The head alone is answered: the app never runs and no body byte is read."""
    head = request_head(b"Content-Length: %d" % TOTAL, b"Expect: 100-continue", b"")

    result = upload(server, head, iter([b"u" * CHUNK] * 4))
    assert recorded.record.done.wait(TIMEOUT)

    assert result.status == 413
    assert b"100 continue" not in result.response.lower()
    assert recorded.record.calls == 0
    assert recorded.record.delivered == []


def test_a_lying_content_length_never_gets_more_than_it_declared(
    server: LiveServer, recorded: Recorded
) -> None:
    """A length of 100 before a megabyte: the app gets 100 bytes, the rest is no body of it.

    This is what lets the middleware pass a length within the limit without counting: HTTP/1.1
    frames the body by it, and uvicorn reads the rest as the next request (and refuses that).
    """
    head = request_head(b"Content-Length: 100", b"")

    result = upload(server, head, iter([b"u" * 100 + b"v" * 64 * CHUNK]))
    assert recorded.record.done.wait(TIMEOUT)

    assert result.status == 200
    assert result.body.startswith(b"100")
    assert recorded.record.received == 100
    assert sum(recorded.record.delivered) == 100


def test_a_short_length_beside_transfer_encoding_is_counted(
    server: LiveServer, recorded: Recorded
) -> None:
    """h11 frames by Transfer-Encoding and passes both fields on: the body is counted anyway."""
    head = request_head(b"Content-Length: 10", b"Transfer-Encoding: chunked", b"")

    result = upload(server, head, chunked())
    assert recorded.record.done.wait(TIMEOUT)

    assert result.status == 413
    assert recorded.record.received <= LIMIT
    assert result.sent < TOTAL // 2


def test_a_crossing_after_the_response_started_cuts_the_connection(
    live_server: ServeApp,
) -> None:
    """No 413 can follow a started response: the server closes without finishing it."""
    recorded = Recorded(stream_first=True)
    server = serve_limited(live_server, recorded)

    head = request_head(b"Transfer-Encoding: chunked", b"")
    result = upload(server, head, chunked(), stop_on_answer=False)
    assert recorded.record.done.wait(TIMEOUT)

    assert result.status == 200
    assert b"transfer-encoding: chunked" in result.head
    assert b"started" in result.body
    assert not result.body.endswith(b"0\r\n\r\n")  # the final chunk never came
    assert isinstance(recorded.record.error, RequestBodyTooLargeError)


def test_a_websocket_message_over_the_limit_closes_with_1009(live_server: ServeApp) -> None:
    """A Starlette endpoint echoes within the limit; a larger message closes with 1009."""
    codes: list[int] = []
    finished = threading.Event()

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                await websocket.send_bytes(await websocket.receive_bytes())
        except WebSocketDisconnect as disconnect:
            codes.append(disconnect.code)
        finally:
            finished.set()

    app = Starlette(routes=[WebSocketRoute("/ws", echo)])
    server = live_server(
        BodyLimitMiddleware(app, max_body_size=1, websocket_max_message_size=LIMIT)
    )

    with websockets.sync.client.connect(
        server.ws_url + "/ws", open_timeout=TIMEOUT, max_size=None, proxy=None
    ) as connection:
        connection.send(b"x" * LIMIT)
        echoed = connection.recv(timeout=TIMEOUT)
        connection.send(b"x" * (LIMIT + 1))
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            connection.recv(timeout=TIMEOUT)

    assert finished.wait(TIMEOUT)
    assert echoed == b"x" * LIMIT
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009
    assert codes == [1009]
