"""Tests for the kit's origin and host parser, ``asgi_middleware._kit.origins``.

One parser serves CORS (``allow_origins``, ``websocket_origins``) and timing
(``timing_allow_origin``), and will serve the proxy-header, trusted-host and HTTPS-redirect
layers: these tests pin its rules and messages, and check its properties with hypothesis.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from asgi_middleware._kit.origins import (
    DEFAULT_PORTS,
    LABEL,
    NULL_ORIGIN,
    Origin,
    parse_host,
    parse_origin,
    require_origin,
)
from tests.support.strategies import (
    LABELS,
    NEAR_ORIGINS,
    PUNYCODE_HINT,
    SAFE_WILDCARD_HINT,
    exactly,
)

ONLY_ORIGIN_HINT = "; an origin is scheme://host[:port] only"
LITERAL_HINT = "; it looks like a regular expression, and origins here are compared literally"
REGEX_OPTION_HINT = "; it looks like a regular expression: pass it as allow_origin_regex instead"
NAME_RULE = "an origin with a valid host name (use punycode for IDNs)"
IPV4_RULE = "an origin with a valid IPv4 host"
IPV6_RULE = "an origin with a valid IPv6 host"
PORT_RULE = "an origin with a port from 1 to 65535"


# --- The normal form -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("https://app.example", Origin("https", "app.example")),
        ("HTTPS://App.Example", Origin("https", "app.example")),
        ("https://app.example:443", Origin("https", "app.example")),
        ("http://app.example:80", Origin("http", "app.example")),
        ("ws://app.example:80", Origin("ws", "app.example")),
        ("wss://app.example:443", Origin("wss", "app.example")),
        ("http://app.example:443", Origin("http", "app.example", 443)),
        ("http://localhost:08000", Origin("http", "localhost", 8000)),
        ("http://a.example:000000080", Origin("http", "a.example")),
        ("http://[0:0::1]:8000", Origin("http", "[::1]", 8000)),
        ("http://[::FFFF:1.2.3.4]", Origin("http", "[::ffff:102:304]")),
        ("http://[1:0:0:2:0:0:0:3]", Origin("http", "[1:0:0:2::3]")),
        ("http://127.0.0.1:5173", Origin("http", "127.0.0.1", 5173)),
        ("app-scheme://local_host", Origin("app-scheme", "local_host")),
        ("https://xn--bcher-kva.example", Origin("https", "xn--bcher-kva.example")),
        ("https://a.example:65535", Origin("https", "a.example", 65535)),
    ],
)
def test_parse_origin_normalises(configured: str, expected: Origin) -> None:
    """Scheme and host are lower-cased, IPv6 compressed, default ports and zeros dropped."""
    assert parse_origin("allow_origins[0]", configured) == expected


@pytest.mark.parametrize(
    ("origin", "serialised"),
    [
        (Origin("https", "app.example"), "https://app.example"),
        (Origin("http", "[::1]", 8000), "http://[::1]:8000"),
        (Origin("https", "*.example.com"), "https://*.example.com"),
    ],
)
def test_serialize_writes_scheme_host_and_port(origin: Origin, serialised: str) -> None:
    """``serialize`` writes ``scheme://host`` and ``:port`` only when there is a port."""
    assert origin.serialize() == serialised


def test_default_ports_are_the_url_standards_and_read_only() -> None:
    """The special schemes' default ports, in a mapping nobody can change at run time."""
    assert dict(DEFAULT_PORTS) == {"http": 80, "https": 443, "ws": 80, "wss": 443}
    with pytest.raises(TypeError):
        DEFAULT_PORTS["http"] = 8080  # type: ignore[index]


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("https://*.Example.com", Origin("https", "*.example.com")),
        ("https://*.example.com:443", Origin("https", "*.example.com")),
        ("https://*.a.example.com:8443", Origin("https", "*.a.example.com", 8443)),
    ],
)
def test_parse_origin_keeps_a_wildcard_label_when_allowed(
    configured: str, expected: Origin
) -> None:
    """With ``wildcard=True`` a leading ``*.`` label stays in the host, the rest normalised."""
    assert parse_origin("o", configured, wildcard=True) == expected


# --- Refusals ------------------------------------------------------------------------------------

SCHEME_RULE = "an origin with a scheme, as in 'https://app.example'"
REGEX_RULE = "an origin such as 'https://app.example'"
WILDCARD_HINT = "; '*' may only stand for the leading labels, as in 'https://*.example.com'"
SAFE_WILDCARD_RULE = "a safe subdomain wildcard such as 'https://*.example.com'"
LONG_PORT = "https://a.example:" + "1" * 5000
ONE_STAR_RULE = "an origin with at most one leading '*.' label"
NO_STAR_RULE = "an origin without '*'"
NO_STAR_HINT = "; list each origin: this option has no wildcards"
SLASH_HINT = "; remove the trailing slash: 'https://a.example'"
STAR = {"wildcard": True}
REGEX = {"regex_option": "allow_origin_regex"}


@pytest.mark.parametrize(
    ("value", "options", "rule", "hint"),
    [
        ("https://bücher.example", {}, "an ASCII origin", PUNYCODE_HINT),
        ("https://(a|b).example", {}, REGEX_RULE, LITERAL_HINT),
        ("https?://a.example", {}, REGEX_RULE, LITERAL_HINT),
        ("https://.*\\.example", {}, REGEX_RULE, LITERAL_HINT),
        ("https://[a-z]+.example", {}, REGEX_RULE, LITERAL_HINT),
        ("https://a.example]", {}, REGEX_RULE, LITERAL_HINT),
        ("^https://a.example$", REGEX, REGEX_RULE, REGEX_OPTION_HINT),
        ("a.example", {}, SCHEME_RULE, ""),
        ("1https://a.example", {}, SCHEME_RULE, ""),
        ("null", {}, SCHEME_RULE, ""),
        ("https://a.example/", {}, "an origin without a trailing slash", SLASH_HINT),
        ("https://a.example/x", {}, "an origin without a path", ONLY_ORIGIN_HINT),
        ("https://a.example//", {}, "an origin without a path", ONLY_ORIGIN_HINT),
        ("https://a.example?q", {}, "an origin without a query", ONLY_ORIGIN_HINT),
        ("https://a.example#f", {}, "an origin without a fragment", ONLY_ORIGIN_HINT),
        ("https://u@a.example", {}, "an origin without a user name", ONLY_ORIGIN_HINT),
        ("https://a.example:", {}, "an origin with ':' followed by a port", ""),
        ("https://[::1]:", {}, "an origin with ':' followed by a port", ""),
        ("https://a.example:0", {}, PORT_RULE, ""),
        ("https://a.example:65536", {}, PORT_RULE, ""),
        ("https://a.example:8x", {}, PORT_RULE, ""),
        ("https://a.example:1:2", {}, PORT_RULE, ""),
        (LONG_PORT, {}, PORT_RULE, ""),
        ("https://..", {}, NAME_RULE, ""),
        ("https://a..example", {}, NAME_RULE, ""),
        ("https://.a.example", {}, NAME_RULE, ""),
        ("https://a.example.", {}, NAME_RULE, ""),
        ("https://", {}, NAME_RULE, ""),
        ("https://a b", {}, NAME_RULE, ""),
        ("https://" + "a" * 64, {}, NAME_RULE, ""),
        ("https://300.1.1.1", {}, IPV4_RULE, ""),
        ("https://127.1", {}, IPV4_RULE, ""),
        ("https://010.0.0.1", {}, IPV4_RULE, ""),
        ("https://[::1", {}, IPV6_RULE, ""),
        ("https://[::1]x", {}, IPV6_RULE, ""),
        ("https://[zz::1]", {}, IPV6_RULE, ""),
        ("https://[]", {}, IPV6_RULE, ""),
        ("https://[fe80::1%eth0]", {}, IPV6_RULE, ""),
        ("https://*.example.com", {}, NO_STAR_RULE, NO_STAR_HINT),
        ("https://a*.example", STAR, ONE_STAR_RULE, WILDCARD_HINT),
        ("https://*.a*.example", STAR, ONE_STAR_RULE, WILDCARD_HINT),
        ("https://*.*.example", STAR, REGEX_RULE, LITERAL_HINT),
        ("https://*a.example", STAR, ONE_STAR_RULE, WILDCARD_HINT),
        ("https://*.com", STAR, SAFE_WILDCARD_RULE, SAFE_WILDCARD_HINT),
        ("https://*.10.0.0.1", STAR, SAFE_WILDCARD_RULE, SAFE_WILDCARD_HINT),
        ("https://*.[::1]", STAR, REGEX_RULE, LITERAL_HINT),
        ("https://*.a..b", STAR, NAME_RULE, ""),
    ],
)  # fmt: skip
def test_parse_origin_refuses_with_the_rule_and_a_hint(
    value: str, options: dict[str, Any], rule: str, hint: str
) -> None:
    """Each malformed origin raises ``ValueError`` naming the option, the rule and the value."""
    with pytest.raises(ValueError, match=exactly("allow_origins[3]", rule, value, hint)):
        parse_origin("allow_origins[3]", value, **options)


# --- require_origin ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "options", "expected"),
    [
        ("null", {}, "null"),
        ("HTTPS://A.example:443", {}, "https://a.example"),
        ("https://*.Example.com", {"wildcard": True}, "https://*.example.com"),
    ],
)
def test_require_origin_returns_the_serialisation(
    value: str, options: dict[str, Any], expected: str
) -> None:
    """``require_origin`` gives the text a browser sends, ``null`` only when written so."""
    assert require_origin("o", value, **options) == expected
    assert NULL_ORIGIN == "null"


@pytest.mark.parametrize("value", [None, b"https://a.example", 1])
def test_require_origin_refuses_non_str_with_type_error(value: object) -> None:
    """A value that is not a ``str`` is a ``TypeError`` naming the option."""
    with pytest.raises(TypeError, match=exactly("timing_allow_origin[0]", "a str", value)):
        require_origin("timing_allow_origin[0]", value)


def test_require_origin_passes_its_options_to_the_parser() -> None:
    """``wildcard`` and ``regex_option`` reach the parser: off by default, on when given."""
    with pytest.raises(ValueError, match="without '\\*'"):
        require_origin("o", "https://*.example.com")
    with pytest.raises(ValueError, match=re.escape(REGEX_OPTION_HINT)):
        require_origin("o", "https://(a|b).example", regex_option="allow_origin_regex")
    with pytest.raises(ValueError, match=exactly("o", SCHEME_RULE, "NULL")):
        require_origin("o", "NULL")


# --- Properties ----------------------------------------------------------------------------------

_NAMES = (
    st.lists(LABELS, min_size=1, max_size=4)
    .map(".".join)
    .filter(lambda host: not host.replace(".", "").isdigit())  # all digits: an IPv4 address
)
_IPV4 = st.ip_addresses(v=4).map(str)
_IPV6 = st.ip_addresses(v=6).map(lambda address: f"[{address.exploded}]")
_SCHEMES = st.sampled_from(["http", "https", "ws", "wss"]) | st.from_regex(
    r"[a-z][a-z0-9.\-]{0,8}", fullmatch=True
)
_PORTS = st.none() | st.integers(1, 65535)
_OPTIONS = st.from_regex(r"[a-z_]{1,16}(\[[0-9]{1,2}\])?", fullmatch=True)
# Text made of what origins are made of, so the parser's every branch is reached, not only its
# first refusal.


def _normal_host(host: str) -> str:
    if host.startswith("["):
        return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
    return host.lower()


@given(_SCHEMES, _NAMES | _IPV4 | _IPV6, _PORTS, st.booleans(), st.booleans())
@example("http", "[0:0::1]", 8000, False, False)
def test_every_origin_round_trips(
    scheme: str, host: str, port: int | None, upper: bool, zeros: bool
) -> None:
    """Any origin, in any case, with or without zeros before its port, parses to its normal form.

    The normal form serialises to text that parses back to the very same ``Origin``.
    """
    text = f"{scheme}://{host}" + ("" if port is None else f":{'00' if zeros else ''}{port}")
    expected_port = None if port == DEFAULT_PORTS.get(scheme) else port

    origin = parse_origin("o", text.upper() if upper else text)

    assert origin == Origin(scheme, _normal_host(host), expected_port)
    assert parse_origin("o", origin.serialize()) == origin


@given(NEAR_ORIGINS | st.text(max_size=30), st.booleans())
@example("https://*.example.com", True)
@example("HTTP://[0:0::1]:080", False)
def test_normalisation_is_idempotent(value: str, wildcard: bool) -> None:
    """Whatever is accepted normalises to a fixed point: scheme://host[:port], nothing else."""
    try:
        origin = parse_origin("o", value, wildcard=wildcard)
    except ValueError:
        return
    serialised = origin.serialize()

    assert parse_origin("o", serialised, wildcard=wildcard) == origin
    assert serialised == serialised.lower()
    assert not set("/?#@ %") & set(serialised.partition("://")[2])
    assert origin.port is None or 0 < origin.port <= 65535
    assert origin.port is None or origin.port != DEFAULT_PORTS.get(origin.scheme)


@given(_OPTIONS, NEAR_ORIGINS | st.text(max_size=30), st.booleans())
# Found by hypothesis: the rule of SAFE_WILDCARD_RULE starts with "a", the others with "an".
@example(option="_", value="https://*._", wildcard=True)
def test_refusals_are_value_errors_naming_the_option(
    option: str, value: str, wildcard: bool
) -> None:
    """Any text is accepted or refused with a ``ValueError`` in the SPEC §2.1 shape."""
    try:
        parse_origin(option, value, wildcard=wildcard)
    except ValueError as error:
        message = str(error)
        assert re.match(rf"{re.escape(option)} must be an? \S", message) is not None
        assert f", got {value!r}" in message


@given(st.lists(LABELS, min_size=2, max_size=4).map(".".join), _PORTS)
def test_a_wildcard_stands_before_a_domain_of_two_labels_or_more(
    domain: str, port: int | None
) -> None:
    """``https://*.<domain>`` is accepted exactly when the domain is a name of two labels."""
    text = f"https://*.{domain}" + ("" if port is None else f":{port}")
    numeric = domain.replace(".", "").isdigit() or domain[-1].isdigit()
    try:
        origin = parse_origin("o", text, wildcard=True)
    except ValueError:
        assert numeric
    else:
        assert not numeric
        assert origin.host == f"*.{domain}"
        assert re.fullmatch(rf"\*(\.{LABEL}){{2,}}", origin.host)


# --- parse_host ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("example.com", ("example.com", None)),
        ("Example.COM:8080", ("example.com", 8080)),
        ("example.com:80", ("example.com", 80)),
        ("example.com:080", ("example.com", 80)),
        ("[0:0::1]:443", ("[::1]", 443)),
        ("[::1]", ("[::1]", None)),
        ("127.0.0.1", ("127.0.0.1", None)),
        ("local_host", ("local_host", None)),
    ],
)
def test_parse_host_reads_host_and_port(value: str, expected: tuple[str, int | None]) -> None:
    """A ``Host`` value gives the normal host and the port as sent, default ones included."""
    assert parse_host(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "example.com:",
        "example.com:0",
        "example.com:65536",
        "example.com:+80",
        "example.com:8080:1",
        "a..b",
        "example.com.",
        "bücher.example",
        "[::1",
        "[::1]:",
        "[::1]x",
        "[fe80::1%eth0]",
        "::1",
        "127.1",
        "a b",
        " example.com",
        "*.example.com",
        "example.com/path",
        "user@example.com",
        "example.com:" + "9" * 5000,
    ],
)
def test_parse_host_gives_none_for_anything_else(value: str) -> None:
    """Whatever is not ``host[:port]`` by the origin rules gives ``None``, never an exception."""
    assert parse_host(value) is None


@given(NEAR_ORIGINS | st.text(max_size=30))
@example("[0:0::1]:08000")
@example("a.example:65536")
def test_parse_host_agrees_with_parse_origin(value: str) -> None:
    """``parse_host(t)`` accepts exactly what ``parse_origin("http://" + t)`` does, never raises.

    Both give the same host, and the same port but for 80, which only the origin drops.
    """
    found = parse_host(value)
    try:
        origin = parse_origin("o", "http://" + value)
    except ValueError:
        assert found is None
    else:
        assert found is not None
        host, port = found
        assert (host, None if port == 80 else port) == (origin.host, origin.port)
