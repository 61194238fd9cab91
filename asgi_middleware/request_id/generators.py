"""Request-ID generators: random and time-ordered UUIDs as 32 lower-case hex digits.

Either is a ``generator`` for :class:`~asgi_middleware.request_id.RequestIDMiddleware`;
:func:`uuid4_hex` is its default.
"""

from __future__ import annotations

import os
import time
import uuid

__all__ = ["uuid4_hex", "uuid7_hex"]


def uuid4_hex() -> str:
    """Return a random UUID version 4 as 32 lower-case hex digits (the default generator).

    The same value space as ``uuid.uuid4().hex``, about three times faster: the version and
    variant bits are set on 16 random bytes directly (RFC 9562 §5.4) instead of going through
    ``uuid.UUID``.

    Added in version 0.1.0.
    """
    data = bytearray(os.urandom(16))
    data[6] = (data[6] & 0x0F) | 0x40  # version 4
    data[8] = (data[8] & 0x3F) | 0x80  # variant 10xx (RFC 9562)
    return data.hex()


def _uuid7_int() -> int:
    # RFC 9562 §5.7 with §6.2 method 3: 48 bits of Unix milliseconds, then 12 bits of the
    # sub-millisecond fraction in rand_a, so IDs from one process sort by creation time down to
    # about a quarter of a microsecond without any shared counter (thread-safe, no global state).
    nanoseconds = time.time_ns()
    milliseconds, remainder = divmod(nanoseconds, 1_000_000)
    fraction = remainder * 4096 // 1_000_000
    random_bits = int.from_bytes(os.urandom(8), "big") & 0x3FFF_FFFF_FFFF_FFFF
    return (
        (milliseconds & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76
        | fraction << 64
        | 0x8000_0000_0000_0000
        | random_bits
    )


def uuid7_hex() -> str:
    """Return a time-ordered UUID version 7 as 32 lower-case hex digits.

    IDs generated later sort later (as strings too), which keeps database indexes and log
    searches by ID in time order. Python 3.14's ``uuid.uuid7`` is used where it exists; before
    that, an RFC 9562 implementation of our own with sub-millisecond precision.

    Added in version 0.1.0.
    """
    stdlib = getattr(uuid, "uuid7", None)
    if stdlib is not None:  # pragma: no cover - Python 3.14+ only; the dev venv is older
        return str(stdlib().hex)
    return f"{_uuid7_int():032x}"
