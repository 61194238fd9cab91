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
from typing import NamedTuple

from asgi_middleware._kit.config import TOKEN, TOKEN_BYTES, require_token

__all__ = [
    "TimingMetric",
    "check_description",
    "check_duration",
    "check_name",
    "check_origins",
    "format_description",
    "format_entry",
    "metric_names",
]

# What a description may hold: visible ASCII, space and tab (RFC 9110 §5.6.4 qdtext and
# quoted-pair, without obs-text, which recipients may decode differently).
_DESCRIPTION = re.compile(r"[\t\x20-\x7e]*")
_NEEDS_ESCAPE = re.compile(r'(["\\])')
# One list element: anything but commas and quotes, or a quoted-string with its quoted-pairs
# (an unterminated one runs to the end, as a recipient must not split inside it).
_ELEMENT = re.compile(rb'(?:[^,"]|"(?:[^"\\]|\\.)*"?)+', re.DOTALL)
# An origin as browsers serialise it (RFC 6454 §6.1): scheme, host, optional port, nothing else.
_ORIGIN = re.compile(r"([a-z][a-z0-9+.\-]*)://([a-z0-9.\-]+|\[[0-9a-f:.]+\])(?::([0-9]{1,5}))?")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_PORT = 65535


class TimingMetric(NamedTuple):
    """One ``Server-Timing`` metric: a name, a duration in milliseconds and a description.

    Added in version 0.1.0.
    """

    name: str
    duration_ms: float
    description: str | None = None


def check_name(name: object) -> str:
    """Return ``name`` if it is a metric name (an RFC 9110 token)."""
    return require_token("name", name)


def check_duration(duration_ms: object) -> float:
    """Return ``duration_ms`` as a float if it is a finite, non-negative number."""
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, (int, float)):
        msg = f"duration_ms must be an int or float, got {duration_ms!r}"
        raise TypeError(msg)
    value = float(duration_ms)
    if not math.isfinite(value) or value < 0:
        msg = f"duration_ms must be a finite number >= 0, got {duration_ms!r}"
        raise ValueError(msg)
    return value


def check_description(description: object) -> str | None:
    """Return ``description`` if it is ``None`` or a str of visible ASCII, spaces and tabs."""
    if description is None:
        return None
    if not isinstance(description, str):
        msg = f"description must be a str or None, got {description!r}"
        raise TypeError(msg)
    if _DESCRIPTION.fullmatch(description) is None:
        msg = f"description must be visible ASCII, spaces and tabs, got {description!r}"
        raise ValueError(msg)
    return description


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


def check_origins(option: str, value: object) -> bytes | None:
    """Return a ``Timing-Allow-Origin`` value from ``None``, ``"*"`` or a list of origins.

    Origins are lower-cased and a default port is dropped, so each matches the browser's
    serialisation, which the Resource Timing check compares with case-sensitively; ``"null"`` is
    allowed when given literally.
    """
    if value is None:
        return None
    if value == "*":
        return b"*"
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        msg = f'{option} must be "*" or a list of origins, got {value!r}'
        raise TypeError(msg)
    items = list(value)
    if items == ["*"]:
        return b"*"
    origins: list[str] = []
    for index, item in enumerate(items):
        origin = _origin(f"{option}[{index}]", item)
        if origin not in origins:
            origins.append(origin)
    if not origins:
        msg = f'{option} must be "*" or a non-empty list of origins, got {value!r}'
        raise ValueError(msg)
    return ", ".join(origins).encode("ascii")


def _origin(option: str, item: object) -> str:
    if not isinstance(item, str):
        msg = f"{option} must be a str, got {item!r}"
        raise TypeError(msg)
    if item == "null":
        return item
    match = _ORIGIN.fullmatch(item.lower())
    port = int(match.group(3) or -1) if match is not None else 0
    if match is None or port == 0 or port > _MAX_PORT:
        msg = f"{option} must be an origin such as 'https://app.example:8443', got {item!r}"
        raise ValueError(msg)
    scheme, host = match.group(1), match.group(2)
    if port < 0 or _DEFAULT_PORTS.get(scheme) == port:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"
