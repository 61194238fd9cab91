"""The ASGI test kit: scope builders, a scripted ``receive``, a recording ``send``, a runner.

Unit tests call a middleware with :func:`run` and assert the exact list of messages it sent::

    messages = await run(app, http_scope(headers=[("origin", "https://a.example")]))
    assert messages == [start(200, [...]), body(b"ok")]

Every message sent through the recorder is checked by :class:`ASGIValidator`, so a middleware
that emits something the ASGI spec forbids (a start twice, upper-case or ``str`` header names, a
body after the response completed, ...) fails the test that exercised it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

import anyio
import httpx

from asgi_middleware import ASGIApp, Receive, Send

__all__ = [
    "ASGIValidator",
    "Exchange",
    "ProtocolError",
    "Streamed",
    "answer_lifespan",
    "asgi_client",
    "body",
    "body_of",
    "header_list",
    "headers_of",
    "http_scope",
    "lifespan_scope",
    "respond",
    "run",
    "send_streamed",
    "start",
    "start_of",
    "websocket_scope",
]

HeaderInput = Iterable[tuple[str | bytes, str | bytes]]


def _raw(value: str | bytes) -> bytes:
    return value.encode("latin-1") if isinstance(value, str) else value


def header_list(headers: HeaderInput = ()) -> list[tuple[bytes, bytes]]:
    """Encode header pairs to bytes, keeping the case they were given in."""
    return [(_raw(name), _raw(value)) for name, value in headers]


def http_scope(
    method: str = "GET",
    path: str = "/",
    *,
    headers: HeaderInput = (),
    query_string: bytes = b"",
    root_path: str = "",
    scheme: str = "http",
    http_version: str = "1.1",
    extensions: Mapping[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Build an ``http`` scope as a server would."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": http_version,
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": query_string,
        "root_path": root_path,
        "headers": header_list(headers),
        "client": ("127.0.0.1", 51000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    if extensions is not None:
        scope["extensions"] = dict(extensions)
    scope.update(extra)
    return scope


def websocket_scope(
    path: str = "/ws",
    *,
    headers: HeaderInput = (),
    subprotocols: Sequence[str] = (),
    extensions: Mapping[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Build a ``websocket`` scope as a server would."""
    scope = http_scope(path=path, headers=headers, extensions=extensions, scheme="ws", **extra)
    scope["type"] = "websocket"
    scope["subprotocols"] = list(subprotocols)
    del scope["method"]
    return scope


def lifespan_scope() -> dict[str, Any]:
    """Build a ``lifespan`` scope."""
    return {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}


def asgi_client(
    app: ASGIApp, *, base_url: str = "http://testserver", raise_app_exceptions: bool = True
) -> httpx.AsyncClient:
    """An httpx client calling ``app`` in process (it buffers bodies: not for streaming tests)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url=base_url)


async def answer_lifespan(receive: Receive, send: Send) -> None:
    """Complete a lifespan's startup and shutdown with nothing to do, as a simple app does."""
    while (await receive())["type"] != "lifespan.shutdown":
        await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.shutdown.complete"})


async def respond(
    send: Send,
    content: bytes,
    *,
    status: int = 200,
    content_type: bytes = b"text/plain",
    head: bool = False,
) -> None:
    """Send a complete response: start with content type and length, then the one body.

    For a ``HEAD`` request (``head=True``) the length is the body's, and the body is left out.
    """
    length = str(len(content)).encode("ascii")
    headers = [(b"content-type", content_type), (b"content-length", length)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else content})


def start(status: int = 200, headers: HeaderInput = (), **extra: Any) -> dict[str, Any]:
    """Build an ``http.response.start`` message."""
    return {
        "type": "http.response.start",
        "status": status,
        "headers": header_list(headers),
        **extra,
    }


def body(content: bytes = b"", *, more_body: bool = False) -> dict[str, Any]:
    """Build an ``http.response.body`` message."""
    return {"type": "http.response.body", "body": content, "more_body": more_body}


def start_of(messages: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """Return the one ``http.response.start`` message of a run."""
    found = [m for m in messages if m["type"] == "http.response.start"]
    assert len(found) == 1, f"expected one http.response.start, got {messages!r}"
    return found[0]


def headers_of(messages: Sequence[Mapping[str, Any]]) -> list[tuple[bytes, bytes]]:
    """Return the response headers of a run as a list of byte pairs."""
    return [(bytes(k), bytes(v)) for k, v in start_of(messages).get("headers", ())]


def body_of(messages: Sequence[Mapping[str, Any]]) -> bytes:
    """Return the concatenated response body of a run."""
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")


class ProtocolError(AssertionError):
    """A message broke the ASGI spec."""


_HTTP_BEFORE_START = frozenset({"http.response.early_hint", "http.response.debug"})
_WS_CLOSE_CODES = range(1000, 5000)


class ASGIValidator:
    """Checks each message an app sends against the ASGI spec for the scope type.

    It follows the HTTP and WebSocket state machines (start once, body only after start, nothing
    after completion but announced trailers, exactly one of ``bytes``/``text`` per WebSocket send,
    ...) and the field types, and insists on lower-case header names, which every middleware here
    emits. Types it does not know (extensions yet to be invented) are allowed while the response
    is open, as a middleware must forward them.
    """

    __slots__ = ("_closed", "_more_trailers", "_started", "_trailers", "scope_type")

    def __init__(self, scope_type: str) -> None:
        self.scope_type = scope_type
        self._started = False
        self._closed = False
        self._trailers = False
        self._more_trailers = False

    @property
    def complete(self) -> bool:
        """Whether the response (or WebSocket session) is over, trailers included."""
        return self._closed and not self._more_trailers

    def check(self, message: object) -> None:
        """Raise :class:`ProtocolError` if ``message`` may not be sent now."""
        if not isinstance(message, Mapping) or not isinstance(message.get("type"), str):
            raise ProtocolError(f"a message must be a mapping with a str 'type', got {message!r}")
        kind: str = message["type"]
        if self.scope_type == "http":
            self._check_http(kind, message)
        elif self.scope_type == "websocket":
            self._check_websocket(kind, message)
        else:
            self._check_lifespan(kind, message)

    def _check_http(self, kind: str, message: Mapping[str, Any]) -> None:
        if kind == "http.response.trailers":
            if not (self._closed and self._more_trailers):
                raise ProtocolError(
                    f"trailers not announced or not after the final body: {message!r}"
                )
            _check_headers(message)
            self._more_trailers = bool(message.get("more_trailers", False))
            return
        if self._closed:
            raise ProtocolError(f"message after the response completed: {message!r}")
        if kind == "http.response.start":
            if self._started:
                raise ProtocolError(f"http.response.start sent twice: {message!r}")
            status = message.get("status")
            if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
                raise ProtocolError(f"status must be an int from 100 to 599: {message!r}")
            _check_headers(message)
            self._trailers = _check_bool(message, "trailers")
            self._started = True
        elif kind in _HTTP_BEFORE_START:
            if self._started:
                raise ProtocolError(f"{kind} after http.response.start: {message!r}")
        elif kind in ("http.response.body", "http.response.zerocopysend"):
            if not self._started:
                raise ProtocolError(f"{kind} before http.response.start: {message!r}")
            if kind == "http.response.body" and not isinstance(message.get("body", b""), bytes):
                raise ProtocolError(f"body must be bytes: {message!r}")
            if not _check_bool(message, "more_body"):
                self._finish()
        elif kind == "http.response.pathsend":
            if not self._started or not isinstance(message.get("path"), str):
                raise ProtocolError(f"pathsend needs a start and a str path: {message!r}")
            self._finish()

    def _finish(self) -> None:
        self._closed = True
        self._more_trailers = self._trailers

    def _check_websocket(self, kind: str, message: Mapping[str, Any]) -> None:
        if self._closed:
            raise ProtocolError(f"message after the WebSocket closed: {message!r}")
        if kind == "websocket.accept":
            if self._started:
                raise ProtocolError(f"websocket.accept twice or after a denial: {message!r}")
            subprotocol = message.get("subprotocol")
            if subprotocol is not None and not isinstance(subprotocol, str):
                raise ProtocolError(f"subprotocol must be str or None: {message!r}")
            _check_headers(message)
            self._started = True
            self._trailers = True  # accepted: websocket.send is allowed
        elif kind == "websocket.send":
            if not self._trailers:
                raise ProtocolError(f"websocket.send before websocket.accept: {message!r}")
            data, text = message.get("bytes"), message.get("text")
            if (data is None) == (text is None):
                raise ProtocolError(f"websocket.send needs exactly one of bytes/text: {message!r}")
            if not isinstance(data if text is None else text, bytes if text is None else str):
                raise ProtocolError(f"websocket.send bytes/text of the wrong type: {message!r}")
        elif kind == "websocket.close":
            code = message.get("code", 1000)
            if isinstance(code, bool) or not isinstance(code, int) or code not in _WS_CLOSE_CODES:
                raise ProtocolError(f"close code must be an int from 1000 to 4999: {message!r}")
            if not isinstance(message.get("reason") or "", str):
                raise ProtocolError(f"close reason must be a str: {message!r}")
            self._closed = True
        elif kind == "websocket.http.response.start":
            if self._started:
                raise ProtocolError(f"denial response after accept or twice: {message!r}")
            _check_headers(message)
            self._started = True
        elif kind == "websocket.http.response.body":
            if not self._started or self._trailers:
                raise ProtocolError(f"denial body without a denial start: {message!r}")
            if not _check_bool(message, "more_body"):
                self._closed = True

    def _check_lifespan(self, kind: str, message: Mapping[str, Any]) -> None:
        if kind.endswith(".failed") and not isinstance(message.get("message", ""), str):
            raise ProtocolError(f"lifespan failure message must be a str: {message!r}")


def _check_bool(message: Mapping[str, Any], key: str) -> bool:
    value = message.get(key, False)
    if not isinstance(value, bool):
        raise ProtocolError(f"{key} must be a bool: {message!r}")
    return value


def _check_headers(message: Mapping[str, Any]) -> None:
    for pair in message.get("headers", ()):
        if len(pair) != 2:
            raise ProtocolError(f"a header must be a (name, value) pair: {message!r}")
        name, value = pair
        if not isinstance(name, bytes) or not isinstance(value, bytes):
            raise ProtocolError(f"header names and values must be bytes: {message!r}")
        if name != name.lower():
            raise ProtocolError(f"header names must be lower case, got {name!r}: {message!r}")
        if b"\r" in value or b"\n" in value or b"\x00" in value:
            raise ProtocolError(f"header value with CR, LF or NUL: {message!r}")


_DEFAULT_SCRIPTS: dict[str, tuple[dict[str, Any], ...]] = {
    "http": ({"type": "http.request", "body": b"", "more_body": False},),
    "websocket": ({"type": "websocket.connect"},),
    "lifespan": ({"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}),
}
_DISCONNECT: dict[str, dict[str, Any]] = {
    "http": {"type": "http.disconnect"},
    "websocket": {"type": "websocket.disconnect", "code": 1006, "reason": ""},
}


class Exchange:
    """One request seen from the server's side: a scripted ``receive`` and a recording ``send``.

    ``receive`` returns the scripted messages in order; once they are used up it waits until the
    response is complete (as a server does while the client is connected), then reports a
    disconnect. A WebSocket client sends nothing after its handshake until the handshake is
    answered: so for a ``websocket`` scope, the messages after ``websocket.connect`` wait for
    the app's ``websocket.accept``, and if the app refuses the handshake instead, the client is
    gone (a disconnect). ``send`` validates and records every message, keeping the very
    objects sent.
    """

    def __init__(
        self,
        scope_type: str,
        script: Iterable[Mapping[str, Any]] | None = None,
        *,
        validate: bool = True,
    ) -> None:
        self.scope_type = scope_type
        self.script = list(_DEFAULT_SCRIPTS.get(scope_type, ()) if script is None else script)
        self.sent: list[Mapping[str, Any]] = []
        self.received: list[Mapping[str, Any]] = []
        self.validator = ASGIValidator(scope_type) if validate else None
        self.done = anyio.Event()
        self.answered = anyio.Event()  # the WebSocket handshake was accepted or refused
        self.accepted = False

    def _disconnect(self) -> dict[str, Any]:
        return dict(_DISCONNECT.get(self.scope_type, {"type": f"{self.scope_type}.disconnect"}))

    async def receive(self) -> Mapping[str, Any]:
        """Return the next scripted message, or a disconnect once the response is complete."""
        message: Mapping[str, Any]
        if self.script and self._waits_for_handshake(self.script[0]):
            await self.answered.wait()
            if not self.accepted:  # refused: the client never sends its frames, and is gone
                self.script.clear()
                message = self._disconnect()
                self.received.append(message)
                return message
        if self.script:
            message = self.script.pop(0)
        else:
            await self.done.wait()
            message = self._disconnect()
        self.received.append(message)
        return message

    def _waits_for_handshake(self, message: Mapping[str, Any]) -> bool:
        return self.scope_type == "websocket" and message.get("type") != "websocket.connect"

    async def send(self, message: Mapping[str, Any]) -> None:
        """Validate and record ``message``."""
        if self.validator is not None:
            self.validator.check(message)
            if self.validator.complete:
                self.done.set()
        if message.get("type") in _HANDSHAKE_ANSWERS:
            self.accepted = message["type"] == "websocket.accept"
            self.answered.set()
        self.sent.append(message)


#: What answers a WebSocket handshake: accepted, closed before accepting, or a denial response.
_HANDSHAKE_ANSWERS = frozenset(
    {"websocket.accept", "websocket.close", "websocket.http.response.start"}
)


async def run(
    app: ASGIApp,
    scope: Mapping[str, Any],
    script: Iterable[Mapping[str, Any]] | None = None,
    *,
    validate: bool = True,
    timeout: float = 5.0,
) -> list[Mapping[str, Any]]:
    """Call ``app`` once with ``scope`` and return the messages it sent, in order."""
    exchange = Exchange(scope["type"], script, validate=validate)
    with anyio.fail_after(timeout):
        await app(scope, exchange.receive, exchange.send)
    return exchange.sent


class Streamed(httpx.AsyncByteStream):
    """A request body sent in pieces without a Content-Length, as a chunked upload is.

    An iterator object rather than an async generator: the app may stop reading before the
    end, and an async generator left unfinished is reported when collected under trio.
    """

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self._pieces = iter(pieces)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        try:
            return next(self._pieces)
        except StopIteration:
            raise StopAsyncIteration from None


async def send_streamed(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    pieces: Iterable[bytes],
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """Send ``pieces`` as a chunked upload to ``path``."""
    fields = {"host": client.base_url.host, "transfer-encoding": "chunked", **(headers or {})}
    url = client.base_url.join(path)
    return await client.send(httpx.Request(method, url, stream=Streamed(pieces), headers=fields))
