"""What the trusted-host and HTTPS-redirect unit tests share: the app, the replies, the headers."""

from __future__ import annotations

from typing import Any

from asgi_middleware import Receive, Scope, Send
from tests.support.asgi import body, respond, start

__all__ = ["DENIAL", "OK", "PLAIN", "Recorder", "host", "refusal"]

PLAIN = (b"content-type", b"text/plain; charset=utf-8")
#: What the recorder answers an HTTP request that reached it.
OK = [
    start(200, [(b"content-type", b"text/plain"), (b"content-length", b"2")]),
    {"type": "http.response.body", "body": b"ok"},
]
#: The extensions of a server that offers the WebSocket denial response.
DENIAL: dict[str, Any] = {"websocket.http.response": {}}


def refusal(reason: bytes) -> list[dict[str, Any]]:
    """The complete 400 the middleware sends for ``reason``."""
    return [start(400, [PLAIN, (b"content-length", str(len(reason)).encode())]), body(reason)]


class Recorder:
    """An app that records the scope it got and answers ``ok``."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close"})
        else:
            await respond(send, b"ok")


def host(value: str | bytes) -> list[tuple[str | bytes, str | bytes]]:
    """Request headers with one Host field."""
    return [("accept", "*/*"), ("host", value)]
