"""Path limits: the most specific pattern that matches decides, whatever the order."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asgi_middleware.body_limit import BodyLimitMiddleware


async def size(request: Request) -> JSONResponse:
    """Read the body whole and answer with its size."""
    return JSONResponse({"size": len(await request.body())})


starlette_app = Starlette(
    routes=[
        Route("/upload/avatar", size, methods=["PUT"]),
        Route("/upload/{name}", size, methods=["PUT"]),
        Route("/export", size, methods=["POST"]),
    ]
)

# --8<-- [start:paths]
app = BodyLimitMiddleware(
    starlette_app,
    max_body_size=100_000,  # 100 kB wherever no pattern matches
    path_limits={
        "/upload/*": 50_000_000,  # /upload and everything below it: 50 MB...
        "/upload/avatar": 2_000_000,  # ...but this one path, more specific: 2 MB
    },
)
# --8<-- [end:paths]
