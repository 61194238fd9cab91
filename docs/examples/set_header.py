"""The middleware and the endpoint the other docs samples share.

`SetHeaderMiddleware` is an illustration for these docs, not part of the package. The
other samples import from this file as a sibling module, `from set_header import ...`,
which works when they run as the docs say: `uvicorn raw_asgi:app --app-dir docs/examples`
puts `docs/examples` on `sys.path`. Run alone, `uvicorn set_header:app --app-dir
docs/examples` serves `hello` with one header set.
"""

from __future__ import annotations

from asgi_middleware import ASGIApp, Message, Receive, Scope, Send


class SetHeaderMiddleware:
    """Set one response header on every HTTP response.

    An illustration for these docs, not part of the package. Every other scope type
    (`lifespan`, `websocket`) passes through untouched.
    """

    __slots__ = ("_name", "_value", "app")

    def __init__(self, app: ASGIApp, *, name: str, value: str) -> None:
        if not (name.isascii() and name.replace("-", "").isalnum()):
            msg = f"name must be letters, digits and '-', got {name!r}"
            raise ValueError(msg)
        if not (value.isascii() and value.isprintable()):
            msg = f"value must be printable ASCII, got {value!r}"
            raise ValueError(msg)
        self.app = app
        # Encoded once here, so a request only compares and copies bytes.
        self._name = name.lower().encode("ascii")
        self._value = value.encode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection, setting the header on an HTTP response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A new message with a new header list: the app's stay untouched.
                headers = [
                    (key, value)
                    for key, value in message.get("headers", ())
                    if key.lower() != self._name
                ]
                headers.append((self._name, self._value))
                message = {**message, "headers": headers}
            await send(message)  # Every other message is forwarded as it came.

        await self.app(scope, receive, send_wrapper)


async def send_text(send: Send, text: str) -> None:
    """Send a complete `200` plain-text response: the start message, then the body."""
    body = text.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode("ascii")),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer every HTTP request with a plain-text greeting."""
    if scope["type"] != "http":
        return  # Lifespan: nothing to start or stop. This app serves HTTP only.
    await send_text(send, "Hello, world!\n")


# A middleware is itself an ASGI app: one layer needs no `compose`.
app = SetHeaderMiddleware(hello, name="x-content-type-options", value="nosniff")
