"""The body limit's options and the reading of ``Content-Length``, kept beside the middleware."""

from __future__ import annotations

from asgi_middleware._kit.config import option_error, require_int

__all__ = ["declared_length", "optional_limit", "require_limit", "too_large_text"]

# nginx's client_max_body_size reads 0 as "no limit"; here it would refuse every body, so it is
# refused with a pointer to the spelling that means "no limit".
_ZERO_HINT = "; 0 would refuse every body: for no limit on some paths, map them to None"
# A Content-Length of more digits than this is longer than any limit once leading zeros are gone
# (int() of thousands of digits even raises on Python 3.11+, the int max-str-digits guard).
_MAX_DIGITS = 19
# More than any value of 19 digits, and than any limit in use (one of 16 EiB or more would see
# such a body counted as it is read, rather than refused up front).
_OVER_EVERY_LIMIT = 1 << 64


def require_limit(option: str, value: object) -> int:
    """Return ``value`` if it is a byte limit: an ``int`` of at least 1."""
    if isinstance(value, int) and not isinstance(value, bool) and value < 1:
        raise option_error(ValueError, option, "an int >= 1", value, _ZERO_HINT)
    return require_int(option, value, minimum=1)


def optional_limit(option: str, value: object) -> int | None:
    """Return ``value`` if it is a byte limit or ``None`` (no limit): a ``path_limits`` value."""
    return None if value is None else require_limit(option, value)


def declared_length(value: bytes) -> int | None:
    """Return the length a ``Content-Length`` value declares, or ``None`` if it is invalid.

    RFC 9110 §8.6: ``1*DIGIT``; surrounding blanks, which a server may leave, are ignored. A
    value of more digits than any limit has is returned as a length over every limit.
    """
    if not value.isdigit():  # ASCII digits only, for bytes; false for b""
        value = value.strip(b" \t")
        if not value.isdigit():
            return None
    if len(value) > _MAX_DIGITS:
        value = value.lstrip(b"0") or b"0"
        if len(value) > _MAX_DIGITS:
            return _OVER_EVERY_LIMIT
    return int(value)


def too_large_text(text: str, limit: int) -> bool:
    """Whether ``text`` is more than ``limit`` bytes of UTF-8, encoding it only when needed."""
    # Each character is 1 to 4 bytes of UTF-8: the length alone settles most messages.
    size = len(text)
    if size > limit:
        return True
    if size * 4 <= limit:
        return False
    # "surrogatepass": a lone surrogate, which no server should hand over, is counted, not fatal.
    return len(text.encode("utf-8", "surrogatepass")) > limit
