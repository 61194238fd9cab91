"""CORSMiddleware configuration: validation at construction, and the origin and list parsers."""

from __future__ import annotations

import re
import string
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from asgi_middleware import CORSMiddleware, Receive, Scope, Send
from asgi_middleware._kit.order import ORDER_RULES
from asgi_middleware._kit.origins import parse_origin
from asgi_middleware.cors._origins import build_matcher, parse_token_list, split_origins
from tests.support.asgi import http_scope, run


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """A placeholder app; configuration tests never call it."""


def build(**options: Any) -> CORSMiddleware:
    """Construct the middleware around ``app``."""
    return CORSMiddleware(app, **options)


# --- Construction ------------------------------------------------------------------------------


def test_defaults_match_starlette() -> None:
    """The defaults are Starlette's: nothing allowed, GET only, 600 s, no credentials."""
    import inspect  # noqa: PLC0415 - this test only

    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(CORSMiddleware).parameters.items()
        if name != "app"
    }

    assert defaults == {
        "allow_origins": (),
        "allow_methods": ("GET",),
        "allow_headers": (),
        "allow_credentials": False,
        "allow_origin_regex": None,
        "allow_private_network": False,
        "expose_headers": (),
        "max_age": 600,
        "allow_origin_check": None,
        "preflight_status": 200,
        "websocket_origins": None,
    }


def test_options_are_keyword_only() -> None:
    """Options are keyword-only: a positional option is a TypeError."""
    with pytest.raises(TypeError):
        CORSMiddleware(app, ["https://app.example"])  # type: ignore[call-arg]


def test_compose_role() -> None:
    """The class takes part in compose's order checks as the "cors" role."""
    assert CORSMiddleware._compose_role == "cors"
    assert any("cors" in (rule.outer, rule.inner) for rule in ORDER_RULES)


def test_no_per_request_attributes() -> None:
    """``__slots__`` keeps per-request state off the instance."""
    with pytest.raises(AttributeError):
        build().origin = b"x"  # type: ignore[attr-defined]


def test_star_with_credentials_refused_with_the_fix() -> None:
    """A star with credentials is refused; the message shows how to allow origins explicitly."""
    with pytest.raises(ValueError, match=r"^allow_origins must not contain '\*'") as info:
        build(allow_origins=["*"], allow_credentials=True)

    message = str(info.value)
    assert "got ('*',)" in message
    assert "allow_origins=['https://app.example'" in message
    assert "allow_origin_regex" in message
    assert "allow_origin_check" in message


@pytest.mark.parametrize(
    "pattern", [".*", r"https?://.*", "https://.+", re.compile(r"(https|http)://[^/]+")]
)
def test_regex_matching_any_origin_refused(pattern: str | re.Pattern[str]) -> None:
    """A regex that matches an arbitrary origin is refused: it would echo any origin."""
    with pytest.raises(ValueError, match="allow_origin_regex must not match any origin"):
        build(allow_origin_regex=pattern)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [("https://b.example", True), ("https://c.example", False), ("https://b.example.evil", False)],
)
def test_compiled_regex_accepted(origin: str, allowed: bool) -> None:
    """A compiled ``str`` pattern is used as given: it decides which origins a preflight allows."""
    middleware = build(allow_origin_regex=re.compile(r"https://(a|b)\.example"))
    scope = http_scope(
        "OPTIONS",
        headers=[(b"origin", origin.encode()), (b"access-control-request-method", b"GET")],
    )

    start = anyio.run(run, middleware, scope)[0]

    echoed = dict(start["headers"]).get(b"access-control-allow-origin")
    assert (start["status"], echoed) == ((200, origin.encode()) if allowed else (400, None))


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"allow_origins": "https://a.example"}, TypeError, "allow_origins must be a list"),
        ({"allow_origins": [b"https://a"]}, TypeError, r"allow_origins\[0\] must be a str"),
        ({"allow_origins": ["https://a/"]}, ValueError, "remove the trailing slash: .https://a"),
        ({"allow_origins": ["https://a.example/x"]}, ValueError, "without a path"),
        ({"allow_origins": ["a.example"]}, ValueError, "with a scheme"),
        ({"allow_origins": ["https://.*\\.example"]}, ValueError, "use|allow_origin_regex"),
        ({"allow_origins": ["https://(a|b).example"]}, ValueError, "allow_origin_regex instead"),
        ({"allow_origins": ["https://u@a.example"]}, ValueError, "without a user name"),
        ({"allow_origins": ["https://a.example?q"]}, ValueError, "without a query"),
        ({"allow_origins": ["https://a.example#f"]}, ValueError, "without a fragment"),
        ({"allow_origins": ["https://a.example:"]}, ValueError, "followed by a port"),
        ({"allow_origins": ["https://a.example:0"]}, ValueError, "port from 1 to 65535"),
        ({"allow_origins": ["https://a.example:65536"]}, ValueError, "port from 1 to 65535"),
        ({"allow_origins": ["https://a.example:8x"]}, ValueError, "port from 1 to 65535"),
        ({"allow_origins": ["https://a..example"]}, ValueError, "valid host name"),
        ({"allow_origins": ["https://"]}, ValueError, "valid host name"),
        ({"allow_origins": ["https://bücher.example"]}, ValueError, "punycode"),
        ({"allow_origins": ["https://300.1.1.1"]}, ValueError, "valid IPv4 host"),
        ({"allow_origins": ["https://[::1"]}, ValueError, "valid IPv6 host"),
        ({"allow_origins": ["https://[::1]x"]}, ValueError, "valid IPv6 host"),
        ({"allow_origins": ["https://[zz::1]"]}, ValueError, "valid IPv6 host"),
        ({"allow_origins": ["https://a*.example"]}, ValueError, "leading"),
        ({"allow_origins": ["https?://a.example"]}, ValueError, "allow_origin_regex instead"),
        ({"allow_origins": ["https://[a-z]+\\.example"]}, ValueError, "allow_origin_regex instead"),
        ({"allow_origins": ["https://*a.example"]}, ValueError, "leading"),
        ({"allow_origins": ["https://*.com"]}, ValueError, "two labels or more"),
        ({"allow_origins": ["https://*.10.0.0.1"]}, ValueError, "two labels or more"),
        ({"allow_origins": ["NULL"]}, ValueError, "with a scheme"),
        ({"allow_origin_regex": b"x"}, TypeError, "allow_origin_regex must be a str"),
        ({"allow_origin_regex": "("}, ValueError, "allow_origin_regex must be a valid regular"),
        ({"allow_origin_check": "yes"}, TypeError, "allow_origin_check must be callable"),
        ({"allow_methods": ["GET POST"]}, ValueError, r"allow_methods\[0\] must be an HTTP token"),
        ({"allow_methods": "GET"}, TypeError, "allow_methods must be a list"),
        ({"allow_headers": ["x:y"]}, ValueError, r"allow_headers\[0\] must be an HTTP token"),
        ({"expose_headers": ["x y"]}, ValueError, r"expose_headers\[0\] must be an HTTP token"),
        ({"allow_credentials": 1}, TypeError, "allow_credentials must be a bool"),
        ({"allow_private_network": "yes"}, TypeError, "allow_private_network must be a bool"),
        ({"max_age": -1}, ValueError, "max_age must be an int >= 0"),
        ({"max_age": 1.5}, TypeError, "max_age must be an int >= 0"),
        ({"preflight_status": 201}, ValueError, "preflight_status must be 200 or 204, got 201"),
        ({"preflight_status": "200"}, TypeError, "preflight_status must be an int"),
        ({"websocket_origins": ["*"]}, ValueError, "pass websocket_origins=None"),
        ({"websocket_origins": ["https://a.example/"]}, ValueError, r"websocket_origins\[0\]"),
        ({"websocket_origins": "https://a"}, TypeError, "websocket_origins must be a list"),
        (
            {"expose_headers": ["*"], "allow_credentials": True, "allow_origins": ["https://a.b"]},
            ValueError,
            "expose_headers must list header names when allow_credentials=True",
        ),
    ],
)  # fmt: skip
def test_bad_options_refused(options: dict[str, Any], error: type[Exception], message: str) -> None:
    """Each bad option raises TypeError or ValueError at construction, naming the option."""
    with pytest.raises(error, match=message):
        build(**options)


def test_async_origin_check_refused() -> None:
    """An async origin check is refused: its coroutine would never be awaited."""

    async def check(origin: str) -> bool:
        return True  # pragma: no cover - never called

    class AsyncCheck:
        async def __call__(self, _origin: str) -> bool:
            return True  # pragma: no cover - never called

    for candidate in (check, AsyncCheck()):
        with pytest.raises(TypeError, match="must be a plain \\(not async\\) callable"):
            build(allow_origin_check=candidate)


def test_error_message_shape() -> None:
    """Errors follow ``<option> must be <rule>, got <value!r>``."""
    with pytest.raises(ValueError, match=r"^allow_origins\[1\] must be .*, got 'https://b/x'"):
        build(allow_origins=["https://a.example", "https://b/x"])


# --- Configured origins ----------------------------------------------------------------------


def configured(origin: str) -> str:
    """The one origin ``split_origins`` makes of ``[origin]``, exact or wildcard, as text."""
    _, exact, wildcards = split_origins("allow_origins", [origin])
    [parsed] = [*(item.decode("ascii") for item in exact), *wildcards]
    return parsed


@pytest.mark.parametrize(
    ("origin", "serialised"),
    [
        ("https://app.example", "https://app.example"),
        ("HTTPS://App.Example", "https://app.example"),
        ("https://app.example:443", "https://app.example"),
        ("http://app.example:80", "http://app.example"),
        ("wss://app.example:443", "wss://app.example"),
        ("http://app.example:443", "http://app.example:443"),
        ("http://localhost:08000", "http://localhost:8000"),
        ("http://[0:0::1]:8000", "http://[::1]:8000"),
        ("http://127.0.0.1:5173", "http://127.0.0.1:5173"),
        ("https://*.Example.com", "https://*.example.com"),
        ("https://*.example.com:443", "https://*.example.com"),
        ("app-scheme://local_host", "app-scheme://local_host"),
        ("null", "null"),
    ],
)
def test_configured_origins_are_normalised(origin: str, serialised: str) -> None:
    """Configured origins are normalised to the serialisation browsers send."""
    assert configured(origin) == serialised


def test_split_origins_sorts_star_exact_and_wildcards() -> None:
    """``"*"`` sets allow-all; exact origins become bytes; wildcards stay text for the matcher."""
    origins = ["*", "https://a.example", "HTTPS://A.EXAMPLE:443", "https://*.b.example", "null"]

    allow_all, exact, wildcards = split_origins("allow_origins", origins)

    assert allow_all is True
    assert exact == {b"https://a.example", b"null"}
    assert wildcards == ["https://*.b.example"]


_LABELS = st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=12)
_HOSTS = st.lists(_LABELS, min_size=1, max_size=4).map(".".join)
_SCHEMES = st.sampled_from(["http", "https", "ws", "wss"])
_PORTS = st.one_of(st.none(), st.integers(1, 65535))


@given(_SCHEMES, _HOSTS, _PORTS, st.booleans())
def test_configured_origins_round_trip(
    scheme: str, host: str, port: int | None, wildcard: bool
) -> None:
    """Every serialised origin, wildcard or not, configures itself without its default port."""
    prefix = "*." if wildcard else ""
    origin = f"{scheme}://{prefix}{host}" + ("" if port is None else f":{port}")
    default = {"http": 80, "https": 443, "ws": 80, "wss": 443}[scheme]
    expected = f"{scheme}://{prefix}{host}" + ("" if port in (None, default) else f":{port}")
    numeric = host.replace(".", "").isdigit()  # an IPv4 address: checked separately
    if numeric or (wildcard and ("." not in host or host[-1].isdigit())):
        return

    assert configured(origin.upper()) == expected
    assert configured(configured(origin)) == expected


@given(st.text(max_size=40).filter(lambda value: value != "*"))
def test_configured_origins_never_fail_unexpectedly(value: str) -> None:
    """Any string configures something without path, query or user, or is a ValueError."""
    try:
        parsed = configured(value)
    except ValueError as error:
        message = str(error)
    else:
        message = ""
        rest = parsed.partition("://")[2]
        assert parsed == "null" or not set("/?#@ ") & set(rest)
        assert configured(parsed) == parsed
    assert not message or message.startswith("allow_origins[0] must be ")


def test_cors_and_the_kit_agree() -> None:
    """CORS keeps no origin parser of its own: an exact origin is the kit's serialisation."""
    for origin in ("HTTP://[0:0::1]:80", "https://xn--bcher-kva.example:8443"):
        assert configured(origin) == parse_origin("allow_origins[0]", origin).serialize()


@pytest.mark.parametrize("value", ["https://(a|b).example", "https?://a.example"])
def test_regex_looking_origins_point_to_allow_origin_regex(value: str) -> None:
    """A listed origin that looks like a regex names ``allow_origin_regex`` in its hint."""
    with pytest.raises(
        ValueError, match=r"^allow_origins\[0\] must be .*allow_origin_regex instead$"
    ):
        build(allow_origins=[value])


# --- Wildcard matching ---------------------------------------------------------------------------


@given(st.lists(_LABELS, min_size=1, max_size=3).map(".".join))
def test_wildcard_matches_any_subdomain(subdomain: str) -> None:
    """``https://*.example.com`` matches one or more labels before the suffix."""
    matches = build_matcher(["https://*.example.com"])
    assert matches is not None

    assert matches(f"https://{subdomain}.example.com".encode())


@given(st.text(alphabet=string.printable + "é", max_size=30))
def test_wildcard_never_matches_outside_the_suffix(prefix: str) -> None:
    """Whatever precedes it, a match is a bare https subdomain of example.com, no port or path."""
    matches = build_matcher(["https://*.example.com"])
    assert matches is not None
    origin = f"https://{prefix}.example.com"

    if matches(origin.encode("utf-8")):
        assert re.fullmatch(r"[a-z0-9_\-]+(\.[a-z0-9_\-]+)*", prefix)
        assert not matches(f"https://{prefix}.example.com:1".encode())


def test_matcher_is_none_without_patterns() -> None:
    """No wildcard, regex or check: the request path needs only the exact set."""
    assert build_matcher([]) is None


# --- parse_token_list ----------------------------------------------------------------------------

_TOKENS = st.text(string.ascii_letters + string.digits + "-_!#$%&'*+.^`|~", min_size=1, max_size=10)
_BLANKS = st.text(" \t", max_size=2)


@given(st.lists(st.tuples(_BLANKS, _TOKENS, _BLANKS)), st.lists(_BLANKS, max_size=3))
def test_token_list_tolerates_whitespace_and_empty_elements(
    elements: list[tuple[str, str, str]], empties: list[str]
) -> None:
    """Tokens come back lower-cased, in order, without whitespace or empty elements."""
    parts = [f"{before}{token}{after}" for before, token, after in elements] + empties
    value = ",".join(parts).encode("ascii")

    assert parse_token_list(value) == [token.lower().encode() for _, token, _ in elements]


@given(st.binary(max_size=30))
def test_token_list_never_raises(value: bytes) -> None:
    """Any bytes give a list of lower-case tokens or ``None``, never an exception."""
    tokens = parse_token_list(value)

    if tokens is not None:
        assert all(token and token == token.lower() and b"," not in token for token in tokens)


@pytest.mark.parametrize("value", [b"x y", b"a,b:c", b"\xff", b'"q"'])
def test_token_list_refuses_non_tokens(value: bytes) -> None:
    """An element that is not a token makes the whole list invalid."""
    assert parse_token_list(value) is None


# --- Access-Control-Request-Headers in a preflight ---------------------------------------------

_ALLOWED = ("x-one", "x-two", "content-type")


async def _preflight_status(middleware: CORSMiddleware, requested: bytes) -> int:
    scope = http_scope(
        "OPTIONS",
        headers=[
            (b"origin", b"https://app.example"),
            (b"access-control-request-method", b"GET"),
            (b"access-control-request-headers", requested),
        ],
    )
    messages = await run(middleware, scope)
    status: int = messages[0]["status"]
    return status


@given(
    st.lists(st.tuples(_BLANKS, st.sampled_from(_ALLOWED), st.booleans(), _BLANKS), max_size=5),
    st.lists(_BLANKS, max_size=3),
    st.sampled_from([None, "x-three", "X Bad"]),
)
def test_preflight_request_headers_any_layout(
    elements: list[tuple[str, str, bool, str]], empties: list[str], extra: str | None
) -> None:
    """Allowed names pass in any case, spacing or order with empty elements; any other fails."""
    parts = [f"{pre}{name.upper() if upper else name}{post}" for pre, name, upper, post in elements]
    parts += empties + ([] if extra is None else [extra])
    middleware = build(allow_origins=["https://app.example"], allow_headers=["X-One", "x-TWO"])

    status = anyio.run(_preflight_status, middleware, ",".join(parts).encode("ascii"))

    assert status == (200 if extra is None else 400)
