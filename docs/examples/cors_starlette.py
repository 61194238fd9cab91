"""Switch from Starlette's CORSMiddleware: change the import, keep the options.

Try `uvicorn cors_starlette:app --app-dir docs/examples` and
`curl -i -H "Origin: https://app.example.com" http://127.0.0.1:8000/boom`.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# --8<-- [start:import]
# Before: from starlette.middleware.cors import CORSMiddleware
from asgi_middleware import CORSMiddleware, Layer, compose

# --8<-- [end:import]

ORIGINS = ["https://app.example.com"]


async def items(request: Request) -> Response:
    """List items."""
    return JSONResponse(["a", "b"])


async def boom(request: Request) -> Response:
    """Fail with an exception nothing handles."""
    msg = "something went wrong"
    raise RuntimeError(msg)


routes = [Route("/items", items), Route("/boom", boom)]

# --8<-- [start:add]
# The usual way, unchanged: add_middleware with Starlette's option names.
added = Starlette(routes=routes)
added.add_middleware(
    CORSMiddleware,
    allow_origins=ORIGINS,
    allow_methods=["GET", "POST"],
    allow_credentials=True,
)

api = FastAPI()
api.add_middleware(CORSMiddleware, allow_origins=ORIGINS, allow_credentials=True)
# --8<-- [end:add]

# --8<-- [start:compose]
# Recommended: wrap the whole app object, outside Starlette's error handler, so that
# a 500 carries CORS headers too and the page can read the error.
app = compose(
    Starlette(routes=routes),
    Layer(CORSMiddleware, allow_origins=ORIGINS, allow_credentials=True),
)
# --8<-- [end:compose]
