"""Response deadline: a 504 when the app has not started its response in time (SPEC §13).

``middleware`` holds the middleware and the validation of its options; ``_deadline`` holds one
request's deadline under asyncio and under trio.
"""

from __future__ import annotations

from asgi_middleware.timeout.middleware import TimeoutMiddleware

__all__ = ["TimeoutMiddleware"]
