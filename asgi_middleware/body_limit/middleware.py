"""Request body limits: 413 for bodies over a limit, 1009 for WebSocket messages (SPEC §13)."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping

from asgi_middleware._kit.headers import HeaderNames
from asgi_middleware._kit.order import check_position
from asgi_middleware._kit.paths import PathTable
from asgi_middleware._kit.responses import content_headers, respond
from asgi_middleware._kit.types import ASGIApp, Message, Receive, Scope, Send, WebSocketCloseEvent
from asgi_middleware.body_limit._limits import (
    declared_length,
    optional_limit,
    require_limit,
    too_large_text,
)

__all__ = ["BodyLimitMiddleware", "RequestBodyTooLargeError"]

_HANDLED = frozenset({"http", "websocket"})
# Content-Length is no list field, but joining its repeats makes a repeated field and their
# combined form ("42, 42", RFC 9110 §8.6) one case: a value with a comma, refused with 400.
_FRAMING = HeaderNames(b"content-length", b"transfer-encoding", lists=(b"content-length",))
_TEXT_PLAIN = b"text/plain; charset=utf-8"
# RFC 9110 §15.5.14 names 413 "Content Too Large" (it was "Payload Too Large").
_TOO_LARGE = 413
_TOO_LARGE_BODY = b"Content Too Large"
_BAD_REQUEST = 400
_INVALID_LENGTH = b"Invalid Content-Length header"
_REPEATED_LENGTH = b"Repeated Content-Length header"
# "connection: close" after a refusal: the rest of the body is never read (RFC 9112 §9.6), and a
# 400 for a bad Content-Length must close (§6.3). HTTP/2 and 3 have no such field (RFC 9113
# §8.2.2), so only HTTP/1.x responses carry it.
_HTTP1 = frozenset({"1.0", "1.1"})
_CLOSE = (b"connection", b"close")
# RFC 6455 §7.4.1: 1009, "a message that is too big for it to process".
_MESSAGE_TOO_BIG = 1009
_MESSAGE_TOO_BIG_REASON = "Message too big"


class RequestBodyTooLargeError(Exception):
    """Raised by ``receive`` when the request body goes over the limit.

    [`BodyLimitMiddleware`][asgi_middleware.body_limit.BodyLimitMiddleware] raises it from the
    ``receive`` it hands the app, on the read whose bytes would take the body over the limit
    (those bytes are never handed over) and on every read after it, so an app cannot mistake
    a cut body for a complete one, as it could an ``http.disconnect``. Let it propagate (as
    Starlette's ``request.body()``, ``request.stream()`` and ``request.form()`` do): the
    middleware then answers ``413`` itself. Catching it is fine too: whatever response the app
    then sends is replaced by the ``413``.

    Attributes:
        limit: The limit in bytes that the body went over.

    Added in version 0.1.0.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than the limit of {limit} bytes")
        self.limit = limit


def _is_ours(error: BaseException) -> bool:
    """Whether ``error`` is the body limit's, or an exception group holding nothing else."""
    members = getattr(error, "exceptions", None)
    if isinstance(members, tuple) and members:  # an ExceptionGroup (or 3.10's backport)
        return all(_is_ours(member) for member in members)
    return isinstance(error, RequestBodyTooLargeError)


async def _dropped() -> None:
    """What ``send`` does with a message that must not reach the server: nothing."""


async def _refuse(scope: Scope, send: Send, status: int, body: bytes) -> None:
    headers = content_headers(body, _TEXT_PLAIN)
    if scope.get("http_version", "1.1") in _HTTP1:
        headers.append(_CLOSE)
    await respond(send, status, headers, body)


async def _refuse_length(scope: Scope, send: Send, field: bytes, declared: int | None) -> None:
    """Answer a request by its ``Content-Length``: 413 if it is too large, else 400."""
    if declared is not None:
        await _refuse(scope, send, _TOO_LARGE, _TOO_LARGE_BODY)
    else:
        reason = _REPEATED_LENGTH if b"," in field else _INVALID_LENGTH
        await _refuse(scope, send, _BAD_REQUEST, reason)


class BodyLimitMiddleware:
    """Refuse request bodies over a size limit with ``413``, without ever reading them.

    For `http` scopes the limit is ``max_body_size``, or the one of the most specific
    ``path_limits`` pattern matching the path (``None`` there: no limit, the request passes
    untouched). Then:

    * a request whose ``Content-Length`` is over the limit gets a complete ``413 Content Too
      Large`` before the app runs, so the app never sees it and the body is never read;
    * a ``Content-Length`` sent twice (or as a list, ``42, 42``) or not a number gets ``400``
      (RFC 9112 §6.3), also without calling the app;
    * a ``Content-Length`` within the limit over HTTP/1.x, without ``Transfer-Encoding``,
      passes untouched: the server reads no more than that many bytes as this body;
    * every other body (chunked, a length beside ``Transfer-Encoding``, HTTP/2 and 3) is
      counted as the app reads it. The read that would take it over the limit raises
      [`RequestBodyTooLargeError`][asgi_middleware.body_limit.RequestBodyTooLargeError] in the
      app instead of handing the bytes over, as does every read after it. When the app has
      returned or raised, the client gets the ``413``: whatever the app sent in between (an
      error page) is dropped, and only that error is swallowed; any other exception propagates
      after the ``413``, and cancellation propagates at once. If the app had already started
      its response, no ``413`` can be sent: the app's further sends raise the same error, and
      the middleware raises it once the app is done, so the server aborts the connection
      rather than present a cut response as complete.

    The middleware's own answers carry ``content-type``, ``content-length`` and, over HTTP/1.x,
    ``connection: close``, so the server closes the connection instead of reading the rest of
    the body. The scope, the messages and the headers are passed on as they came.

    For `websocket` scopes with ``websocket_max_message_size`` set, a received message (text as
    UTF-8, or bytes) over it closes the connection with code 1009 ("message too big"): the
    middleware sends ``websocket.close`` to the server, the app gets a ``websocket.disconnect``
    with code 1009 instead of the message, and what the app sends afterwards is dropped.
    Without it, and for `lifespan` and other scope types, everything passes through untouched.

    Args:
        app: The ASGI application to wrap.
        max_body_size: The largest request body allowed, in bytes (at least 1).
        path_limits: Anchored path patterns (``"/upload"`` exactly, ``"/upload/*"`` for it and
            everything below, relative to ``root_path``, as SPEC §2.9) mapped to their own limit
            in bytes, or to ``None`` for no limit there. The most specific pattern that matches
            decides, whatever the mapping's order: an exact one, then the longest prefix.
        websocket_max_message_size: The largest WebSocket message allowed, in bytes, or
            ``None`` (the default) to leave WebSockets alone.

    Security:
        A limit keeps a client from filling the memory of an app that reads a body whole
        (``await request.body()``, form parsing). Only the crossing read is held back: the app
        holds at most the limit, the server at most one read more. Slow uploads are not this
        layer's job: the server's timeouts and a proxy's limits are (see the docs page).

    Example:
        ```python
        app = BodyLimitMiddleware(
            app, max_body_size=1_000_000, path_limits={"/upload/*": 100_000_000}
        )
        ```

    Added in version 0.1.0.
    """

    __slots__ = ("_limit", "_paths", "_websocket_limit", "app")
    _compose_role = "body_limit"

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_size: int,
        path_limits: Mapping[str, int | None] | None = None,
        websocket_max_message_size: int | None = None,
    ) -> None:
        self.app = app
        check_position(self, app)
        self._limit = require_limit("max_body_size", max_body_size)
        paths = PathTable(
            "path_limits",
            {} if path_limits is None else path_limits,
            optional_limit,
            values="a limit in bytes or None",
        )
        self._paths = paths if paths else None
        self._websocket_limit = (
            None
            if websocket_max_message_size is None
            else require_limit("websocket_max_message_size", websocket_max_message_size)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        kind = scope["type"]
        if kind not in _HANDLED:
            await self.app(scope, receive, send)
            return
        if kind == "websocket":
            await self._websocket(scope, receive, send)
            return
        limit = self._limit if self._paths is None else self._paths.lookup(scope, self._limit)
        if limit is None:
            await self.app(scope, receive, send)
            return
        length, coding = _FRAMING.scan(scope.get("headers", ()))
        if length is not None:
            declared = declared_length(length)
            if declared is None or declared > limit:
                await _refuse_length(scope, send, length, declared)
                return
            # The one fast path (benchmark rows body-limit and body-limit-floor): no count.
            # HTTP/1.x frames a body without Transfer-Encoding by its Content-Length alone
            # (RFC 9112 §6.3): the server reads that many bytes, and any more are the next
            # request, never this body. Counting would cost 0.45 µs more: 1.7x the overhead of
            # the floor (which counts), against 1.06x without. With Transfer-Encoding (which
            # wins over the length, and h11 passes both on), over HTTP/2 and 3 (where the length
            # is a claim beside the framing) and without a Content-Length, the body is counted.
            if coding is None and scope.get("http_version") in _HTTP1:
                await self.app(scope, receive, send)
                return
        await self._counted(scope, receive, send, limit)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Call the app with a ``receive`` that counts the body and stops it at ``limit``."""
        received = 0  # over the limit once a read crossed it: every later read fails too
        started = False  # the app started its response before the crossing

        async def receive_wrapper() -> Message:
            nonlocal received
            if received > limit:
                raise RequestBodyTooLargeError(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise RequestBodyTooLargeError(limit)
            return message

        # A plain function returning send's awaitable, as in RequestIDMiddleware.
        def send_wrapper(message: Message) -> Awaitable[None]:
            nonlocal started
            if received > limit:
                if started:  # no more of a response the client will never get whole
                    raise RequestBodyTooLargeError(limit)
                return _dropped()  # the app's answer to the error: the 413 replaces it
            if message["type"] == "http.response.start":
                started = True
            return send(message)

        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        except Exception as error:  # not BaseException: cancellation propagates as it came
            if received <= limit or started:
                raise
            await _refuse(scope, send, _TOO_LARGE, _TOO_LARGE_BODY)
            if not _is_ours(error):
                raise
            return
        if received > limit:
            if started:
                # ASGI has no message that aborts a response: an exception is how the server
                # learns to close the connection instead of finishing the response.
                raise RequestBodyTooLargeError(limit)
            await _refuse(scope, send, _TOO_LARGE, _TOO_LARGE_BODY)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self._websocket_limit
        if limit is None:
            await self.app(scope, receive, send)
            return
        closed = False  # the middleware closed the connection

        async def receive_wrapper() -> Message:
            nonlocal closed
            if not closed:
                message = await receive()
                if message["type"] != "websocket.receive":
                    return message
                data = message.get("bytes")
                if data is not None:
                    if len(data) <= limit:
                        return message
                elif not too_large_text(message.get("text") or "", limit):
                    return message
                closed = True
                close: WebSocketCloseEvent = {
                    "type": "websocket.close",
                    "code": _MESSAGE_TOO_BIG,
                    "reason": _MESSAGE_TOO_BIG_REASON,
                }
                await send(close)
            return {"type": "websocket.disconnect", "code": _MESSAGE_TOO_BIG, "reason": ""}

        def send_wrapper(message: Message) -> Awaitable[None]:
            # After the close, the server takes nothing more from this connection.
            return _dropped() if closed else send(message)

        await self.app(scope, receive_wrapper, send_wrapper)
