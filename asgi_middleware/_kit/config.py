"""Validation of constructor options.

Every middleware validates its options in ``__init__`` with these helpers, so a bad configuration
fails at start-up with one message shape (SPEC §2.1)::

    <option> must be <rule>, got <value!r>

``TypeError`` for a value of the wrong type, ``ValueError`` for a value of the right type that
breaks a rule. Never ``assert``: assertions vanish under ``python -O``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

__all__ = [
    "require_bool",
    "require_callable",
    "require_header_value",
    "require_int",
    "require_strings",
    "require_token",
]

_T = TypeVar("_T")

# RFC 9110 §5.6.2: token = 1*tchar. Shared by every module that checks tokens, as str and bytes.
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
TOKEN_BYTES = re.compile(TOKEN.pattern.encode("ascii"))
# RFC 9110 §5.5: field-value characters we allow in configuration: visible ASCII, space and tab,
# not starting or ending with whitespace. No CR, LF or NUL, so no header injection.
_FIELD_VALUE = re.compile(r"(?:[!-~](?:[ \t!-~]*[!-~])?)?")


def _fail(exc: type[Exception], option: str, rule: str, value: object) -> Exception:
    return exc(f"{option} must be {rule}, got {value!r}")


def require_bool(option: str, value: object) -> bool:
    """Return ``value`` if it is a ``bool``; raise ``TypeError`` otherwise."""
    if not isinstance(value, bool):
        raise _fail(TypeError, option, "a bool", value)
    return value


def require_int(
    option: str, value: object, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` if it is an ``int`` (not a ``bool``) within ``[minimum, maximum]``."""
    rule = "an int"
    if minimum is not None and maximum is not None:
        rule = f"an int from {minimum} to {maximum}"
    elif minimum is not None:
        rule = f"an int >= {minimum}"
    elif maximum is not None:
        rule = f"an int <= {maximum}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(TypeError, option, rule, value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise _fail(ValueError, option, rule, value)
    return value


def require_token(option: str, value: object) -> str:
    """Return ``value`` if it is an HTTP token such as a header name (RFC 9110 §5.6.2)."""
    if not isinstance(value, str):
        raise _fail(TypeError, option, "a str", value)
    if TOKEN.fullmatch(value) is None:
        raise _fail(
            ValueError, option, "an HTTP token (letters, digits and !#$%&'*+-.^_`|~)", value
        )
    return value


def require_header_value(option: str, value: object) -> str:
    """Return ``value`` if it can be sent as a header value (visible ASCII, inner blanks)."""
    if not isinstance(value, str):
        raise _fail(TypeError, option, "a str", value)
    if _FIELD_VALUE.fullmatch(value) is None:
        raise _fail(
            ValueError,
            option,
            "a header value (visible ASCII, no control characters, no surrounding whitespace)",
            value,
        )
    return value


def require_callable(option: str, value: _T) -> _T:
    """Return ``value`` if it is callable; raise ``TypeError`` otherwise."""
    if not callable(value):
        raise _fail(TypeError, option, "callable", value)
    return value


def require_strings(
    option: str, value: object, check: Callable[[str, Any], str] | None = None
) -> tuple[str, ...]:
    """Return a tuple of strings from a list, tuple, set or other iterable of ``str``.

    A bare ``str`` is refused: iterating it would silently configure one item per character, a
    classic misconfiguration (``allow_origins="https://a.example"``). ``check``, when given,
    validates each item; it is called as ``check(f"{option}[{index}]", item)``.
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise _fail(TypeError, option, "a list or tuple of str", value)
    items = tuple(value)
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise _fail(TypeError, f"{option}[{index}]", "a str", item)
        if check is not None:
            check(f"{option}[{index}]", item)
    return items
