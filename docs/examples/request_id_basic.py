"""Request IDs in a Starlette app: read them from the request, find them in the response.

Run: `uvicorn request_id_basic:app --app-dir docs/examples`, then
`curl -i localhost:8000/` (a fresh ID) or `curl -i -H 'X-Request-ID: abc-123' localhost:8000/`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asgi_middleware import RequestIDMiddleware, compose, get_request_id


# --8<-- [start:endpoint]
async def show_id(request: Request) -> JSONResponse:
    """Return the request ID, as the state attribute and through get_request_id()."""
    return JSONResponse({"state": request.state.request_id, "contextvar": get_request_id()})


# --8<-- [end:endpoint]

# --8<-- [start:wrap]
starlette_app = Starlette(routes=[Route("/", show_id)])

# Wrap the framework app itself, so that its 500 responses carry the ID too.
app = compose(starlette_app, RequestIDMiddleware)
# --8<-- [end:wrap]
