"""Key functions: one bucket per client, user, API key or route, never a shared or unsafe one."""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.authentication import BaseUser as StarletteBaseUser
from starlette.authentication import SimpleUser as StarletteUser
from starlette.authentication import UnauthenticatedUser as StarletteAnonymous

from asgi_middleware.auth import SimpleUser, UnauthenticatedUser
from asgi_middleware.rate_limit import api_key, client_address, route, user
from asgi_middleware.rate_limit.keys import checked, safe_key
from tests.support.asgi import http_scope, websocket_scope

#: What every key must look like: printable ASCII, no space, quote, '%' outside the hashed
#: markers, ':', '\\', '{' or '}'; short.
SAFE = re.compile(r"[!#$%&'()*+,\-./0-9;<=>?@A-Z\[\]^_`a-z|~]{1,210}")


def scope_from(client: Any = ("203.0.113.7", 4711), **extra: Any) -> dict[str, Any]:
    """An HTTP scope with ``client`` as the server (or the proxy layer) left it."""
    return http_scope(client=client, **extra)


# --- Client address -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "ip-203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "ip6-2001.db8.1.2../64"),
        ("2001:DB8:1:2::ffff", "ip6-2001.db8.1.2../64"),
        ("::1", "ip6-../64"),
        ("::ffff:192.0.2.1", "ip-192.0.2.1"),
        ("::ffff:c000:201", "ip-192.0.2.1"),
        ("testclient", "host-testclient"),
    ],
)
def test_client_address_keys(host: str, key: str) -> None:
    """IPv4 as it is, IPv6 by /64, IPv4-mapped IPv6 as IPv4, a name under its own prefix."""
    assert client_address()(scope_from((host, 1))) == key


def test_the_port_does_not_matter() -> None:
    """Two connections of one client, from two ports, share its bucket."""
    key = client_address()

    assert key(scope_from(("192.0.2.1", 1))) == key(scope_from(("192.0.2.1", 2)))


@pytest.mark.parametrize(
    ("prefix", "first", "second", "same"),
    [
        (64, "2001:db8:0:1::1", "2001:db8:0:1:ffff::9", True),
        (64, "2001:db8:0:1::1", "2001:db8:0:2::1", False),
        (48, "2001:db8:0:1::1", "2001:db8:0:2::1", True),
        (48, "2001:db8:0::1", "2001:db8:1::1", False),
        (128, "2001:db8::1", "2001:db8::2", False),
        (1, "::1", "7fff::1", True),
    ],
)
def test_ipv6_prefix_groups_addresses(prefix: int, first: str, second: str, same: bool) -> None:
    """Addresses inside one prefix are one client; outside it, two."""
    key = client_address(ipv6_prefix=prefix)

    assert (key(scope_from((first, 1))) == key(scope_from((second, 1)))) is same


@given(st.ip_addresses(v=6))
def test_ipv6_keys_name_the_network(address: ipaddress.IPv6Address) -> None:
    """The key is the /64 network, in its compressed form with dots for colons."""
    if address.ipv4_mapped is not None:
        return
    network = ipaddress.IPv6Network((int(address) >> 64 << 64, 64))

    key = client_address()(scope_from((str(address), 1)))

    assert key == "ip6-" + network.network_address.compressed.replace(":", ".") + "/64"


@given(st.ip_addresses(v=4), st.ip_addresses(v=4))
def test_distinct_ipv4_addresses_never_share_a_key(
    first: ipaddress.IPv4Address, second: ipaddress.IPv4Address
) -> None:
    """IPv4 keys are one to one with addresses."""
    key = client_address()

    same_key = key(scope_from((str(first), 1))) == key(scope_from((str(second), 1)))

    assert same_key is (first == second)


@given(st.text(max_size=300))
def test_any_client_text_gives_a_safe_key(host: str) -> None:
    """Whatever a server or a proxy layer put in ``client``, the key is safe and bounded."""
    key = client_address()(scope_from((host, 1)))

    assert key is None or SAFE.fullmatch(key)


@pytest.mark.parametrize("client", [None, ("", 0), (None, None), [], ("", None)])
def test_no_client_address_is_exempt_with_one_warning(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """No address: ``None`` (exempt, never one bucket shared by all such requests), warned once."""
    key = client_address()
    caplog.set_level(logging.WARNING, logger="asgi_middleware.rate_limit")

    keys = [key(scope_from(client)), key(scope_from(client))]

    assert keys == [None, None]
    assert [record.getMessage() for record in caplog.records] == [
        (
            "a request without a client address is not rate limited: behind a proxy that "
            "connects over a Unix socket, put ProxyHeadersMiddleware with "
            "trust_unix_socket=True in front (this is logged once)"
        )
    ]


def test_a_scope_without_client_is_exempt() -> None:
    """A server that leaves ``client`` out altogether (it is optional in ASGI) is the same."""
    scope = http_scope()
    del scope["client"]

    assert client_address()(scope) is None


@pytest.mark.parametrize(
    ("prefix", "error"), [(0, ValueError), (129, ValueError), (True, TypeError), ("64", TypeError)]
)
def test_bad_ipv6_prefix(prefix: Any, error: type[Exception]) -> None:
    """The prefix is an int from 1 to 128."""
    with pytest.raises(
        error, match=re.escape(f"ipv6_prefix must be an int from 1 to 128, got {prefix!r}")
    ):
        client_address(ipv6_prefix=prefix)


# --- User -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "key"),
    [
        (SimpleUser("alice"), "user-alice"),
        (StarletteUser("bob"), "user-bob"),
        (UnauthenticatedUser(), "ip-203.0.113.7"),
        (StarletteAnonymous(), "ip-203.0.113.7"),
        (SimpleUser(""), "ip-203.0.113.7"),
        (None, "ip-203.0.113.7"),
    ],
)
def test_user_keys(who: object, key: str) -> None:
    """An authenticated user's identity; anyone else falls back to the client address."""
    scope = scope_from() if who is None else scope_from(user=who)

    assert user()(scope) == key


@pytest.mark.parametrize("identity", ["alice@example.com:1", "{x}", "a b", "é", "x" * 201])
def test_user_identities_a_key_cannot_hold_are_hashed(identity: str) -> None:
    """An identity with ``:``, braces, spaces, non-ASCII or over 200 characters: its hash."""
    key = user()(scope_from(user=SimpleUser(identity)))

    assert key is not None
    assert re.fullmatch(r"user%[0-9a-f]{32}", key)
    assert key == user()(scope_from(user=SimpleUser(identity)))  # the same user, the same key


def test_anonymous_requests_can_be_exempt() -> None:
    """``fallback=None``: a request without a user is not limited by this key."""
    assert user(fallback=None)(scope_from()) is None


def test_a_fallback_of_yours_is_made_safe() -> None:
    """A fallback function's keys go through the same check as the middleware's ``key``."""
    key = user(fallback=lambda _: "tenant:{a}")

    assert key(scope_from()) == safe_key("tenant:{a}")


def test_a_user_without_identity_is_keyed_on_its_display_name() -> None:
    """A Starlette ``BaseUser`` need not implement ``identity``: ``display_name`` is used."""

    class Named(StarletteBaseUser):
        @property
        def is_authenticated(self) -> bool:
            return True

        @property
        def display_name(self) -> str:
            return "carol"

    assert user()(scope_from(user=Named())) == "user-carol"


def test_a_user_object_with_odd_attributes() -> None:
    """A user whose identity is not a str counts as anonymous, never as a crash."""

    class Odd:
        is_authenticated = True
        identity = 42

    assert user()(scope_from(user=Odd())) == "ip-203.0.113.7"


# --- API key --------------------------------------------------------------------------------


def test_api_keys_are_hashed() -> None:
    """The key holds a hash of the secret, never the secret; one secret, one key."""
    secret = "sk_live_0123456789abcdef"  # noqa: S105 - a made-up key
    key = api_key()

    found = key(scope_from(headers=[("x-api-key", secret)]))

    assert found is not None
    assert re.fullmatch(r"key%[0-9a-f]{32}", found)
    assert secret not in found
    assert found == key(scope_from(headers=[("X-API-KEY", secret)]))
    assert found != key(scope_from(headers=[("x-api-key", secret + "x")]))


@pytest.mark.parametrize(
    "headers",
    [[], [("x-api-key", "")], [("x-api-key", "a"), ("x-api-key", "b")]],
    ids=["missing", "empty", "repeated"],
)
def test_requests_without_one_api_key_fall_back(headers: list[tuple[str, str]]) -> None:
    """No key, an empty one or two of them: the fallback's key (the client address)."""
    scope = scope_from(headers=headers)

    assert api_key()(scope) == "ip-203.0.113.7"
    assert api_key(fallback=None)(scope) is None


def test_api_key_header_name() -> None:
    """Another header, matched in any case."""
    key = api_key(header="Authorization-Key")

    assert key(scope_from(headers=[("authorization-key", "k")])) == api_key()(
        scope_from(headers=[("x-api-key", "k")])
    )


def test_bad_api_key_header() -> None:
    """The header must be a header name."""
    with pytest.raises(ValueError, match="header must be an HTTP token"):
        api_key(header="x api key")


# --- Route ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "key"),
    [
        (http_scope("GET", "/items/1"), "route-GET/items/1"),
        (http_scope("POST", "/items/1"), "route-POST/items/1"),
        (http_scope("post", "/items/1"), "route-POST/items/1"),  # one bucket with POST
        (http_scope("Delete", "/items/1"), "route-DELETE/items/1"),
        (http_scope("M-SEARCH", "/"), "route-M-SEARCH/"),
        (http_scope("HEAD", "/items/1"), "route-GET/items/1"),  # the GET endpoint runs
        (http_scope("head", "/items/1"), "route-GET/items/1"),
        (http_scope("GET", "/api/items", root_path="/api"), "route-GET/items"),
        (websocket_scope("/ws"), "route-GET/ws"),
    ],
)
def test_route_keys(scope: dict[str, Any], key: str) -> None:
    """Upper-cased method and path relative to the root path; HEAD and a handshake are GETs."""
    assert route()(scope) == key


def test_route_paths_a_key_cannot_hold_are_hashed() -> None:
    """A path with ``{``, ``:`` or spaces gives a hash, the same one each time."""
    scope = http_scope("GET", "/a b/{c}:d")

    assert re.fullmatch(r"route%[0-9a-f]{32}", route()(scope) or "")


# --- Your own key functions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("returned", "key"),
    [
        ("tenant-42", "tenant-42"),
        (None, None),
        ("tenant:42", safe_key("tenant:42")),
        ("}{", safe_key("}{")),
        ("a" * 201, safe_key("a" * 201)),
        ("%41", safe_key("%41")),
    ],
)
def test_keys_of_yours_are_checked(returned: str | None, key: str | None) -> None:
    """A safe key passes as it is; anything else (``%`` included) becomes ``%`` and a hash."""
    function = checked("key", lambda _: returned)

    assert function(scope_from()) == key
    assert key is None or SAFE.fullmatch(key)


def test_hashed_keys_cannot_be_spelled_by_a_safe_one() -> None:
    """A client cannot send the text of another client's hashed key and share its bucket."""
    hashed = safe_key("tenant:42")

    assert hashed.startswith("%")
    assert safe_key(hashed) != hashed


def test_a_key_function_must_return_a_str() -> None:
    """Anything but a ``str`` or ``None`` is a programming error, raised with the culprit."""
    function = checked("key", lambda _: 42)  # type: ignore[arg-type,return-value]

    with pytest.raises(TypeError, match="a key function must return a str or None, got 42"):
        function(scope_from())


def test_an_async_key_function_is_refused() -> None:
    """Key functions are called without ``await``."""

    async def key(scope: object) -> str:
        return "k"

    with pytest.raises(TypeError, match="key must be a plain"):
        checked("key", key)  # type: ignore[arg-type]


def test_built_in_key_functions_pass_unchanged() -> None:
    """The built-in ones already give safe keys: no second check on the request path."""
    key = client_address()

    assert checked("key", key) is key


@pytest.mark.parametrize(
    ("function", "text"),
    [
        (client_address(), "client_address(ipv6_prefix=64)"),
        (user(fallback=None), "user(fallback=None)"),
        (api_key(), "api_key(header='x-api-key', fallback=client_address(ipv6_prefix=64))"),
        (route(), "route()"),
    ],
)
def test_reprs(function: object, text: str) -> None:
    """A key function says what it is, in start-up errors and logs."""
    assert repr(function) == text


def test_a_wrapped_function_shows_as_itself() -> None:
    """A key function of yours keeps its own repr once checked."""

    def tenant(scope: object) -> str:
        return "t"

    assert repr(checked("key", tenant)) == repr(tenant)
