"""CORS per the Fetch standard, with WebSocket origin checks (SPEC §3).

``middleware`` holds the middleware; ``_origins`` its origin patterns and preflight parsing.
"""

from __future__ import annotations

from asgi_middleware.cors.middleware import (
    CORSMiddleware,
)

__all__ = [
    "CORSMiddleware",
]
