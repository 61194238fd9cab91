"""Litestar, the stack in its ``middleware=[...]`` list (first entry outermost).

Litestar runs its list around each matched route handler, after routing; the router has
written ``scope["path_template"]`` by then, so the metrics layer reads it without help.
"""

from __future__ import annotations

from litestar.middleware import DefineMiddleware

from tests.matrix.apps.litestar_wrapped import litestar_app
from tests.matrix.stack import stack

app = litestar_app(middleware=[DefineMiddleware(cls, **options) for cls, options in stack()])
