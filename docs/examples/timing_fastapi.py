"""Migrating from FastAPI's X-Process-Time recipe: same header, no BaseHTTPMiddleware.

Run it with `uvicorn timing_fastapi:app --app-dir docs/examples`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Depends, FastAPI, Request, Response

from asgi_middleware import TimingMiddleware, record_timing


async def current_user() -> str:
    """A dependency that records how long it took (here: no time at all)."""
    started = time.perf_counter()
    user = "ada"
    record_timing("auth", (time.perf_counter() - started) * 1000)
    return user


def hello(user: str = Depends(current_user)) -> dict[str, str]:
    """Greet the user."""
    return {"hello": user}


# --8<-- [start:before]
# Before: the recipe from FastAPI's documentation.
recipe_app = FastAPI()


@recipe_app.middleware("http")
async def add_process_time_header(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Time the request and add the header."""
    start_time = time.perf_counter()
    response = await call_next(request)
    process_time = time.perf_counter() - start_time
    response.headers["X-Process-Time"] = str(process_time)
    return response


# --8<-- [end:before]


recipe_app.get("/")(hello)

# --8<-- [start:after]
# After: the same header, plus Server-Timing (drop it with server_timing=False).
app = FastAPI()
app.add_middleware(TimingMiddleware, process_time_header=True)
# --8<-- [end:after]

app.get("/")(hello)
