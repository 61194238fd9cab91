"""`compose(app, A, B, C)` is `A(B(C(app)))`: the first layer is outermost.

Each `TraceMiddleware` writes its name into the request on the way in and into
the response on the way out, so one request shows the order both ways. Try
`uvicorn compose_order:app --app-dir docs/examples`, then
`curl -i http://127.0.0.1:8000/`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware import ASGIApp, Layer, Message, Receive, Scope, Send, compose

from set_header import send_text


# --8<-- [start:middleware]
class TraceMiddleware:
    """Record the order in which layers see the request and the response.

    An illustration for these docs: on the way in it appends its name to
    `scope["trail"]` (in a new scope dict); on the way out it adds an `x-seen-by`
    header with its name.
    """

    __slots__ = ("_name", "app")

    def __init__(self, app: ASGIApp, *, name: str) -> None:
        if not (name.isascii() and name.isalnum()):
            msg = f"name must be letters and digits, got {name!r}"
            raise ValueError(msg)
        self.app = app
        self._name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection, tracing an HTTP request and its response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # A new scope: the one we were given is never edited.
        scope = {**scope, "trail": [*scope.get("trail", ()), self._name]}
        seen_by = (b"x-seen-by", self._name.encode("ascii"))

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ()), seen_by]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_wrapper)


async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer with the order in which the request passed the layers."""
    if scope["type"] != "http":
        return  # Lifespan: nothing to start or stop.
    passed = " > ".join([*scope.get("trail", ()), "app"])
    await send_text(send, f"request passed: {passed}\n")  # From set_header.py.


# --8<-- [end:middleware]


# --8<-- [start:compose]
app = compose(
    endpoint,
    Layer(TraceMiddleware, name="A"),  # outermost: sees the request first
    Layer(TraceMiddleware, name="B"),
    Layer(TraceMiddleware, name="C"),  # innermost: next to the app, sees it last
)
# --8<-- [end:compose]

# --8<-- [start:nested]
nested = TraceMiddleware(
    TraceMiddleware(
        TraceMiddleware(endpoint, name="C"),
        name="B",
    ),
    name="A",
)
# --8<-- [end:nested]


# --8<-- [start:starlette]
async def trail(request: Request) -> PlainTextResponse:
    """Answer with the order in which the request passed the layers."""
    passed = " > ".join([*request.scope["trail"], "app"])
    return PlainTextResponse(f"request passed: {passed}\n")


routes = [Route("/", trail)]

# Starlette's middleware list reads like compose: the first entry is outermost.
listed = Starlette(
    routes=routes,
    middleware=[
        Middleware(TraceMiddleware, name="A"),
        Middleware(TraceMiddleware, name="B"),
        Middleware(TraceMiddleware, name="C"),
    ],
)

# add_middleware reads the other way round: the last one added is outermost.
added = Starlette(routes=routes)
added.add_middleware(TraceMiddleware, name="C")
added.add_middleware(TraceMiddleware, name="B")
added.add_middleware(TraceMiddleware, name="A")
# --8<-- [end:starlette]
