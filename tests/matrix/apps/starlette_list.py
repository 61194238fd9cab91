"""Starlette, the stack in its ``middleware=[...]`` list (first entry outermost)."""

from __future__ import annotations

from starlette.middleware import Middleware

from asgi_middleware.metrics import capture_route
from tests.matrix.apps.starlette_wrapped import starlette_app
from tests.matrix.stack import stack

# capture_route innermost: the layers inside the metrics one pass new scope dicts inward, so the
# router's keys reach the metrics layer only through scope["state"] (docs/metrics.md).
app = starlette_app(
    middleware=[
        *(Middleware(cls, **options) for cls, options in stack()),
        Middleware(capture_route),
    ]
)
