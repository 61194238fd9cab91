"""Request IDs: read or generate one per request, and make it visible everywhere (SPEC §5).

``middleware`` holds the middleware, the contextvar and the log filter; ``generators`` makes new
IDs and ``_ids`` validates incoming ones.
"""

from __future__ import annotations

from asgi_middleware.request_id.generators import uuid4_hex, uuid7_hex
from asgi_middleware.request_id.middleware import (
    RequestIDLogFilter,
    RequestIDMiddleware,
    get_request_id,
)

__all__ = [
    "RequestIDLogFilter",
    "RequestIDMiddleware",
    "get_request_id",
    "uuid4_hex",
    "uuid7_hex",
]
