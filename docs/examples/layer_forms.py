"""Every form `compose` accepts as a layer, in one stack."""

from __future__ import annotations

from starlette.middleware import Middleware

from asgi_middleware import ASGIApp, Layer, Message, Receive, Scope, Send, compose


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


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer every HTTP request with a plain-text greeting."""
    if scope["type"] != "http":
        return  # Lifespan: nothing to start or stop.
    body = b"Hello, world!\n"
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode("ascii")),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# --8<-- [start:forms]
class NoStoreMiddleware(SetHeaderMiddleware):
    """Set `cache-control: no-store`; every option has a default."""

    __slots__ = ()

    def __init__(self, app: ASGIApp, *, value: str = "no-store") -> None:
        super().__init__(app, name="cache-control", value=value)


def nosniff(app: ASGIApp) -> ASGIApp:
    """Wrap `app` in a configured middleware: a plain `app -> app` callable."""
    return SetHeaderMiddleware(app, name="x-content-type-options", value="nosniff")


app = compose(
    hello,
    # A middleware class: built as NoStoreMiddleware(app).
    NoStoreMiddleware,
    # A Layer: built as SetHeaderMiddleware(app, name=..., value=...).
    Layer(SetHeaderMiddleware, name="x-frame-options", value="DENY"),
    # A Starlette Middleware object, as in a `middleware=[...]` list.
    Middleware(SetHeaderMiddleware, name="referrer-policy", value="no-referrer"),
    # Any callable taking the app and returning an app.
    nosniff,
)
# --8<-- [end:forms]
