"""Starlette: the same layers wrapped around the app object, or in Starlette's own list.

`app` wraps the Starlette object with `compose`; `listed` passes the same list to
`Starlette(middleware=...)`; `added` builds it with `add_middleware`. Try
`uvicorn guide_starlette:app --app-dir docs/examples`, then
`curl -i http://127.0.0.1:8000/boom -H "Origin: https://app.example"`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asgi_middleware import (
    AuthenticationMiddleware,
    BearerTokenBackend,
    CORSMiddleware,
    RequestIDMiddleware,
    compose,
)

ORIGIN = "https://app.example"
TOKEN = "change-me"  # noqa: S105 - a sample's token; read yours from the environment


async def whoami(request: Request) -> JSONResponse:
    """The user the authentication layer found."""
    return JSONResponse({"user": request.user.display_name})


async def boom(request: Request) -> JSONResponse:
    """Fail with an exception nothing handles."""
    msg = "something went wrong"
    raise RuntimeError(msg)


routes = [Route("/whoami", whoami), Route("/boom", boom)]

# --8<-- [start:layers]
# Outermost first, in the documented order (docs/composition.md).
middleware = [
    Middleware(
        CORSMiddleware,
        allow_origins=[ORIGIN],
        allow_headers=["Authorization"],
        expose_headers=["X-Request-ID"],
    ),
    Middleware(RequestIDMiddleware),
    Middleware(
        AuthenticationMiddleware,
        backend=BearerTokenBackend(tokens=[TOKEN]),
        exclude_paths=["/boom"],
    ),
]
# --8<-- [end:layers]

# --8<-- [start:wrapped]
# Recommended: the layers wrap the whole Starlette object, its error handler included.
app = compose(Starlette(routes=routes), *middleware)
# --8<-- [end:wrapped]

# --8<-- [start:listed]
# Starlette's own list: the same order (first entry outermost), but inside
# Starlette's ServerErrorMiddleware.
listed = Starlette(routes=routes, middleware=middleware)
# --8<-- [end:listed]

# --8<-- [start:added]
# add_middleware wraps everything added before it: the last call is outermost,
# so add the layers innermost first.
added = Starlette(routes=routes)
added.add_middleware(
    AuthenticationMiddleware,
    backend=BearerTokenBackend(tokens=[TOKEN]),
    exclude_paths=["/boom"],
)
added.add_middleware(RequestIDMiddleware)
added.add_middleware(
    CORSMiddleware,
    allow_origins=[ORIGIN],
    allow_headers=["Authorization"],
    expose_headers=["X-Request-ID"],
)
# --8<-- [end:added]
