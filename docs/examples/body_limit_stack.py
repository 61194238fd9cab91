"""The body limit in the recommended order: inside CORS and the request ID, outside the app.

Its 413 passes back out through the request ID (the refusal carries an ID), CORS (the page can
read it) and the security headers; ``compose`` takes its layers outermost first.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asgi_middleware import (
    CORSMiddleware,
    Layer,
    RequestIDMiddleware,
    SecurityHeadersMiddleware,
    TrustedHostMiddleware,
    compose,
)
from asgi_middleware.body_limit import BodyLimitMiddleware


async def create(request: Request) -> JSONResponse:
    """Parse a JSON body."""
    return JSONResponse(await request.json(), status_code=201)


starlette_app = Starlette(routes=[Route("/items", create, methods=["POST"])])

# --8<-- [start:stack]
app = compose(
    starlette_app,
    SecurityHeadersMiddleware,
    Layer(CORSMiddleware, allow_origins=["https://app.example.com"]),
    RequestIDMiddleware,
    Layer(TrustedHostMiddleware, allowed_hosts=["api.example.com"]),
    Layer(BodyLimitMiddleware, max_body_size=1_000_000),
)
# --8<-- [end:stack]
