"""A Litestar `DefineMiddleware` is a `compose` layer, and fits Litestar's list.

Run it with `uvicorn litestar_app:app --app-dir docs/examples`.
"""

from __future__ import annotations

from litestar import Litestar, get
from litestar.middleware import DefineMiddleware

from asgi_middleware import compose

from set_header import SetHeaderMiddleware


# --8<-- [start:app]
@get("/", sync_to_thread=False)
def hello() -> str:
    """Greet the caller."""
    return "Hello from Litestar!"


nosniff = DefineMiddleware(
    SetHeaderMiddleware,
    name="x-content-type-options",
    value="nosniff",
)

# Recommended: wrap the whole Litestar app, first layer outermost.
app = compose(Litestar(route_handlers=[hello]), nosniff)

# Also supported: Litestar's own middleware list takes the same definition.
listed_app = Litestar(route_handlers=[hello], middleware=[nosniff])
# --8<-- [end:app]
