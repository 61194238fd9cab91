"""From asgi-correlation-id: the same option names; the import and the class name change."""

from __future__ import annotations

from asgi_correlation_id import CorrelationIdMiddleware

from asgi_middleware import RequestIDMiddleware

from set_header import hello

# --8<-- [start:before]
before_app = CorrelationIdMiddleware(
    hello,
    header_name="X-Request-ID",
    update_request_header=True,
    transformer=lambda value: value,
)
# --8<-- [end:before]

# --8<-- [start:after]
app = RequestIDMiddleware(
    hello,
    header_name="X-Request-ID",
    update_request_header=True,
    transformer=lambda value: value,
)
# --8<-- [end:after]
