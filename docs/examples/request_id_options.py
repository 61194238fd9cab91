"""RequestIDMiddleware's options: time-ordered IDs, an extra check, traceparent, the edge."""

from __future__ import annotations

import uuid

from asgi_middleware import RequestIDMiddleware
from asgi_middleware.request_id import uuid7_hex

from set_header import hello


# --8<-- [start:options]
def is_uuid(value: str) -> bool:
    """Accept UUIDs only (hyphenated or not), on top of the built-in check."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


app = RequestIDMiddleware(
    hello,
    header_name="X-Request-ID",
    generator=uuid7_hex,  # time-ordered: sorts by creation time
    validator=is_uuid,  # incoming IDs must be UUIDs as well as safe
    traceparent=True,  # no X-Request-ID? use the W3C trace-id if a valid traceparent came
)

# On the edge of an untrusted network: never take an ID from the client.
edge_app = RequestIDMiddleware(hello, trust_incoming=False)
# --8<-- [end:options]
