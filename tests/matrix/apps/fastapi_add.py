"""FastAPI, the stack added with ``add_middleware``: the last call is outermost."""

from __future__ import annotations

from asgi_middleware.metrics import capture_route
from tests.matrix.apps.fastapi_wrapped import fastapi_app
from tests.matrix.stack import stack

app = fastapi_app()
# Innermost first, so that the stack reads in the documented order from the outside in.
app.add_middleware(capture_route)
for cls, options in reversed(stack()):
    app.add_middleware(cls, **options)
