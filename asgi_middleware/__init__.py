"""Pure-ASGI middleware that is correct to the spec and secure by default.

Every middleware here is a plain ASGI 3 class, ``Middleware(app, **options)``, so it wraps any ASGI
application and fits Starlette's, FastAPI's and Litestar's middleware lists.
[`compose`][asgi_middleware.compose] stacks them, first layer outermost.
"""

from __future__ import annotations

from asgi_middleware._types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware.compose import Layer, LayerLike, compose

__all__ = [
    "ASGIApp",
    "Layer",
    "LayerLike",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "compose",
]

__version__ = "0.1.0.dev0"
