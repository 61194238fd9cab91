"""Quart: the same layers around the app object, or around its `asgi_app`.

`app` wraps the Quart object with `compose`; `wrapped_inside` follows Quart's own
idiom, `app.asgi_app = compose(app.asgi_app, ...)`, and is served as the Quart object.
Try `uvicorn guide_quart:app --app-dir docs/examples`.
"""

from __future__ import annotations

from quart import Quart, request, websocket

from asgi_middleware import (
    ASGIApp,
    AuthenticationMiddleware,
    BearerTokenBackend,
    CORSMiddleware,
    Layer,
    LayerLike,
    Receive,
    RequestIDMiddleware,
    Scope,
    Send,
    compose,
)

ORIGIN = "https://app.example"
TOKEN = "change-me"  # noqa: S105 - a sample's token; read yours from the environment


def make_quart() -> Quart:
    """The Quart app, routes only."""
    quart_app = Quart(__name__)

    @quart_app.get("/whoami")
    async def whoami() -> dict[str, str]:
        return {"user": request.scope["user"].display_name}  # type: ignore[typeddict-item]

    @quart_app.get("/boom")
    async def boom() -> dict[str, str]:
        msg = "something went wrong"
        raise RuntimeError(msg)

    @quart_app.websocket("/ws")
    async def hello() -> None:
        user = websocket.scope["user"]  # type: ignore[typeddict-item]
        await websocket.send(f"hello {user.display_name}")

    return quart_app


# --8<-- [start:layers]
# Outermost first, in the documented order (docs/composition.md).
layers: list[LayerLike] = [
    Layer(
        CORSMiddleware,
        allow_origins=[ORIGIN],
        allow_headers=["Authorization"],
        expose_headers=["X-Request-ID"],
        websocket_origins=[ORIGIN],
    ),
    Layer(RequestIDMiddleware),
    Layer(
        AuthenticationMiddleware,
        backend=BearerTokenBackend(tokens=[TOKEN]),
        exclude_paths=["/boom"],
    ),
]
# --8<-- [end:layers]


# --8<-- [start:scheme]
def default_scheme(app: ASGIApp) -> ASGIApp:
    """Give the app a ``scope["scheme"]`` where the server leaves it out (daphne).

    The key is optional in ASGI, and Quart's WebSocket handling reads it. The scope is
    copied, never edited; ``state`` stays the same dict.
    """

    async def with_scheme(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in {"http", "websocket"} and "scheme" not in scope:
            scheme = "ws" if scope["type"] == "websocket" else "http"
            scope = {**scope, "scheme": scheme}
        await app(scope, receive, send)

    return with_scheme


# --8<-- [end:scheme]

# --8<-- [start:wrapped]
quart_app = make_quart()  # keep it for routes, config and the test client

# Serve `app`: every request and handshake passes through the layers.
app = compose(quart_app, *layers, default_scheme)
# --8<-- [end:wrapped]

# --8<-- [start:asgi_app]
wrapped_inside = make_quart()
# Quart's own idiom: wrap asgi_app and serve the Quart object itself.
wrapped_inside.asgi_app = compose(  # type: ignore[method-assign, assignment]
    wrapped_inside.asgi_app, *layers, default_scheme
)
# --8<-- [end:asgi_app]
