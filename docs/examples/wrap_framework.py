"""Wrap the framework's app object, so an unhandled exception's 500 gets our headers.

Starlette (and FastAPI, built on it) puts its `ServerErrorMiddleware` outermost in
its own stack: middleware given to `add_middleware` sits inside it. Try
`uvicorn wrap_framework:app --app-dir docs/examples` and
`curl -i http://127.0.0.1:8000/boom`.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

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


# --8<-- [start:app]
async def homepage(request: Request) -> PlainTextResponse:
    """Answer normally."""
    return PlainTextResponse("Hello!\n")


async def boom(request: Request) -> PlainTextResponse:
    """Fail with an exception nothing handles."""
    msg = "something went wrong"
    raise RuntimeError(msg)


routes = [Route("/", homepage), Route("/boom", boom)]

# Inside: add_middleware puts the layer inside Starlette's ServerErrorMiddleware.
# The 500 for /boom is sent from outside it, without the header.
inside = Starlette(routes=routes)
inside.add_middleware(
    SetHeaderMiddleware,
    name="access-control-allow-origin",
    value="https://app.example",
)

# Outside: compose wraps the whole Starlette object, error handler included.
# The 500 for /boom passes through the layer on its way out and carries the header.
app = compose(
    Starlette(routes=routes),
    Layer(
        SetHeaderMiddleware,
        name="access-control-allow-origin",
        value="https://app.example",
    ),
)
# --8<-- [end:app]


# --8<-- [start:fastapi]
router = APIRouter()


@router.get("/boom")
async def fastapi_boom() -> dict[str, str]:
    """Fail with an exception nothing handles."""
    msg = "something went wrong"
    raise RuntimeError(msg)


# FastAPI builds the same stack: ServerErrorMiddleware outermost, then
# what add_middleware added.
fastapi_inside = FastAPI()
fastapi_inside.include_router(router)
fastapi_inside.add_middleware(
    SetHeaderMiddleware,
    name="access-control-allow-origin",
    value="https://app.example",
)

api = FastAPI()
api.include_router(router)
fastapi_app = compose(
    api,
    Layer(
        SetHeaderMiddleware,
        name="access-control-allow-origin",
        value="https://app.example",
    ),
)
# --8<-- [end:fastapi]
