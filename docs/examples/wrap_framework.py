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

from asgi_middleware import Layer, compose

from set_header import SetHeaderMiddleware


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
