"""A Litestar `DefineMiddleware` is a `compose` layer, and fits Litestar's list.

Run it with `uvicorn litestar_app:app --app-dir docs/examples`.
"""

from __future__ import annotations

from litestar import Litestar, get
from litestar.middleware import DefineMiddleware

from asgi_middleware import ASGIApp, Message, Receive, Scope, Send, compose


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


# --8<-- [start:app]
@get("/", sync_to_thread=False)
def hello() -> str:
    """Greet the caller."""
    return "Hello from Litestar!"


nosniff = DefineMiddleware(
    SetHeaderMiddleware,
    name="x-content-type-options",
    value="nosniff",
)

# Recommended: wrap the whole Litestar app, first layer outermost.
app = compose(Litestar(route_handlers=[hello]), nosniff)

# Also supported: Litestar's own middleware list takes the same definition.
listed_app = Litestar(route_handlers=[hello], middleware=[nosniff])
# --8<-- [end:app]
