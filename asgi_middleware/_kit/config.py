"""Validation of constructor options: one vocabulary for every middleware.

Every middleware validates its options in ``__init__``, so a bad configuration fails at start-up
with one message shape (SPEC §2.1)::

    <option> must be <rule>, got <value!r>

Each validator is ``require_<rule>(option, value, ...) -> value``: it takes the option's name
first (``"allow_origins[2]"`` for an item of a list), returns the value it accepts (normalised
where the rule says so) and raises ``TypeError`` for a value of the wrong type, ``ValueError`` for
a value of the right type that breaks the rule. A validator beside one middleware follows the same
shape and builds its message with :func:`option_error`. Never ``assert``: assertions vanish under
``python -O``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

__all__ = [
    "TOKEN",
    "TOKEN_BYTES",
    "is_async_callable",
    "option_error",
    "require_bool",
    "require_callable",
    "require_header_value",
    "require_int",
    "require_matching",
    "require_strings",
    "require_sync_callable",
    "require_token",
]

_T = TypeVar("_T")
_E = TypeVar("_E", bound=Exception)

# RFC 9110 §5.6.2: token = 1*tchar. Shared by every module that checks tokens, as str and bytes.
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
TOKEN_BYTES = re.compile(TOKEN.pattern.encode("ascii"))
# RFC 9110 §5.5: field-value characters we allow in configuration: visible ASCII, space and tab,
# not starting or ending with whitespace. No CR, LF or NUL, so no header injection.
_FIELD_VALUE = re.compile(r"(?:[!-~](?:[ \t!-~]*[!-~])?)?")


def option_error(error: type[_E], option: str, rule: str, value: object, hint: str = "") -> _E:
    """Return ``error("<option> must be <rule>, got <value!r><hint>")`` for the caller to raise.

    ``hint``, when given, follows the value (``"; remove the trailing slash: ..."``).
    """
    return error(f"{option} must be {rule}, got {value!r}{hint}")


def require_bool(option: str, value: object) -> bool:
    """Return ``value`` if it is a ``bool``; raise ``TypeError`` otherwise."""
    if not isinstance(value, bool):
        raise option_error(TypeError, option, "a bool", value)
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
        raise option_error(TypeError, option, rule, value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise option_error(ValueError, option, rule, value)
    return value


def require_matching(option: str, value: object, pattern: re.Pattern[str], rule: str) -> str:
    """Return ``value`` if it is a ``str`` that ``pattern`` matches in full."""
    if not isinstance(value, str):
        raise option_error(TypeError, option, "a str", value)
    if pattern.fullmatch(value) is None:
        raise option_error(ValueError, option, rule, value)
    return value


def require_token(option: str, value: object) -> str:
    """Return ``value`` if it is an HTTP token such as a header name (RFC 9110 §5.6.2)."""
    rule = "an HTTP token (letters, digits and !#$%&'*+-.^_`|~)"
    return require_matching(option, value, TOKEN, rule)


def require_header_value(option: str, value: object) -> str:
    """Return ``value`` if it can be sent as a header value (visible ASCII, inner blanks)."""
    rule = "a header value (visible ASCII, no control characters, no surrounding whitespace)"
    return require_matching(option, value, _FIELD_VALUE, rule)


def require_callable(option: str, value: _T) -> _T:
    """Return ``value`` if it is callable; raise ``TypeError`` otherwise."""
    if not callable(value):
        raise option_error(TypeError, option, "callable", value)
    return value


def require_sync_callable(option: str, value: _T) -> _T:
    """Return ``value`` if it is callable and not ``async``; raise ``TypeError`` otherwise.

    For a hook the middleware calls without ``await`` (a predicate, a callback, a generator of
    IDs): an ``async def`` function, an object whose ``__call__`` is one, or an async generator
    function would hand back an object nobody awaits, and as a predicate it would always be true.
    """
    require_callable(option, value)
    if is_async_callable(value) or any(map(inspect.isasyncgenfunction, _call_targets(value))):
        raise option_error(TypeError, option, "a plain (not async) callable", value)
    return value


def is_async_callable(value: object) -> bool:
    """Whether calling ``value`` gives a coroutine.

    True for an ``async def`` function or method, and for an object whose ``__call__`` is one.
    """
    return any(map(inspect.iscoroutinefunction, _call_targets(value)))


def _call_targets(value: object) -> tuple[object, object]:
    # An instance with an async __call__: iscoroutinefunction(obj) looks at obj only. Looked up
    # on the type, as the call is: a class whose instances have one is a plain constructor.
    return value, type(value).__call__


def require_strings(
    option: str, value: object, check: Callable[[str, Any], str] | None = None
) -> tuple[str, ...]:
    """Return a tuple of strings from a list, tuple, set or other iterable of ``str``.

    A bare ``str`` is refused: iterating it would silently configure one item per character, a
    classic misconfiguration (``allow_origins="https://a.example"``). ``check``, when given, is a
    ``require_<rule>`` validator called as ``check(f"{option}[{index}]", item)`` for each item;
    the tuple holds what it returns, the normalised items.
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise option_error(TypeError, option, "a list or tuple of str", value)
    items: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise option_error(TypeError, f"{option}[{index}]", "a str", item)
        items.append(item if check is None else check(f"{option}[{index}]", item))
    return tuple(items)
