"""Litestar: the same layers wrapped around the app object, or in Litestar's own list.

`app` wraps the Litestar object with `compose`; `listed` passes the same
`DefineMiddleware` list to `Litestar(middleware=...)`, which runs it around matched
route handlers only. Try `uvicorn guide_litestar:listed --app-dir docs/examples`, then
`curl -i http://127.0.0.1:8000/nope -H "Origin: https://app.example"`.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, get
from litestar.middleware import DefineMiddleware

from asgi_middleware import (
    AccessLogMiddleware,
    AuthenticationMiddleware,
    BearerTokenBackend,
    CORSMiddleware,
    RequestIDMiddleware,
    compose,
)

ORIGIN = "https://app.example"
TOKEN = "change-me"  # noqa: S105 - a sample's token; read yours from the environment


@get("/whoami")
async def whoami(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The user the authentication layer found (Litestar reads ``scope["user"]``)."""
    return {"user": request.scope["user"].display_name}


@get("/boom")
async def boom() -> dict[str, str]:
    """Fail with an exception nothing handles."""
    msg = "something went wrong"
    raise RuntimeError(msg)


# --8<-- [start:layers]
# Outermost first, in the documented order (docs/composition.md).
middleware = [
    DefineMiddleware(
        CORSMiddleware,
        allow_origins=[ORIGIN],
        allow_headers=["Authorization"],
        expose_headers=["X-Request-ID"],
    ),
    DefineMiddleware(RequestIDMiddleware),
    DefineMiddleware(AccessLogMiddleware),
    DefineMiddleware(
        AuthenticationMiddleware,
        backend=BearerTokenBackend(tokens=[TOKEN]),
        exclude_paths=["/boom"],
    ),
]
# --8<-- [end:layers]

# --8<-- [start:wrapped]
# Recommended: every request passes through the layers, a 404 or 405 included.
app = compose(Litestar(route_handlers=[whoami, boom]), *middleware)
# --8<-- [end:wrapped]

# --8<-- [start:listed]
# Litestar's own list: the same order (first entry outermost), run only for a
# request that matched a route handler.
listed = Litestar(route_handlers=[whoami, boom], middleware=middleware)
# --8<-- [end:listed]
