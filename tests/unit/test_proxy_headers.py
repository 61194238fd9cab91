"""ProxyHeadersMiddleware in raw ASGI: trust, the hop walk, scheme, host, port and prefix."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest

from asgi_middleware import ASGIApp, Receive, Scope, Send
from asgi_middleware.proxy_headers import ProxyHeadersMiddleware
from asgi_middleware.trusted_host import TrustedHostMiddleware
from tests.support.asgi import body, http_scope, lifespan_scope, run, start, websocket_scope

pytestmark = pytest.mark.anyio

LOGGER = "asgi_middleware.proxy_headers"


def recorder(seen: list[Scope]) -> ASGIApp:
    """An app that records the scope it got, then answers 200 ``ok`` (or accepts a WebSocket)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 1000})
        elif scope["type"] == "http":
            await send(start(200, [("content-type", "text/plain")]))
            await send(body(b"ok"))

    return app


async def seen_scope(scope: dict[str, Any], **options: Any) -> Scope:
    """Run one request through the middleware; return the scope the app saw."""
    seen: list[Scope] = []
    await run(ProxyHeadersMiddleware(recorder(seen), **options), scope)
    [inner] = seen
    return inner


def proxied(*headers: tuple[str, str], peer: str = "127.0.0.1", **extra: Any) -> dict[str, Any]:
    """An http scope from ``peer`` with the given request headers."""
    return http_scope(headers=headers, client=(peer, 40000), **extra)


# --- Construction ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"trusted_proxies": "127.0.0.1"}, TypeError, "trusted_proxies must be a list or tuple"),
        ({"trusted_proxies": [1]}, TypeError, "trusted_proxies[0] must be a str, got 1"),
        ({"trusted_proxies": ["proxy.internal"]}, ValueError, "resolve host names yourself"),
        ({"trusted_proxies": ["10.0.0.0/33"]}, ValueError, "the prefix length is at most 32"),
        ({"trusted_proxies": ["10.0.0.1/8"]}, ValueError, "did you mean '10.0.0.0/8'?"),
        ({"headers": "x-forwarded-for"}, ValueError, "headers must be one of 'x-forwarded'"),
        ({"headers": None}, TypeError, "headers must be a str, got None"),
        ({"trust_unix_socket": 1}, TypeError, "trust_unix_socket must be a bool, got 1"),
        ({"forwarded_host": "yes"}, TypeError, "forwarded_host must be a bool"),
        ({"forwarded_port": None}, TypeError, "forwarded_port must be a bool"),
        ({"forwarded_prefix": 0}, TypeError, "forwarded_prefix must be a bool"),
        (
            {"forwarded_port": True, "headers": "forwarded"},
            ValueError,
            "forwarded_port must be False with headers='forwarded', got True; RFC 7239",
        ),
        (
            {"trusted_proxies": []},
            ValueError,
            (
                "trusted_proxies must be a non-empty list of addresses or networks, got []; "
                "pass trust_unix_socket=True to trust only Unix-socket peers"
            ),
        ),
        (
            {"trusted_proxies": (), "trust_unix_socket": False},
            ValueError,
            "trusted_proxies must be a non-empty list of addresses or networks, got ()",
        ),
    ],
)
def test_bad_options_are_refused(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Each bad option fails at construction with "<option> must be <rule>, got <value>"."""
    with pytest.raises(error) as info:
        ProxyHeadersMiddleware(recorder([]), **options)
    assert message in str(info.value)


def test_entries_are_normalised() -> None:
    """Entries in any spelling are kept in their normal form, IPv4 also IPv4-mapped."""
    middleware = ProxyHeadersMiddleware(
        recorder([]),
        trusted_proxies=["0:0:0:0:0:0:0:1", "10.0.0.7", "::FFFF:a00:8", "2001:db8::/32", "*"],
    )
    trust = middleware._trust
    assert trust.exact == {"::1", "10.0.0.7", "::ffff:10.0.0.7", "10.0.0.8", "::ffff:10.0.0.8"}
    assert trust.everyone
    assert trust.networks
    assert "everyone=True" in repr(trust)


async def test_an_empty_list_with_unix_sockets_trusts_only_those() -> None:
    """``trusted_proxies=[]`` is allowed with trust_unix_socket: no address is then trusted."""
    unix = proxied(("x-forwarded-for", "203.0.113.9"))
    unix["client"] = None
    loopback = proxied(("x-forwarded-for", "203.0.113.9"))
    options = {"trusted_proxies": [], "trust_unix_socket": True}
    assert (await seen_scope(unix, **options))["client"] == ("203.0.113.9", 0)
    assert await seen_scope(loopback, **options) is loopback


# --- Trust -------------------------------------------------------------------------------


async def test_untrusted_peer_gets_the_very_same_scope() -> None:
    """A peer that is not a trusted proxy changes nothing: the app gets the scope object."""
    scope = proxied(("x-forwarded-for", "6.6.6.6"), ("x-forwarded-proto", "https"), peer="8.8.8.8")
    assert await seen_scope(scope) is scope


@pytest.mark.parametrize("scope", [lifespan_scope(), {"type": "other", "client": ("127.0.0.1", 1)}])
async def test_other_scope_types_pass_through(scope: dict[str, Any]) -> None:
    """Lifespan and unknown scope types reach the app as they came."""
    seen: list[Scope] = []
    await ProxyHeadersMiddleware(recorder(seen))(scope, _never, _never)
    assert seen == [scope]
    assert seen[0] is scope


async def _never(*_: Any) -> Any:
    raise AssertionError


@pytest.mark.parametrize(
    ("peer", "trusted"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("0:0::1", True),  # an unusual spelling of a listed address
        ("::ffff:127.0.0.1", True),  # a dual-stack socket's IPv4 peer
        ("127.0.0.2", False),
        ("::2", False),
        ("not-an-address", False),
    ],
)
async def test_default_trust_is_loopback(peer: str, trusted: bool) -> None:
    """By default only 127.0.0.1 and ::1 (in any spelling) are trusted."""
    scope = proxied(("x-forwarded-for", "203.0.113.9"), peer=peer)
    client = (await seen_scope(scope))["client"]
    assert client == (("203.0.113.9", 0) if trusted else (peer, 40000))


@pytest.mark.parametrize(
    ("peer", "trusted"),
    [
        ("10.1.2.3", True),
        ("11.0.0.1", False),
        ("2001:db8::5", True),
        ("2001:db9::5", False),
        ("::ffff:10.9.9.9", True),
        ("192.168.1.1", True),
    ],
)
async def test_networks_and_addresses(peer: str, trusted: bool) -> None:
    """CIDR networks of both families and exact addresses decide the peer's trust."""
    scope = proxied(("x-forwarded-for", "203.0.113.9"), peer=peer)
    proxies = ["10.0.0.0/8", "2001:db8::/32", "192.168.1.1"]
    client = (await seen_scope(scope, trusted_proxies=proxies))["client"]
    assert client == (("203.0.113.9", 0) if trusted else (peer, 40000))


# On Python 3.10-3.12 ipaddress writes ::ffff:10.0.0.1 as ::ffff:a00:1, on 3.13 with the dotted
# tail; a dual-stack server reports the dotted one. Each entry is tried in both spellings.
MAPPED_ENTRIES = [
    "10.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:a00:1",
    "10.0.0.0/8",
    "::ffff:10.0.0.0/104",
    "::ffff:a00:0/104",
    "::ffff:10.0.0.1/128",
]


@pytest.mark.parametrize("entry", MAPPED_ENTRIES)
@pytest.mark.parametrize(
    ("peer", "trusted"),
    [
        ("10.0.0.1", True),
        ("::ffff:10.0.0.1", True),
        ("::ffff:a00:1", True),
        ("0:0:0:0:0:ffff:0a00:0001", True),
        ("10.0.0.2", None),  # trusted by the networks only
        ("::ffff:10.0.0.2", None),
        ("11.0.0.1", False),
        ("::ffff:11.0.0.1", False),
        ("::a00:1", False),  # IPv4-compatible, not IPv4-mapped
    ],
)
async def test_ipv4_mapped_entries_trust_peers_in_either_spelling(
    entry: str, peer: str, trusted: bool | None
) -> None:
    """An entry written as IPv4-mapped IPv6 is its IPv4 address or network, and the reverse."""
    if trusted is None:
        trusted = "/" in entry and not entry.endswith("/128")
    scope = proxied(("x-forwarded-for", "203.0.113.9"), ("x-forwarded-proto", "https"), peer=peer)
    inner = await seen_scope(scope, trusted_proxies=[entry])
    if trusted:
        assert (inner["client"], inner["scheme"]) == (("203.0.113.9", 0), "https")
    else:
        assert inner is scope


@pytest.mark.parametrize("entry", MAPPED_ENTRIES)
@pytest.mark.parametrize(
    "hop", ["10.0.0.1", "::ffff:10.0.0.1", "::ffff:a00:1", "[::ffff:a00:1]:80", "[::FFFF:10.0.0.1]"]
)
async def test_ipv4_mapped_entries_trust_hops_in_either_spelling(entry: str, hop: str) -> None:
    """A hop in either spelling is skipped as a listed proxy, whichever spelling is listed."""
    scope = proxied(("x-forwarded-for", f"203.0.113.9, {hop}"), ("x-forwarded-proto", "https"))
    inner = await seen_scope(scope, trusted_proxies=["127.0.0.1", entry])
    assert inner["client"] == ("203.0.113.9", 0)


@pytest.mark.parametrize(
    ("entry", "peer", "trusted"),
    [
        ("::/0", "2001:db8::1", True),
        ("::/0", "10.9.9.9", True),  # ::/0 holds all of ::ffff:0:0/96, so every IPv4 address
        ("::/0", "::ffff:10.9.9.9", True),
        ("::ffff:0:0/96", "198.51.100.7", True),
        ("::ffff:0:0/96", "2001:db8::1", False),
        ("::fffe:0:0/95", "::ffff:198.51.100.7", True),
        ("::fffe:0:0/95", "::fffe:0:1", True),
        ("::/96", "198.51.100.7", False),  # IPv4-compatible space, no mapped address in it
        ("::/96", "::c633:6407", True),
        ("2001:db8::/32", "198.51.100.7", False),
        ("2001:db8::/96", "198.51.100.7", False),
        ("2001:db8::/96", "2001:db8::1", True),
    ],
)
async def test_wide_ipv6_networks_cover_ipv4_only_when_they_hold_the_mapped_range(
    entry: str, peer: str, trusted: bool
) -> None:
    """An IPv6 network under /96 keeps its IPv6 space, and covers IPv4 if it holds ::ffff:0:0/96."""
    scope = proxied(("x-forwarded-for", "203.0.113.9"), peer=peer)
    inner = await seen_scope(scope, trusted_proxies=[entry])
    assert (inner["client"] == ("203.0.113.9", 0)) is trusted


@pytest.mark.parametrize("option", [False, True])
@pytest.mark.parametrize("missing", ["none", "absent"])
async def test_unix_socket_peers_need_the_option(option: bool, missing: str) -> None:
    """A peer without an address is trusted only with trust_unix_socket=True."""
    scope = proxied(("x-forwarded-for", "203.0.113.9"))
    if missing == "none":
        scope["client"] = None
    else:
        del scope["client"]
    inner = await seen_scope(scope, trust_unix_socket=option)
    assert (inner.get("client") == ("203.0.113.9", 0)) is option
    assert (inner is scope) is not option


async def test_star_trusts_any_peer_but_takes_the_right_most_hop() -> None:
    """Under "*" the client is the address our proxy saw, never the one the client wrote."""
    scope = proxied(("x-forwarded-for", "1.1.1.1, 203.0.113.9"), peer="198.51.100.1")
    inner = await seen_scope(scope, trusted_proxies=["*"])
    assert inner["client"] == ("203.0.113.9", 0)


# --- The fast path -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "client", "scheme"),
    [
        (
            (("x-forwarded-for", "203.0.113.9"), ("x-forwarded-proto", "https")),
            "203.0.113.9",
            "https",
        ),
        ((("X-Forwarded-For", "203.0.113.9"),), "203.0.113.9", "http"),
        ((("x-forwarded-proto", "https"),), "127.0.0.1", "https"),
        (
            (("x-forwarded-for", " 203.0.113.9 "), ("x-forwarded-proto", "HTTPS")),
            "203.0.113.9",
            "https",
        ),
    ],
)
async def test_one_hop(headers: tuple[tuple[str, str], ...], client: str, scheme: str) -> None:
    """One hop and one scheme, in normal form or not: both are applied."""
    inner = await seen_scope(proxied(*headers))
    assert inner["client"][0] == client
    assert inner["scheme"] == scheme


async def test_websocket_scheme_is_wss() -> None:
    """A WebSocket handshake forwarded as https becomes wss; the session is forwarded."""
    seen: list[Scope] = []
    scope = websocket_scope(
        headers=[("x-forwarded-for", "203.0.113.9"), ("x-forwarded-proto", "https")]
    )
    messages = await run(ProxyHeadersMiddleware(recorder(seen)), scope)
    assert seen[0]["scheme"] == "wss"
    assert seen[0]["client"] == ("203.0.113.9", 0)
    assert messages == [{"type": "websocket.accept"}, {"type": "websocket.close", "code": 1000}]


@pytest.mark.parametrize(
    ("kind", "proto", "scheme"),
    [
        ("websocket", "http", "ws"),
        ("websocket", "wss", "wss"),
        ("websocket", "WS", "ws"),
        ("http", "wss", None),
        ("http", "ftp", None),
        ("websocket", "ftp", None),
    ],
)
async def test_scheme_by_scope_type(kind: str, proto: str, scheme: str | None) -> None:
    """http/https for HTTP; ws/wss too for WebSockets; anything else leaves the scheme."""
    headers = [("x-forwarded-for", "203.0.113.9"), ("x-forwarded-proto", proto)]
    scope = websocket_scope(headers=headers) if kind == "websocket" else http_scope(headers=headers)
    inner = await seen_scope(scope)
    assert inner["scheme"] == (scheme or scope["scheme"])
    assert inner["client"] == ("203.0.113.9", 0)


async def test_messages_pass_through_unchanged() -> None:
    """The app's messages reach the server as they were sent."""
    scope = proxied(("x-forwarded-for", "203.0.113.9"))
    messages = await run(ProxyHeadersMiddleware(recorder([])), scope)
    assert messages == [start(200, [("content-type", "text/plain")]), body(b"ok")]


@pytest.mark.parametrize(
    "headers",
    [
        (("x-forwarded-for", "203.0.113.9"), ("x-forwarded-proto", "https")),
        (("forwarded", "for=203.0.113.9;proto=https;host=a.example"),),
    ],
)
async def test_nothing_given_is_mutated(headers: tuple[tuple[str, str], ...]) -> None:
    """The server's scope and header list stay as they were; state is the same dict."""
    scope = proxied(*headers)
    before = copy.deepcopy(scope)
    inner = await seen_scope(scope, headers="both", forwarded_host=True)
    assert scope == before
    assert inner is not scope
    assert inner["state"] is scope["state"]
    assert inner["client"] == ("203.0.113.9", 0)


# --- The hop walk --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "proxies", "client"),
    [
        (["1.1.1.1, 203.0.113.9"], ["127.0.0.1"], ("203.0.113.9", 0)),
        (["203.0.113.9, 10.0.0.2"], ["127.0.0.1", "10.0.0.0/8"], ("203.0.113.9", 0)),
        (["1.1.1.1", "203.0.113.9, 10.0.0.2"], ["127.0.0.1", "10.0.0.2"], ("203.0.113.9", 0)),
        (["10.0.0.3, 10.0.0.2"], ["127.0.0.1", "10.0.0.0/8"], ("10.0.0.3", 0)),
        (["203.0.113.9:5678"], ["127.0.0.1"], ("203.0.113.9", 5678)),
        (["[2001:db8::1]:4711"], ["127.0.0.1"], ("2001:db8::1", 4711)),
        (["2001:DB8:0::1"], ["127.0.0.1"], ("2001:db8::1", 0)),
        (["2001:db8::9, ::ffff:10.0.0.2"], ["127.0.0.1", "10.0.0.2"], ("2001:db8::9", 0)),
        (["2001:db8::9, 2001:db8:1::2"], ["127.0.0.1", "2001:db8:1::/48"], ("2001:db8::9", 0)),
        (["2001:db8::9, ::ffff:10.0.0.2"], ["127.0.0.1", "10.0.0.0/8"], ("2001:db8::9", 0)),
        ([" , 203.0.113.9 ,, "], ["127.0.0.1"], ("203.0.113.9", 0)),
    ],
)
async def test_right_to_left_walk(
    fields: list[str], proxies: list[str], client: tuple[str, int]
) -> None:
    """Every field and comma list, right to left, skipping listed proxies, ports kept."""
    scope = proxied(*[("x-forwarded-for", value) for value in fields])
    inner = await seen_scope(scope, trusted_proxies=proxies)
    assert inner["client"] == client


@pytest.mark.parametrize(
    "value",
    [
        "unknown",
        "_hidden",
        "evil.example",
        "[fe80::1%eth0]",
        "1.2.3.4:99999",
        "[::1",
        "1.2.3.4:x",
        "[::1]x",
    ],
)
async def test_unusable_hop_keeps_the_client_and_applies_the_scheme(
    value: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A hop that is no IP address leaves the client; the scheme of that hop still applies."""
    scope = proxied(("x-forwarded-for", f"1.1.1.1, {value}"), ("x-forwarded-proto", "https"))
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        inner = await seen_scope(scope)
    assert inner["client"] == ("127.0.0.1", 40000)
    assert inner["scheme"] == "https"
    assert [r.getMessage() for r in caplog.records] == [
        "kept the client: the forwarded address is not an IP address"
    ]


async def test_too_many_hops_change_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """Past 64 trusted hops the walk gives up: the scope is left as it was."""
    hops = ", ".join(["10.0.0.1"] * 5000)
    scope = proxied(("x-forwarded-for", f"203.0.113.9, {hops}"), ("x-forwarded-proto", "https"))
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        inner = await seen_scope(scope, trusted_proxies=["127.0.0.1", "10.0.0.1"])
    assert inner is scope
    assert "more than 64 hops" in caplog.text


async def test_thousands_of_untrusted_hops_take_the_right_most() -> None:
    """An enormous header costs a bounded split: the right-most hop is still found."""
    scope = proxied(("x-forwarded-for", "1.1.1.1, " * 20000 + "203.0.113.9"))
    assert (await seen_scope(scope))["client"] == ("203.0.113.9", 0)


@pytest.mark.parametrize(
    ("forwarded_for", "protos", "scheme"),
    [
        ("1.1.1.1, 203.0.113.9", ["http, https"], "https"),
        ("203.0.113.9, 10.0.0.2", ["https, http"], "https"),
        ("203.0.113.9, 10.0.0.2", ["https", "http"], "https"),
        ("203.0.113.9, 10.0.0.2", ["https"], "https"),
        ("203.0.113.9, 10.0.0.2", ["http"], "http"),
        ("9.9.9.9, 203.0.113.9, 10.0.0.2", ["https, http"], "https"),
        ("203.0.113.9, 10.0.0.2, 10.0.0.3", ["https, http"], None),
    ],
)
async def test_scheme_aligned_with_the_hop(
    forwarded_for: str, protos: list[str], scheme: str | None
) -> None:
    """X-Forwarded-Proto is read from the right at the chosen hop's index, or is one value."""
    headers = [("x-forwarded-for", forwarded_for), *[("x-forwarded-proto", p) for p in protos]]
    inner = await seen_scope(proxied(*headers), trusted_proxies=["127.0.0.1", "10.0.0.0/8"])
    assert inner["scheme"] == (scheme or "http")


async def test_bad_scheme_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A scheme that is not http or https is left, with one debug line."""
    scope = proxied(("x-forwarded-for", "1.1.1.1, 203.0.113.9"), ("x-forwarded-proto", "gopher"))
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        inner = await seen_scope(scope)
    assert inner["scheme"] == "http"
    assert inner["client"] == ("203.0.113.9", 0)
    assert [r.getMessage() for r in caplog.records] == [
        "kept the scheme: the forwarded one is not http or https"
    ]


async def test_no_proxy_headers_change_nothing() -> None:
    """A trusted peer that sent no proxy header: the app gets the scope as it came."""
    scope = proxied(("accept", "*/*"))
    assert await seen_scope(scope) is scope


# --- Forwarded ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "client", "scheme"),
    [
        (["for=203.0.113.9;proto=https"], ("203.0.113.9", 0), "https"),
        (['For="[2001:db8::1]:4711";Proto=HTTPS'], ("2001:db8::1", 4711), "https"),
        (["for=1.1.1.1, for=203.0.113.9;proto=https"], ("203.0.113.9", 0), "https"),
        (
            ["for=1.1.1.1", "for=203.0.113.9", "for=10.0.0.2;proto=https"],
            ("203.0.113.9", 0),
            "http",
        ),
        (['for="203.0.113.9:_port";proto=https, for=10.0.0.2'], ("203.0.113.9", 0), "https"),
        (["for=unknown;proto=https"], ("127.0.0.1", 40000), "https"),
        (["for=_hidden;proto=https"], ("127.0.0.1", 40000), "https"),
        (["proto=https;by=10.0.0.2"], ("127.0.0.1", 40000), "https"),
        (["for=10.0.0.3;proto=https, for=10.0.0.2"], ("10.0.0.3", 0), "https"),
        ([""], ("127.0.0.1", 40000), "http"),
    ],
)
async def test_forwarded(values: list[str], client: tuple[str, int], scheme: str) -> None:
    """RFC 7239: for= walked right to left, proto= of the same element."""
    scope = proxied(*[("forwarded", value) for value in values])
    inner = await seen_scope(
        scope, headers="forwarded", trusted_proxies=["127.0.0.1", "10.0.0.0/8"]
    )
    assert inner["client"] == client
    assert inner["scheme"] == scheme


@pytest.mark.parametrize(
    "value",
    [
        'for="203.0.113.9',  # unbalanced quote
        "for=203.0.113.9;for=1.1.1.1",  # a parameter twice in one element
        "for=203.0.113.9 proto=https",
        "=x",
        "for=" + "a" * 9000,
        "for=1.1.1.1, " * 700 + "for=203.0.113.9",  # longer than the parser reads
    ],
)
async def test_invalid_forwarded_changes_nothing(
    value: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An invalid Forwarded header is ignored whole: the scope is left, with a debug line."""
    scope = proxied(("forwarded", value), ("x-forwarded-for", "6.6.6.6"))
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        inner = await seen_scope(scope, headers="both")
    assert inner is scope
    assert caplog.messages == ["ignored an invalid Forwarded header"]


async def test_forwarded_hop_limit() -> None:
    """More than 64 trusted Forwarded hops: the scope is left as it was."""
    value = "for=203.0.113.9, " + ", ".join(["for=10.0.0.1"] * 70)
    scope = proxied(("forwarded", value))
    inner = await seen_scope(scope, headers="forwarded", trusted_proxies=["127.0.0.1", "10.0.0.1"])
    assert inner is scope


async def test_forwarded_mode_ignores_x_forwarded() -> None:
    """headers="forwarded" reads no X-Forwarded-* header."""
    scope = proxied(("x-forwarded-for", "6.6.6.6"), ("x-forwarded-proto", "https"))
    assert await seen_scope(scope, headers="forwarded") is scope


@pytest.mark.parametrize(
    ("headers", "client"),
    [
        ((("forwarded", "for=203.0.113.9"), ("x-forwarded-for", "6.6.6.6")), "203.0.113.9"),
        ((("x-forwarded-for", "6.6.6.6"),), "6.6.6.6"),
    ],
)
async def test_both_prefers_forwarded(headers: tuple[tuple[str, str], ...], client: str) -> None:
    """headers="both": Forwarded when present, else the X-Forwarded family."""
    inner = await seen_scope(proxied(*headers), headers="both")
    assert inner["client"] == (client, 0)


async def test_x_forwarded_mode_ignores_forwarded() -> None:
    """The default family reads no Forwarded header."""
    scope = proxied(("forwarded", "for=6.6.6.6;proto=https"))
    assert await seen_scope(scope) is scope


# --- Host and port -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "options", "host", "server"),
    [
        (
            [("Host", "internal:8000"), ("x-forwarded-host", "api.example"), ("host", "x")],
            {"forwarded_host": True},
            b"api.example",
            ("api.example", 80),
        ),
        (
            [("x-forwarded-proto", "https"), ("x-forwarded-host", "API.example:443")],
            {"forwarded_host": True},
            b"api.example",
            ("api.example", 443),
        ),
        (
            [("x-forwarded-host", "[2001:db8::1]:8443")],
            {"forwarded_host": True},
            b"[2001:db8::1]:8443",
            ("2001:db8::1", 8443),
        ),
        (
            [
                ("host", "internal:8000"),
                ("x-forwarded-host", "api.example"),
                ("x-forwarded-port", "8443"),
            ],
            {"forwarded_host": True, "forwarded_port": True},
            b"api.example:8443",
            ("api.example", 8443),
        ),
        (
            [
                ("host", "api.example:8000"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-port", "443"),
            ],
            {"forwarded_port": True},
            b"api.example",
            ("api.example", 443),
        ),
    ],
)
async def test_host_and_port(
    headers: list[tuple[str, str]], options: dict[str, Any], host: bytes, server: tuple[str, int]
) -> None:
    """The host header is replaced by one field; server follows; default ports are omitted."""
    scope = proxied(("x-forwarded-for", "203.0.113.9"), *headers)
    inner = await seen_scope(scope, **options)
    hosts = [value for name, value in inner["headers"] if name.lower() == b"host"]
    assert hosts == [host]
    assert inner["server"] == server


async def test_port_corrects_a_host_with_a_trailing_dot() -> None:
    """The Host a port corrects is read as the trusted-host layer reads it: the dot dropped."""
    scope = proxied(("host", "API.example.:8000"), ("x-forwarded-port", "8443"))
    inner = await seen_scope(scope, forwarded_port=True)
    assert [value for name, value in inner["headers"] if name == b"host"] == [b"api.example:8443"]
    assert inner["server"] == ("api.example", 8443)


@pytest.mark.parametrize(
    "forwarded", [[], [("x-forwarded-host", "evil example")]], ids=["port", "bad-host"]
)
async def test_port_leaves_a_repeated_host_as_it_came(
    forwarded: list[tuple[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    """Two Host fields are never made one: headers and server stay, the client still changes."""
    scope = proxied(
        ("host", "shop.example"),
        ("HOST", "evil.example"),
        ("x-forwarded-for", "203.0.113.9"),
        ("x-forwarded-port", "443"),
        *forwarded,
    )
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        inner = await seen_scope(scope, forwarded_host=True, forwarded_port=True)
    assert inner["headers"] is scope["headers"]
    assert inner["server"] == scope["server"]
    assert inner["client"] == ("203.0.113.9", 0)
    assert "kept the host and port: the request has more than one Host field" in caplog.messages


async def test_a_repeated_host_still_reaches_the_trusted_host_check() -> None:
    """Stacked outside the trusted-host layer with forwarded_port, a repeated Host gets its 400."""
    seen: list[Scope] = []
    app = ProxyHeadersMiddleware(
        TrustedHostMiddleware(recorder(seen), allowed_hosts=["shop.example"]),
        trusted_proxies=["10.0.0.0/16"],
        forwarded_port=True,
    )
    scope = proxied(
        ("host", "shop.example"),
        ("host", "evil.example"),
        ("x-forwarded-for", "203.0.113.9"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-port", "443"),
        peer="10.0.1.5",
    )
    messages = await run(app, scope)
    reason = b"Repeated host header"
    plain = (b"content-type", b"text/plain; charset=utf-8")
    assert messages == [
        start(400, [plain, (b"content-length", str(len(reason)).encode())]),
        body(reason),
    ]
    assert seen == []


async def test_forwarded_host_parameter() -> None:
    """host= of the client's Forwarded element, with forwarded_host."""
    scope = proxied(("forwarded", 'for=203.0.113.9;host="api.example:8080"'), ("host", "internal"))
    inner = await seen_scope(scope, headers="forwarded", forwarded_host=True)
    assert [v for n, v in inner["headers"] if n == b"host"] == [b"api.example:8080"]
    assert inner["server"] == ("api.example", 8080)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ([("x-forwarded-host", "evil example")], "kept the host"),
        ([("x-forwarded-port", "99999")], "kept the port"),
        ([("x-forwarded-port", "-1")], "kept the port"),
    ],
)
async def test_bad_host_or_port_is_kept(
    headers: list[tuple[str, str]], message: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An invalid forwarded host or port leaves host header and server, with a debug line."""
    scope = proxied(("x-forwarded-for", "203.0.113.9"), ("host", "internal:8000"), *headers)
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        inner = await seen_scope(scope, forwarded_host=True, forwarded_port=True)
    assert inner["headers"] is scope["headers"]
    assert inner["server"] == scope["server"]
    assert caplog.text.count(message) == 1


async def test_port_without_a_host_header_sets_the_server_port() -> None:
    """With no Host header to correct, only the server's port changes."""
    scope = proxied(("x-forwarded-for", "203.0.113.9"), ("x-forwarded-port", "8443"))
    inner = await seen_scope(scope, forwarded_port=True)
    assert inner["server"] == ("127.0.0.1", 8443)
    assert inner["headers"] is scope["headers"]


async def test_port_without_host_or_server() -> None:
    """With neither a Host header nor a server, a forwarded port changes nothing else."""
    scope = proxied(("x-forwarded-for", "203.0.113.9"), ("x-forwarded-port", "8443"))
    scope["server"] = None
    inner = await seen_scope(scope, forwarded_port=True)
    assert inner["server"] is None
    assert inner["client"] == ("203.0.113.9", 0)


async def test_host_is_ignored_without_the_option() -> None:
    """X-Forwarded-Host changes nothing unless forwarded_host is on."""
    scope = proxied(("x-forwarded-for", "203.0.113.9"), ("x-forwarded-host", "evil.example"))
    inner = await seen_scope(scope)
    assert inner["headers"] is scope["headers"]


# --- Prefix ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "root_path", "path", "raw_path"),
    [
        ("/api", "/api", "/api/items", b"/api/items"),
        ("/api/", "/api", "/api/items", b"/api/items"),
        ("/caf%C3%A9", "/caf\u00e9", "/caf\u00e9/items", b"/caf%C3%A9/items"),
        ("/a%2Db", "/a-b", "/a-b/items", b"/a%2Db/items"),
        ("/", "", "/items", b"/items"),
    ],
)
async def test_prefix(prefix: str, root_path: str, path: str, raw_path: bytes) -> None:
    """The prefix goes before root_path, path and raw_path (decoded where ASGI decodes)."""
    scope = http_scope(path="/items", headers=[("x-forwarded-prefix", prefix)])
    inner = await seen_scope(scope, forwarded_prefix=True)
    assert (inner["root_path"], inner["path"], inner["raw_path"]) == (root_path, path, raw_path)


async def test_prefix_before_an_existing_root_path() -> None:
    """A server's own root_path stays inside the proxy's prefix; no raw_path is fine."""
    scope = http_scope(path="/v1/items", root_path="/v1", headers=[("x-forwarded-prefix", "/api")])
    del scope["raw_path"]
    inner = await seen_scope(scope, forwarded_prefix=True)
    assert (inner["root_path"], inner["path"]) == ("/api/v1", "/api/v1/items")
    assert "raw_path" not in inner


@pytest.mark.parametrize(
    "prefix",
    [
        "api",
        "/a/../b",
        "/a/./b",
        "//evil.example",
        "/%2Fevil.example",
        "/a?b",
        "/a#b",
        "/a\\b",
        "/a b",
        "/a%20b",
        "/a%3Fb",
        "/a%3fb",
        "/a%23b",
        "/a%5Cb",
        "/a%09b",
        "/a%0D%0Ab",
        "/a%7F",
        "/a%C2%A0b",
        "/%2e%2e/x",
        "/%00",
        "/%ff",
        "/é",
    ],
)
async def test_unsafe_prefix_is_refused(prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    """A prefix that is not a safe path is not applied, with a debug line."""
    scope = proxied(("x-forwarded-prefix", prefix))
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        inner = await seen_scope(scope, forwarded_prefix=True)
    assert inner is scope
    assert caplog.messages == ["kept the root path: the forwarded prefix is not a safe path"]


async def test_prefix_with_forwarded() -> None:
    """With the Forwarded family the prefix still comes from X-Forwarded-Prefix."""
    scope = proxied(("forwarded", "for=203.0.113.9"), ("x-forwarded-prefix", "/api"))
    inner = await seen_scope(scope, headers="forwarded", forwarded_prefix=True)
    assert (inner["client"], inner["root_path"]) == (("203.0.113.9", 0), "/api")


async def test_prefix_option_without_the_header() -> None:
    """forwarded_prefix with no X-Forwarded-Prefix header leaves the paths."""
    scope = proxied(("x-forwarded-for", "203.0.113.9"))
    inner = await seen_scope(scope, forwarded_prefix=True)
    assert (inner["root_path"], inner["path"]) == ("", "/")
    assert inner["client"] == ("203.0.113.9", 0)
