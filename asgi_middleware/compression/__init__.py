"""Response compression: zstd, br and gzip, negotiated per RFC 9110 §12.5.3 (SPEC §4).

``middleware`` holds the middleware and its per-response state machine; ``_accept_encoding``
negotiates the coding and ``_codecs`` wraps the compressors.
"""

from __future__ import annotations

from asgi_middleware.compression.middleware import (
    DEFAULT_EXCLUDED_CONTENT_TYPES,
    CompressionMiddleware,
    GZipMiddleware,
)

__all__ = [
    "DEFAULT_EXCLUDED_CONTENT_TYPES",
    "CompressionMiddleware",
    "GZipMiddleware",
]
