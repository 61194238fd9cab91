"""TrustedHostMiddleware on raw ASGI: the exact messages for each host, option and scope type.

The host patterns and the Host field reader are the kit's, tested in test_origins.py; these
tests pin what the middleware does with them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from asgi_middleware import Receive, Scope, Send
from asgi_middleware._kit.hosts import parse_host_field
from asgi_middleware.trusted_host import TrustedHostMiddleware
from tests.support.asgi import (
    Exchange,
    body,
    http_scope,
    lifespan_scope,
    run,
    start,
    websocket_scope,
)
from tests.support.host_apps import DENIAL, OK, PLAIN, Recorder, host, refusal

pytestmark = pytest.mark.anyio

HOSTS = ["example.com", "*.example.org", "only.example:8443", "[::1]", "127.0.0.1"]


INVALID = refusal(b"Invalid host header")
MISSING = refusal(b"Missing host header")
REPEATED = refusal(b"Repeated host header")


async def serve(
    scope: Mapping[str, Any], hosts: Sequence[str] = tuple(HOSTS), **options: Any
) -> tuple[list[Mapping[str, Any]], Recorder]:
    """Run one request through the middleware; return the messages and the app."""
    app = Recorder()
    messages = await run(TrustedHostMiddleware(app, allowed_hosts=hosts, **options), scope)
    return messages, app


# --- Options -------------------------------------------------------------------------------------


def test_allowed_hosts_is_required() -> None:
    """There is no default: a service must say which hosts it serves."""
    with pytest.raises(TypeError, match="allowed_hosts"):
        TrustedHostMiddleware(Recorder())  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("hosts", "error", "message"),
    [
        ("example.com", TypeError, "allowed_hosts must be a list or tuple of str, got 'exa"),
        ([], ValueError, "allowed_hosts must be a non-empty list of hosts, got []"),
        (["ok.example", "https://a.example"], ValueError, "allowed_hosts[1] must be a host witho"),
        (["a.example/x"], ValueError, "allowed_hosts[0] must be a host without a path"),
        (["*example.com"], ValueError, "allowed_hosts[0] must be a host with at most one leading"),
        (["a.*.com"], ValueError, "allowed_hosts[0] must be a host with at most one leading"),
        (["::1"], ValueError, "allowed_hosts[0] must be a host with an IPv6 address in brackets"),
        ([""], ValueError, "allowed_hosts[0] must be a host such as 'example.com'"),
    ],
)  # fmt: skip
def test_bad_allowed_hosts_are_refused_at_construction(
    hosts: object, error: type[Exception], message: str
) -> None:
    """Each bad entry fails at start-up with the SPEC §2.1 message, naming the item."""
    with pytest.raises(error, match=re.escape(message)):
        TrustedHostMiddleware(Recorder(), allowed_hosts=hosts)  # type: ignore[arg-type]


def test_www_redirect_must_be_a_bool() -> None:
    """``www_redirect`` is a bool, not a truthy value."""
    with pytest.raises(TypeError, match=re.escape("www_redirect must be a bool, got 'yes'")):
        TrustedHostMiddleware(Recorder(), allowed_hosts=["*"], www_redirect="yes")  # type: ignore[arg-type]


def test_compose_role() -> None:
    """``compose`` knows the layer by its role."""
    assert TrustedHostMiddleware._compose_role == "trusted_host"


# --- Allowed hosts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "example.com",
        "EXAMPLE.com",
        "example.com:8080",
        "example.com.",
        "example.com.:8080",
        "a.example.org",
        "a.b.example.org:1",
        "only.example:8443",
        "[::1]",
        "[0:0::1]:8000",
        "127.0.0.1:8000",
    ],
)
async def test_an_allowed_host_reaches_the_app_untouched(value: str) -> None:
    """Any case, any port unless the entry lists one, a trailing dot: the very scope passes."""
    scope = http_scope(headers=host(value))

    messages, app = await serve(scope)

    assert messages == OK
    assert app.scopes == [scope]
    assert app.scopes[0] is scope


async def test_the_host_field_name_is_matched_in_any_case() -> None:
    """``HOST`` is the Host field."""
    messages, _ = await serve(http_scope(headers=[("HoSt", "example.com")]))

    assert messages == OK


@pytest.mark.parametrize(
    "value",
    [
        "evil.example",
        "www.example.com",
        "example.org",
        "evilexample.org",
        "example.org.evil.example",
        "only.example",
        "only.example:8444",
        "127.0.0.2",
        "[::2]",
    ],
)
async def test_a_host_not_allowed_gets_400(value: str) -> None:
    """Not listed, a wildcard's own domain, a look-alike, another port: 400, the app not called."""
    exchange = Exchange("http")
    app = Recorder()

    await TrustedHostMiddleware(app, allowed_hosts=HOSTS)(
        http_scope(headers=host(value)), exchange.receive, exchange.send
    )

    assert exchange.sent == INVALID
    assert app.scopes == []
    assert exchange.received == []  # the request body is never read


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        ("app.localhost:8000", True),
        ("a.b.localhost", True),
        ("localhost:8000", True),
        ("API.Localhost.", True),
        ("evillocalhost", False),
        ("app.localhost.evil.example", False),
    ],
)
async def test_a_wildcard_over_localhost_works_as_in_starlette(value: str, allowed: bool) -> None:
    """``*.localhost`` (loopback, RFC 6761) is accepted and allows names under ``localhost``."""
    messages, app = await serve(http_scope(headers=host(value)), ["localhost", "*.localhost"])

    assert messages == (OK if allowed else INVALID)
    assert len(app.scopes) == allowed


async def test_a_listed_port_is_the_default_port_of_the_scheme() -> None:
    """``tls.example:443`` allows ``Host: tls.example`` over https only."""
    hosts = ["tls.example:443"]

    https, _ = await serve(http_scope(headers=host("tls.example"), scheme="https"), hosts)
    plain, _ = await serve(http_scope(headers=host("tls.example")), hosts)
    no_scheme = http_scope(headers=host("tls.example"))
    del no_scheme["scheme"]
    default, _ = await serve(no_scheme, hosts)

    assert https == OK
    assert plain == INVALID
    assert default == INVALID


@pytest.mark.parametrize(
    "value",
    [
        "evil.example@example.com",
        "example.com@evil.example",
        "example.com/evil",
        "example.com:80:80",
        "example.com:0",
        "example.com:",
        "exa mple.com",
        " example.com",
        "example.com..",
        "*.example.org",
        "[::1",
        "::1",
        "",
        "a" * 10_000,
        b"b\xfccher.example",
        b"example.com\x00",
    ],
)
@pytest.mark.parametrize("hosts", [HOSTS, ["*"]], ids=["listed", "any"])
async def test_an_invalid_host_gets_400_even_with_any_host(
    value: str | bytes, hosts: list[str]
) -> None:
    """A Host that is not ``host[:port]`` is refused, also under ``"*"``: never a 500."""
    messages, app = await serve(http_scope(headers=host(value)), hosts)

    assert messages == INVALID
    assert app.scopes == []


@pytest.mark.parametrize("hosts", [HOSTS, ["*"]], ids=["listed", "any"])
@pytest.mark.parametrize("second", ["example.com", "evil.example"])
async def test_a_repeated_host_gets_400_always(hosts: list[str], second: str) -> None:
    """Two Host fields, even equal and even under ``"*"``: 400 (RFC 9112 §3.2)."""
    scope = http_scope(headers=[("host", "example.com"), ("Host", second)])

    messages, app = await serve(scope, hosts)

    assert messages == REPEATED
    assert app.scopes == []


@pytest.mark.parametrize(
    ("http_version", "hosts", "allowed"),
    [
        ("1.1", HOSTS, False),
        ("1.1", ["*"], False),
        ("2", ["*"], False),
        ("3", ["*"], False),
        ("1.0", HOSTS, False),
        ("1.0", ["*"], True),
    ],
)
async def test_a_missing_host(http_version: str, hosts: list[str], allowed: bool) -> None:
    """Missing: 400 from HTTP/1.1 on; HTTP/1.0 may omit it, and passes under ``"*"`` only."""
    scope = http_scope(headers=[("accept", "*/*")], http_version=http_version)

    messages, app = await serve(scope, hosts)

    assert messages == (OK if allowed else MISSING)
    assert app.scopes == ([scope] if allowed else [])


async def test_a_scope_without_headers_has_no_host() -> None:
    """ASGI allows a scope without ``headers``: that is a missing Host, not an exception."""
    scope = http_scope()
    del scope["headers"]

    messages, _ = await serve(scope)

    assert messages == MISSING


async def test_a_scope_without_http_version_is_http_1_1() -> None:
    """ASGI's default ``http_version`` is 1.1, where Host is required."""
    scope = http_scope()
    del scope["http_version"]

    messages, _ = await serve(scope, ["*"])

    assert messages == MISSING


# --- WebSockets and other scopes -----------------------------------------------------------------


async def test_a_websocket_for_an_allowed_host_passes() -> None:
    """The handshake reaches the app, which accepts it."""
    scope = websocket_scope(headers=host("a.example.org"))

    messages, app = await serve(scope)

    assert [m["type"] for m in messages] == ["websocket.accept", "websocket.close"]
    assert app.scopes == [scope]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (host("evil.example"), b"Invalid host header"),
        ([("host", "example.com"), ("host", "example.com")], b"Repeated host header"),
        ([], b"Missing host header"),
    ],
)
async def test_a_refused_websocket_gets_the_denial_response(
    headers: list[tuple[str, str]], reason: bytes
) -> None:
    """With the denial extension, the same 400 goes out as the handshake's response."""
    messages, app = await serve(websocket_scope(headers=headers, extensions=DENIAL))

    length = str(len(reason)).encode()
    assert messages == [
        {
            "type": "websocket.http.response.start",
            "status": 400,
            "headers": [PLAIN, (b"content-length", length)],
        },
        {"type": "websocket.http.response.body", "body": reason, "more_body": False},
    ]
    assert app.scopes == []


async def test_a_refused_websocket_is_closed_with_1008_without_the_extension() -> None:
    """Without the extension the handshake is closed before it is accepted."""
    messages, app = await serve(websocket_scope(headers=host("evil.example")))

    assert messages == [{"type": "websocket.close", "code": 1008, "reason": "Invalid host header"}]
    assert app.scopes == []


async def test_lifespan_passes_through() -> None:
    """Lifespan reaches the app with the very scope."""
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        await receive()
        await send({"type": "lifespan.startup.complete"})

    scope = lifespan_scope()
    await run(
        TrustedHostMiddleware(app, allowed_hosts=["example.com"]),
        scope,
        [{"type": "lifespan.startup"}],
    )

    assert seen == [scope]
    assert seen[0] is scope


# --- The www redirect ----------------------------------------------------------------------------

WWW = ["www.example.com", "www.tls.example:443", "*.wild.example"]


def without_raw_path(path: str) -> dict[str, Any]:
    """A request for ``example.com`` without ``raw_path`` (optional in ASGI), for ``path``."""
    scope = http_scope(headers=host("example.com"))
    del scope["raw_path"]
    return scope | {"path": path}


def redirect(location: bytes) -> list[dict[str, Any]]:
    """The complete 307 of the www redirect."""
    text = b"Redirecting to the www host"
    headers = [(b"location", location), PLAIN, (b"content-length", str(len(text)).encode())]
    return [start(307, headers), body(text)]


@pytest.mark.parametrize(
    ("scope", "location"),
    [
        (http_scope(path="/a/b", headers=host("example.com"), query_string=b"x=1"), b"http://www.example.com/a/b?x=1"),
        (http_scope(path="/", headers=host("Example.COM.:8080")), b"http://www.example.com:8080/"),
        (http_scope(path="/a", headers=host("example.com"), scheme="https"), b"https://www.example.com/a"),
        (http_scope(path="/a%2Fb", headers=host("example.com")) | {"raw_path": b"/a%2Fb"}, b"http://www.example.com/a%2Fb"),
        (http_scope(path="/caf\u00e9", headers=host("example.com")) | {"raw_path": None}, b"http://www.example.com/caf%C3%A9"),
        (without_raw_path("/caf\udce9"), b"http://www.example.com/caf%E9"),
        (http_scope(path="/", headers=host("tls.example"), scheme="https"), b"https://www.tls.example/"),
    ],
)  # fmt: skip
async def test_www_redirect_keeps_port_path_and_query(
    scope: dict[str, Any], location: bytes
) -> None:
    """``www.<host>`` listed: 307 to it, from the normalised host, the port, path and query kept."""
    messages, app = await serve(scope, WWW)

    assert messages == redirect(location)
    assert app.scopes == []


@pytest.mark.parametrize(
    ("scope", "options"),
    [
        (http_scope(headers=host("example.com")), {"www_redirect": False}),
        (http_scope(headers=host("wild.example")), {}),
        (http_scope(headers=host("tls.example")), {}),
        (http_scope(headers=host("www.example.com.evil")), {}),
    ],
)
async def test_no_www_redirect_without_an_exact_www_entry(
    scope: dict[str, Any], options: dict[str, Any]
) -> None:
    """Switched off, only under a wildcard, on another port, or not listed: a plain 400."""
    messages, _ = await serve(scope, WWW, **options)

    assert messages == INVALID


async def test_a_websocket_is_refused_rather_than_redirected() -> None:
    """Browsers do not follow a WebSocket's redirect: the handshake gets the 400."""
    messages, _ = await serve(websocket_scope(headers=host("example.com"), extensions=DENIAL), WWW)

    assert messages[0]["status"] == 400


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(st.binary(max_size=40) | st.text("aAz0.:@/[]#?\\ %-_", max_size=30).map(str.encode))
@example(b"example.com@evil.example")
@example(b"evil.example#.example.com")
@example(b"evil.example/.example.com")
@example(b"example.com:80@evil.example")
async def test_a_crafted_host_cannot_steer_the_www_redirect(value: bytes) -> None:
    """Whatever the Host, the answer is 400 or a redirect to ``www.`` plus the parsed host."""
    messages, app = await serve(
        http_scope(path="/p", headers=host(value)), ["www.example.com", "*"]
    )

    assert app.scopes == [] or messages == OK
    if messages[0]["status"] == 307:
        parsed = parse_host_field(value)
        assert parsed is not None
        assert parsed == ("example.com", parsed[1])
        location = dict(messages[0]["headers"])[b"location"]
        port = b"" if parsed[1] is None else b":%d" % parsed[1]
        assert location == b"http://www.example.com" + port + b"/p"
