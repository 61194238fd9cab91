"""Responses a middleware sends by itself: complete small replies and WebSocket refusals.

A middleware that answers instead of the app (a CORS preflight, a 401) sends a complete response
with ``content-length`` (SPEC §2.7); a WebSocket it refuses is refused before the handshake is
accepted, the same way everywhere (SPEC §3, §8).
"""

from __future__ import annotations

from collections.abc import Sequence

from asgi_middleware._kit.types import (
    Headers,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Scope,
    Send,
    WebSocketCloseEvent,
    WebSocketResponseBodyEvent,
    WebSocketResponseStartEvent,
)

__all__ = ["MAX_CLOSE_REASON", "POLICY_VIOLATION", "content_headers", "deny_websocket", "respond"]

#: RFC 6455 §7.4.1: "policy violation", the generic refusal; 1000 would say all went well.
POLICY_VIOLATION = 1008
#: Bytes a close frame's reason may hold: 125 of payload less the 2-byte code (RFC 6455 §5.5).
MAX_CLOSE_REASON = 123
_DENIAL = "websocket.http.response"


def content_headers(body: bytes, content_type: bytes | None = None) -> Headers:
    """Return the ``content-type`` (when given) and ``content-length`` fields of ``body``.

    A new list, so the caller may add its own fields to it.
    """
    length = (b"content-length", b"%d" % len(body))
    return [(b"content-type", content_type), length] if content_type is not None else [length]


async def respond(
    send: Send, status: int, headers: Sequence[Sequence[bytes]], body: bytes = b""
) -> None:
    """Send a complete HTTP response: the start message, then ``body`` in one final message.

    ``headers`` are sent as given: build them with :func:`content_headers` so that they carry
    ``content-length``.
    """
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": headers,
    }
    await send(start)
    final: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(final)


async def deny_websocket(
    scope: Scope,
    send: Send,
    status: int,
    headers: Sequence[Sequence[bytes]],
    body: bytes,
    *,
    reason: str = "",
) -> None:
    """Refuse a WebSocket handshake before it is accepted.

    The HTTP response (``status``, ``headers``, ``body``, complete as :func:`respond` sends it)
    goes out through the ``websocket.http.response`` extension when the server offers it;
    otherwise the handshake is closed with code 1008 and ``reason``, cut to
    :data:`MAX_CLOSE_REASON` bytes of UTF-8 without splitting a character.
    """
    if _DENIAL in (scope.get("extensions") or {}):
        start: WebSocketResponseStartEvent = {
            "type": "websocket.http.response.start",
            "status": status,
            "headers": headers,
        }
        await send(start)
        final: WebSocketResponseBodyEvent = {
            "type": "websocket.http.response.body",
            "body": body,
            "more_body": False,
        }
        await send(final)
        return
    encoded = reason.encode("utf-8")
    if len(encoded) > MAX_CLOSE_REASON:
        reason = encoded[:MAX_CLOSE_REASON].decode("utf-8", "ignore")
    close: WebSocketCloseEvent = {
        "type": "websocket.close",
        "code": POLICY_VIOLATION,
        "reason": reason,
    }
    await send(close)
