"""The timeout in the stack: inside the request ID and the access log, outside the app.

Its 504 passes back out through the access log (logged as a 504, not an error) and the request ID
(the 504 carries the ID); ``compose`` takes its layers outermost first.

Run: `uvicorn timeout_stack:app --app-dir docs/examples`, then `curl -i localhost:8000/slow`.
"""

from __future__ import annotations

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware import AccessLogMiddleware, Layer, RequestIDMiddleware, compose
from asgi_middleware.timeout import TimeoutMiddleware


async def slow(request: Request) -> PlainTextResponse:
    """Take longer than the deadline."""
    await anyio.sleep(60)
    return PlainTextResponse("done")


starlette_app = Starlette(routes=[Route("/slow", slow)])

# --8<-- [start:stack]
app = compose(
    starlette_app,
    RequestIDMiddleware,  # the 504 carries the request's ID
    AccessLogMiddleware,  # and is logged as a 504, with that ID
    Layer(TimeoutMiddleware, timeout=10),  # the deadline covers every layer inside it
)
# --8<-- [end:stack]
