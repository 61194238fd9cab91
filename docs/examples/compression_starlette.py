"""Starlette with CompressionMiddleware: zstd, br or gzip, whichever the client prefers.

Run it with `uvicorn compression_starlette:app --app-dir docs/examples`, then
`curl --compressed -i http://127.0.0.1:8000/users`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asgi_middleware import CompressionMiddleware

USERS = [{"id": index, "name": f"user {index}", "plan": "team"} for index in range(100)]


async def users(request: Request) -> JSONResponse:
    """A JSON list, large enough to be worth compressing."""
    return JSONResponse(USERS)


# --8<-- [start:app]
app = Starlette(
    routes=[Route("/users", users)],
    middleware=[
        Middleware(
            CompressionMiddleware,
            minimum_size=1024,  # below ~1 KB the headers cost more than coding saves
            encodings=("zstd", "br", "gzip"),  # server preference, used to break ties
            gzip_level=6,
            brotli_quality=4,
            zstd_level=3,
        )
    ],
)
# --8<-- [end:app]
