"""A Starlette app, wrapped whole with `compose` or given the class in its list.

Run it with `uvicorn starlette_app:app --app-dir docs/examples`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware import Layer, compose

from set_header import SetHeaderMiddleware


# --8<-- [start:app]
async def homepage(request: Request) -> PlainTextResponse:
    """Greet the caller."""
    return PlainTextResponse("Hello from Starlette!\n")


routes = [Route("/", homepage)]

# Recommended: wrap the whole application object, first layer outermost.
app = compose(
    Starlette(routes=routes),
    Layer(SetHeaderMiddleware, name="x-content-type-options", value="nosniff"),
)

# Also supported: Starlette's own middleware list takes the same class and options.
listed_app = Starlette(
    routes=routes,
    middleware=[
        Middleware(SetHeaderMiddleware, name="x-content-type-options", value="nosniff"),
    ],
)
# --8<-- [end:app]
