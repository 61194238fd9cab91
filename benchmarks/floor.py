"""The floor: each middleware's job as the smallest hand-written pure-ASGI class.

No options, no validation, no features beyond what the benchmark's request needs; every value is
fixed at construction. They use the same cheap idioms our middleware use (a send wrapper that is a
plain function returning ``send``'s awaitable, header names compared as the lower-case bytes
servers deliver, structlog's context variables set directly), so that the gap between a row of ours
and the floor is the cost of everything ours does beyond the bare job: option handling, checks of
client input, redaction, header merging, edge cases. The rows are the reference of the ``stack-*``
and ``access-log-json-floor`` scenarios (see benchmarks/README.md).

These classes exist to be measured. They are not safe middleware: the floor's CORS answers its
origin's preflights without reading what they ask for, the request ID trusts whatever the client
sends, and so on.
"""

from __future__ import annotations

import asyncio
import os
import zlib
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from time import perf_counter_ns
from typing import Any

import structlog

from benchmarks.model import ASGIApp, Message, Scope

__all__ = [
    "METHOD_VAR",
    "PATH_VAR",
    "REQUEST_ID_VAR",
    "FloorAccessLog",
    "FloorAuth",
    "FloorCORS",
    "FloorCredentials",
    "FloorGZip",
    "FloorRequestID",
    "FloorTiming",
    "FloorUser",
    "send_unauthorized",
    "structlog_var",
]

Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def structlog_var(key: str) -> ContextVar[Any]:
    """Return the context variable structlog keeps ``key`` of its contextvars context in.

    ``bind_contextvars`` returns one token per key and each token names its variable; setting
    that variable is then what ``bind_contextvars(key=...)`` does, without the per-call dict and
    name lookups. The binding made here to find it is undone at once.

    Args:
        key: The structlog context key, such as ``request_id``.

    Returns:
        The variable; it holds ``Ellipsis`` while the key is unbound.
    """
    tokens = structlog.contextvars.bind_contextvars(**{key: None})
    structlog.contextvars.reset_contextvars(**tokens)
    variable: ContextVar[Any] = tokens[key].var
    return variable


# The three keys our access log and request-ID middleware bind; the floor binds the same ones.
METHOD_VAR = structlog_var("method")
PATH_VAR = structlog_var("path")
REQUEST_ID_VAR = structlog_var("request_id")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            found: bytes = value
            return found
    return None


class FloorCORS:
    """CORS for one credentialed origin: headers on its responses, a fixed preflight answer."""

    __slots__ = ("_added", "_origin", "_preflight", "app")

    def __init__(self, app: ASGIApp, origin: str) -> None:
        self.app = app
        self._origin = origin.encode("latin-1")
        allow = (
            (b"access-control-allow-origin", self._origin),
            (b"access-control-allow-credentials", b"true"),
        )
        self._added = (*allow, (b"access-control-expose-headers", b"x-total"), (b"vary", b"Origin"))
        self._preflight = [
            *allow,
            (b"access-control-allow-methods", b"GET, POST"),
            (b"access-control-allow-headers", b"x-custom"),
            (b"access-control-max-age", b"600"),
            (b"vary", b"Origin"),
            (b"content-length", b"0"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the CORS headers when the request comes from the origin."""
        if scope["type"] != "http" or _header(scope, b"origin") != self._origin:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method"):
            headers = list(self._preflight)
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        added = self._added

        def send_wrapper(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *added]}
            return send(message)

        await self.app(scope, receive, send_wrapper)


class FloorRequestID:
    """The client's ``X-Request-ID`` as it came, else a new UUID4; bound and sent back."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Bind the ID in structlog's context and add it to the response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        value = _header(scope, b"x-request-id")
        if value is None:
            # A UUID version 4 (RFC 9562 §5.4): 122 random bits, then the version and variant.
            raw = bytearray(os.urandom(16))
            raw[6] = raw[6] & 0x0F | 0x40
            raw[8] = raw[8] & 0x3F | 0x80
            request_id = raw.hex()
            value = request_id.encode("ascii")
        else:
            request_id = value.decode("latin-1")
        entry = (b"x-request-id", value)

        def send_wrapper(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), entry]}
            return send(message)

        token = REQUEST_ID_VAR.set(request_id)
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            REQUEST_ID_VAR.reset(token)


class FloorAccessLog:
    """One structlog event per HTTP request, with the fields our access log writes."""

    __slots__ = ("_logger", "app")

    def __init__(self, app: ASGIApp, logger: Any) -> None:
        self.app = app
        self._logger = logger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Watch the request and response, then log them in ``finally``."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter_ns()
        status = 0
        ttfb = finished = 0
        sent = 0
        complete = disconnected = cancelled = False

        async def receive_wrapper() -> Message:
            nonlocal disconnected
            message: Message = await receive()
            if message["type"] == "http.disconnect" and not complete:
                disconnected = True
            return message

        def send_wrapper(message: Message) -> Awaitable[None]:
            nonlocal status, ttfb, finished, sent, complete
            kind = message["type"]
            if kind == "http.response.body":
                sent += len(message.get("body", b""))
                if not message.get("more_body", False):
                    finished = perf_counter_ns()
                    complete = True
            elif kind == "http.response.start":
                ttfb = perf_counter_ns()
                status = message["status"]
            return send(message)

        error: BaseException | None = None
        method_token = METHOD_VAR.set(scope["method"])
        path_token = PATH_VAR.set(scope["path"])
        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        except asyncio.CancelledError:
            cancelled = True
            raise
        except Exception as exc:
            error = exc
            raise
        finally:
            if not status:
                status = 499 if cancelled or (disconnected and error is None) else 500
            fields = {
                "method": scope["method"],
                "path": scope["path"],
                "query": scope["query_string"].decode("latin-1"),
                "status": status,
                "duration_ms": ((finished or perf_counter_ns()) - started) // 1000 / 1000,
                "ttfb_ms": (ttfb - started) // 1000 / 1000 if ttfb else None,
                "bytes_sent": sent,
                "disconnected": disconnected,
                "cancelled": cancelled,
            }
            try:
                self._emit(scope, fields, error)
            finally:
                PATH_VAR.reset(path_token)
                METHOD_VAR.reset(method_token)

    def _emit(self, scope: Scope, fields: dict[str, Any], error: BaseException | None) -> None:
        client = scope.get("client")
        agent = _header(scope, b"user-agent")
        request_id = REQUEST_ID_VAR.get()
        fields["client"] = f"{client[0]}:{client[1]}" if client else None
        fields["http_version"] = scope["http_version"]
        fields["user_agent"] = None if agent is None else agent.decode("latin-1")
        fields["request_id"] = None if request_id is ... else request_id
        status, logger = fields["status"], self._logger
        if error is not None:
            logger.error("http_request", exc_info=error, **fields)
        elif status >= 500:
            logger.error("http_request", **fields)
        elif status >= 400 or fields["cancelled"]:
            logger.warning("http_request", **fields)
        else:
            logger.info("http_request", **fields)


class FloorTiming:
    """``Server-Timing: app;dur=<ms>``, the time to the response's start."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the header when the response starts."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter_ns()

        def send_wrapper(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                entry = (b"server-timing", b"app;dur=%.3f" % ((perf_counter_ns() - started) / 1e6))
                message = {**message, "headers": [*message.get("headers", ()), entry]}
            return send(message)

        await self.app(scope, receive, send_wrapper)


class FloorUser:
    """What ``scope["user"]`` needs to offer an app: Starlette's ``BaseUser`` properties."""

    __slots__ = ("display_name", "identity")
    is_authenticated = True

    def __init__(self, name: str) -> None:
        self.display_name = name
        self.identity = name


class FloorCredentials:
    """What ``scope["auth"]`` needs to offer an app: Starlette's ``AuthCredentials.scopes``."""

    __slots__ = ("scopes",)

    def __init__(self, scopes: tuple[str, ...]) -> None:
        self.scopes = scopes


_UNAUTHORIZED = b'{"detail":"Authentication required"}'
_UNAUTHORIZED_HEADERS = (
    (b"content-type", b"application/json"),
    (b"content-length", b"%d" % len(_UNAUTHORIZED)),
    (b"www-authenticate", b'Bearer realm="api"'),
)


async def send_unauthorized(send: Send) -> None:
    """Answer a complete 401 with the bearer challenge."""
    headers = list(_UNAUTHORIZED_HEADERS)
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": _UNAUTHORIZED})


class FloorAuth:
    """``Authorization: Bearer <token>`` looked up in a dict; anything else is a 401."""

    __slots__ = ("_known", "app")

    def __init__(self, app: ASGIApp, tokens: Mapping[str, str], scopes: tuple[str, ...]) -> None:
        self.app = app
        credentials = FloorCredentials(scopes)
        self._known = {
            f"Bearer {token}".encode("latin-1"): (FloorUser(user), credentials)
            for token, user in tokens.items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Set ``user`` and ``auth`` on a new scope, or answer 401."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        value = _header(scope, b"authorization")
        found = None if value is None else self._known.get(value)
        if found is None:
            await send_unauthorized(send)
            return
        await self.app({**scope, "user": found[0], "auth": found[1]}, receive, send)


class FloorGZip:
    """Gzip at level 6 for clients that accept it, once a body reaches 500 bytes."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hold the start message until the first body chunk decides."""
        accept = _header(scope, b"accept-encoding") if scope["type"] == "http" else None
        if accept is None or b"gzip" not in accept:
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        compressor: Any = None

        async def send_wrapper(message: Message) -> None:
            nonlocal held, compressor
            kind = message["type"]
            if compressor is not None and kind == "http.response.body":
                body = compressor.compress(message.get("body", b""))
                more = message.get("more_body", False)
                body += compressor.flush(zlib.Z_SYNC_FLUSH if more else zlib.Z_FINISH)
                await send({"type": kind, "body": body, "more_body": more})
                return
            if kind == "http.response.start":
                held = message
                return
            if held is None or kind != "http.response.body":
                await send(message)
                return
            start, held = held, None
            body = message.get("body", b"")
            more = message.get("more_body", False)
            headers = start.get("headers", ())
            if (not more and len(body) < 500) or any(
                name == b"content-encoding" for name, _ in headers
            ):
                await send(start)
                await send(message)
                return
            compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
            kept = [(name, value) for name, value in headers if name != b"content-length"]
            kept += [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")]
            data = compressor.compress(body) + compressor.flush(
                zlib.Z_SYNC_FLUSH if more else zlib.Z_FINISH
            )
            if not more:
                kept.append((b"content-length", b"%d" % len(data)))
            await send({**start, "headers": kept})
            await send({"type": kind, "body": data, "more_body": more})

        await self.app(scope, receive, send_wrapper)
