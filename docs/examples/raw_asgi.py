"""A raw ASGI application wrapped with `compose`: no framework at all.

Run it with `uvicorn raw_asgi:app --app-dir docs/examples`.
"""

from __future__ import annotations

from asgi_middleware import Layer, compose

from set_header import SetHeaderMiddleware, hello

# --8<-- [start:compose]
# First layer outermost: a request meets x-content-type-options first.
app = compose(
    hello,
    Layer(SetHeaderMiddleware, name="x-content-type-options", value="nosniff"),
    Layer(SetHeaderMiddleware, name="x-frame-options", value="DENY"),
)
# --8<-- [end:compose]
