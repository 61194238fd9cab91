"""``TimingMiddleware`` configuration: origins through the kit's parser, and the validators.

``timing_allow_origin`` is parsed by the same parser as CORS's ``allow_origins``
(``asgi_middleware._kit.origins``); the timing validators take the option's name and word their
message themselves (SPEC §2.1).
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from asgi_middleware import Receive, Scope, Send, TimingMiddleware
from asgi_middleware.cors._origins import split_origins
from asgi_middleware.timing._server_timing import (
    require_description,
    require_duration,
    require_metric_name,
    require_timing_allow_origin,
)
from tests.support.asgi import body, http_scope, run, start


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer 200 with an empty body."""
    await send(start(200))
    await send(body())


def exactly(option: str, rule: str, value: object, hint: str = "") -> str:
    """A pattern matching exactly ``<option> must be <rule>, got <value!r><hint>``."""
    return rf"\A{re.escape(f'{option} must be {rule}, got {value!r}{hint}')}\Z"


# --- timing_allow_origin -------------------------------------------------------------------------


def test_double_dot_host_is_refused() -> None:
    """``https://..`` has empty labels: refused, as CORS refuses it (the old parser took it)."""
    rule = "an origin with a valid host name (use punycode for IDNs)"
    with pytest.raises(ValueError, match=exactly("timing_allow_origin[0]", rule, "https://..")):
        TimingMiddleware(app, timing_allow_origin=["https://.."])


@pytest.mark.anyio
async def test_ipv6_host_is_sent_compressed() -> None:
    """``[0:0::1]`` is sent as browsers serialise it, ``[::1]``, so the browser's check matches."""
    middleware = TimingMiddleware(app, timing_allow_origin=["http://[0:0::1]:8000"])

    messages = await run(middleware, http_scope())

    assert (b"timing-allow-origin", b"http://[::1]:8000") in messages[0]["headers"]


@pytest.mark.parametrize(
    "origin",
    [
        "HTTPS://App.Example:443",
        "http://[0:0::1]:8000",
        "http://[::FFFF:1.2.3.4]",
        "http://localhost:08000",
        "wss://a.example:443",
        "null",
        "https://..",
        "https://a..example",
        "https://a.example.",
        "http://123",
        "http://127.1",
        "https://a.example/",
        "https://a.example:0",
        "https://[fe80::1%eth0]",
        "https://(a|b).example",
        "https://bücher.example",
    ],
)
def test_timing_and_cors_parse_origins_alike(origin: str) -> None:
    """One parser: timing sends the origin CORS would configure, and refuses what CORS refuses."""
    try:
        _, exact, _ = split_origins("allow_origins", [origin])
    except ValueError:
        with pytest.raises(ValueError, match=r"^timing_allow_origin\[0\] must be an"):
            require_timing_allow_origin("timing_allow_origin", [origin])
    else:
        assert require_timing_allow_origin("timing_allow_origin", [origin]) == b"".join(exact)


def test_duplicates_are_sent_once_after_normalisation() -> None:
    """Two spellings of one origin give one entry, in first-seen order."""
    value = ["http://[0:0::1]", "https://b.example", "HTTP://[::1]:80"]

    assert require_timing_allow_origin("o", value) == b"http://[::1], https://b.example"


@pytest.mark.parametrize(
    ("value", "error", "pattern"),
    [
        (
            ["https://a.example", "*"],
            ValueError,
            exactly(
                "timing_allow_origin[1]",
                'an origin ("*" allows every origin only alone, as timing_allow_origin="*")',
                "*",
            ),
        ),
        (
            ["https://*.example.com"],
            ValueError,
            exactly(
                "timing_allow_origin[0]",
                "an origin without '*'",
                "https://*.example.com",
                "; list each origin: this option has no wildcards",
            ),
        ),
        (
            ["https://(a|b).example"],
            ValueError,
            exactly(
                "timing_allow_origin[0]",
                "an origin such as 'https://app.example'",
                "https://(a|b).example",
                "; it looks like a regular expression, and origins here are compared literally",
            ),
        ),
        (
            ["NULL"],
            ValueError,
            exactly(
                "timing_allow_origin[0]",
                "an origin with a scheme, as in 'https://app.example'",
                "NULL",
            ),
        ),
        (
            [b"https://a.example"],
            TypeError,
            exactly("timing_allow_origin[0]", "a str", b"https://a.example"),
        ),
        (3, TypeError, exactly("timing_allow_origin", '"*" or a list of origins', 3)),
        ((), ValueError, exactly("timing_allow_origin", '"*" or a non-empty list of origins', ())),
    ],
    ids=["star-in-list", "wildcard", "regex", "upper-null", "bytes", "int", "empty-tuple"],
)
def test_bad_timing_allow_origin_refused(
    value: object, error: type[Exception], pattern: str
) -> None:
    """Each refusal names the option (and the item's index) in the one message shape."""
    with pytest.raises(error, match=pattern):
        TimingMiddleware(app, timing_allow_origin=value)  # type: ignore[arg-type]


# --- The metric validators ----------------------------------------------------------------------


@pytest.mark.parametrize("option", ["name", "metric_name"])
def test_require_metric_name_names_the_option(option: str) -> None:
    """A metric name is a token; the message names whichever option or argument was given."""
    assert require_metric_name(option, "db.read") == "db.read"
    rule = "an HTTP token (letters, digits and !#$%&'*+-.^_`|~)"
    with pytest.raises(ValueError, match=exactly(option, rule, "db read")):
        require_metric_name(option, "db read")
    with pytest.raises(TypeError, match=exactly(option, "a str", None)):
        require_metric_name(option, None)


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 0.0), (1, 1.0), (2.5, 2.5), (1e9, 1e9)], ids=str
)
def test_require_duration_returns_a_float(value: float, expected: float) -> None:
    """A finite number >= 0 comes back as a ``float``."""
    duration = require_duration("duration_ms", value)

    assert type(duration) is float
    assert duration == expected


@pytest.mark.parametrize(
    ("value", "error", "rule"),
    [
        (-0.5, ValueError, "a finite number >= 0"),
        (math.nan, ValueError, "a finite number >= 0"),
        (math.inf, ValueError, "a finite number >= 0"),
        (True, TypeError, "an int or float"),
        ("3", TypeError, "an int or float"),
    ],
    ids=["negative", "nan", "inf", "bool", "str"],
)
def test_require_duration_refuses(value: object, error: type[Exception], rule: str) -> None:
    """Anything but a finite number >= 0 is refused, naming the option given."""
    with pytest.raises(error, match=exactly("elapsed", rule, value)):
        require_duration("elapsed", value)


@pytest.mark.parametrize(
    ("value", "error", "rule"),
    [
        ("caf\u00e9", ValueError, "visible ASCII, spaces and tabs"),
        ("a\r\nb", ValueError, "visible ASCII, spaces and tabs"),
        (b"x", TypeError, "a str or None"),
        (3, TypeError, "a str or None"),
    ],
    ids=["non-ascii", "crlf", "bytes", "int"],
)
@pytest.mark.parametrize("option", ["description", "metric_description"])
def test_require_description_refuses_naming_the_option(
    option: str, value: object, error: type[Exception], rule: str
) -> None:
    """A description that cannot be sent is refused with the final message, no re-wording."""
    with pytest.raises(error, match=exactly(option, rule, value)):
        require_description(option, value)


@pytest.mark.parametrize("value", [None, "", "orders query", "tab\there", '"quoted" \\ text'])
def test_require_description_returns_what_can_be_sent(value: Any) -> None:
    """``None`` and visible ASCII with spaces and tabs come back unchanged."""
    assert require_description("description", value) == value
