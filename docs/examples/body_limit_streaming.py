"""Stream an upload to disk, and never keep a file that the body limit cut short.

The limit's error comes out of the app's ``receive`` (here inside ``request.stream()``) on the
read that would cross the limit. The endpoint deletes what it wrote and lets the error go on;
the middleware then answers 413.
"""

from __future__ import annotations

import os
import tempfile

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asgi_middleware.body_limit import BodyLimitMiddleware, RequestBodyTooLargeError

#: Where uploads go (the tests point it at a temporary folder).
UPLOAD_DIR = anyio.Path(os.environ.get("UPLOAD_DIR", tempfile.gettempdir()))


# --8<-- [start:endpoint]
async def store(request: Request) -> JSONResponse:
    """Write the body to a file as it arrives; delete the file if the body is too large."""
    target = UPLOAD_DIR / request.path_params["name"]
    try:
        async with await anyio.open_file(target, "wb") as file:
            async for chunk in request.stream():
                await file.write(chunk)
    except RequestBodyTooLargeError:
        await target.unlink(missing_ok=True)  # a cut upload is never kept
        raise  # the middleware answers 413
    return JSONResponse({"stored": target.name}, status_code=201)


# --8<-- [end:endpoint]


app = BodyLimitMiddleware(
    Starlette(routes=[Route("/files/{name:str}", store, methods=["PUT"])]),
    max_body_size=5_000_000,
)
