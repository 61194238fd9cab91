"""Let a browser page read the request ID: list it in CORS ``expose_headers``.

A cross-origin `fetch()` only lets the page's script read CORS-safelisted response headers and
those in `Access-Control-Expose-Headers`, so a support widget can show "quote this ID" only
when the header is exposed.
"""

from __future__ import annotations

from asgi_middleware import CORSMiddleware, Layer, RequestIDMiddleware, compose

from set_header import hello

# --8<-- [start:cors]
app = compose(
    hello,
    Layer(
        CORSMiddleware,
        allow_origins=["https://app.example"],
        expose_headers=["X-Request-ID"],
    ),
    RequestIDMiddleware,
)
# --8<-- [end:cors]
