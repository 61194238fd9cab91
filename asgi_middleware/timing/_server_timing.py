"""The ``Server-Timing`` field grammar: validating, formatting and reading metric entries.

W3C Server Timing §3 (https://www.w3.org/TR/server-timing/#the-server-timing-header-field)::

    Server-Timing             = #server-timing-metric
    server-timing-metric      = metric-name *( OWS ";" OWS server-timing-param )
    metric-name               = token
    server-timing-param       = server-timing-param-name OWS "=" OWS server-timing-param-value
    server-timing-param-value = token / quoted-string

Names and descriptions come from the application at run time (``record_timing``), so they are
checked before they reach a header: a bad one raises in the caller, it never produces an invalid
field. Reading is needed only to find the metric names an app already sent, and never raises.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from asgi_middleware._kit.config import TOKEN, TOKEN_BYTES, option_error, require_token
from asgi_middleware._kit.origins import require_origin

__all__ = [
    "format_description",
    "format_entry",
    "metric_names",
    "require_description",
    "require_duration",
    "require_metric_name",
    "require_timing_allow_origin",
]

# What a description may hold: visible ASCII, space and tab (RFC 9110 §5.6.4 qdtext and
# quoted-pair, without obs-text, which recipients may decode differently).
_DESCRIPTION = re.compile(r"[\t\x20-\x7e]*")
_NEEDS_ESCAPE = re.compile(r'(["\\])')
# One list element: anything but commas and quotes, or a quoted-string with its quoted-pairs
# (an unterminated one runs to the end, as a recipient must not split inside it).
_ELEMENT = re.compile(rb'(?:[^,"]|"(?:[^"\\]|\\.)*"?)+', re.DOTALL)


def require_metric_name(option: str, value: object) -> str:
    """Return ``value`` if it is a metric name (an RFC 9110 token)."""
    return require_token(option, value)


def require_duration(option: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite, non-negative number of milliseconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise option_error(TypeError, option, "an int or float", value)
    duration = float(value)
    if not math.isfinite(duration) or duration < 0:
        raise option_error(ValueError, option, "a finite number >= 0", value)
    return duration


def require_description(option: str, value: object) -> str | None:
    """Return ``value`` if it is ``None`` or a str of visible ASCII, spaces and tabs."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise option_error(TypeError, option, "a str or None", value)
    if _DESCRIPTION.fullmatch(value) is None:
        raise option_error(ValueError, option, "visible ASCII, spaces and tabs", value)
    return value


def format_description(description: str) -> str:
    """Return ``description`` as a ``desc`` value: a token as is, else a quoted-string."""
    if TOKEN.fullmatch(description) is not None:
        return description
    return '"' + _NEEDS_ESCAPE.sub(r"\\\1", description) + '"'


def format_entry(name: str, duration_ms: float, description: str | None) -> str:
    """Return one metric entry, ``name;dur=1.234;desc="..."``, from checked parts."""
    entry = f"{name};dur={duration_ms:.3f}"
    if description is not None:
        entry += ";desc=" + format_description(description)
    return entry


def metric_names(value: bytes) -> list[bytes]:
    """Return the metric names of a ``Server-Timing`` field value, in order.

    Commas and semicolons inside quoted strings (and escaped quotes) do not split. Malformed input
    never raises: an element whose name is not a token is skipped.
    """
    names: list[bytes] = []
    for element in _ELEMENT.finditer(value):
        name = element.group().split(b";", 1)[0].strip(b" \t")
        if TOKEN_BYTES.fullmatch(name) is not None:
            names.append(name)
    return names


def require_timing_allow_origin(option: str, value: object) -> bytes | None:
    """Return a ``Timing-Allow-Origin`` value from ``None``, ``"*"`` or a list of origins.

    Each origin is normalised by the kit's parser (``_kit.origins``, as for CORS) to the
    browser's serialisation, which the Resource Timing check compares with case-sensitively;
    ``"null"`` is allowed when given literally. Duplicates are sent once.
    """
    if value is None:
        return None
    if value == "*":
        return b"*"
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise option_error(TypeError, option, '"*" or a list of origins', value)
    items = list(value)
    if items == ["*"]:
        return b"*"
    origins: list[str] = []
    for index, item in enumerate(items):
        if item == "*":
            rule = f'an origin ("*" allows every origin only alone, as {option}="*")'
            raise option_error(ValueError, f"{option}[{index}]", rule, item)
        origin = require_origin(f"{option}[{index}]", item)
        if origin not in origins:
            origins.append(origin)
    if not origins:
        raise option_error(ValueError, option, '"*" or a non-empty list of origins', value)
    return ", ".join(origins).encode("ascii")
