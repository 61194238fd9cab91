"""The kit's host checks: a request's Host field, allowed-host patterns, redirect URLs."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from asgi_middleware._kit.hosts import (
    ANY_HOST,
    HostPatterns,
    HostProblem,
    host_field,
    parse_host_field,
    read_host,
    redirect_url,
    refuse_host,
)
from asgi_middleware._kit.origins import parse_host
from tests.support.asgi import Exchange, body, http_scope, start, websocket_scope
from tests.support.strategies import (
    LABELS,
    NEAR_ORIGINS,
    PUNYCODE_HINT,
    exactly,
)

# --- The Host field of a request -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([(b"host", b"a.example")], b"a.example"),
        ([(b"accept", b"*/*"), (b"HOST", b"A.example:80")], b"A.example:80"),
        ((), HostProblem.MISSING),
        ([(b"x-host", b"a.example")], HostProblem.MISSING),
        ([(b"host", b"a.example"), (b"Host", b"a.example")], HostProblem.REPEATED),
        ([(b"host", b"a.example"), (b"host", b"evil.example")], HostProblem.REPEATED),
    ],
)
def test_host_field_reads_the_one_host_field(
    headers: list[tuple[bytes, bytes]], expected: bytes | HostProblem
) -> None:
    """One ``Host`` field (any case) gives its value; none or two give the problem."""
    assert host_field(headers) == expected


def test_host_problems_are_the_reasons_sent() -> None:
    """Each problem's value is the plain text of the 400 reply, ASCII."""
    assert {problem.value for problem in HostProblem} == {
        "Missing host header",
        "Repeated host header",
        "Invalid host header",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"Example.COM", ("example.com", None)),
        (b"example.com.", ("example.com", None)),
        (b"example.com.:8080", ("example.com", 8080)),
        (b"127.0.0.1.", ("127.0.0.1", None)),
        (b"[0::1]:443", ("[::1]", 443)),
        (b"example.com..", None),
        (b".", None),
        (b"", None),
        (b"[::1].", None),
        (b"example.com.:", None),
        (b"evil.example@good.example", None),
        (b"good.example/evil", None),
        (b"b\xfccher.example", None),
        (b"a" * 100_000, None),
    ],
)
def test_parse_host_field(value: bytes, expected: tuple[str, int | None] | None) -> None:
    """A Host value parses as ``parse_host`` does, one trailing dot allowed, 259 bytes at most."""
    assert parse_host_field(value) == expected


def test_parse_host_field_reads_up_to_259_bytes() -> None:
    """The longest name (253 characters) with the longest port (``:65535``) is read."""
    name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])

    assert parse_host_field(f"{name}:65535".encode()) == (name, 65535)
    assert parse_host_field(f"{name}:065535".encode()) is None


@given(NEAR_ORIGINS | st.text(max_size=30))
@example("a.example.")
@example("a.example.:80")
def test_parse_host_field_agrees_with_parse_host(value: str) -> None:
    """The field parser is ``parse_host``, of the value without its trailing dot if need be."""
    raw = value.encode("utf-8")
    name, colon, port = value.partition(":")
    undotted = name[:-1] + colon + port if name.endswith(".") else value

    found = parse_host_field(raw)

    if not value.isascii() or value.startswith("["):
        assert found == parse_host(value)
    else:
        assert found in (parse_host(value), parse_host(undotted))
        assert found is not None or parse_host(undotted) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([(b"host", b"A.example:8000")], ("a.example", 8000)),
        ([], HostProblem.MISSING),
        ([(b"host", b"a"), (b"host", b"a")], HostProblem.REPEATED),
        ([(b"host", b"a.example:0")], HostProblem.INVALID),
    ],
)
def test_read_host(
    headers: list[tuple[bytes, bytes]], expected: tuple[str, int | None] | HostProblem
) -> None:
    """``read_host`` is the field and its parse, or the problem."""
    assert read_host(headers) == expected


@pytest.mark.anyio
@pytest.mark.parametrize("problem", list(HostProblem))
async def test_refuse_host_answers_http_with_a_complete_400(problem: HostProblem) -> None:
    """An HTTP request gets 400, the reason as plain text, with its length."""
    exchange = Exchange("http")
    reason = problem.value.encode()

    await refuse_host(http_scope(), exchange.send, problem)

    length = str(len(reason)).encode()
    plain = (b"content-type", b"text/plain; charset=utf-8")
    assert exchange.sent == [start(400, [plain, (b"content-length", length)]), body(reason)]


@pytest.mark.anyio
async def test_refuse_host_denies_a_websocket() -> None:
    """A WebSocket gets the denial response when offered, else a close 1008 with the reason."""
    offered = Exchange("websocket")
    plain = Exchange("websocket")
    denial: dict[str, Any] = {"websocket.http.response": {}}

    await refuse_host(websocket_scope(extensions=denial), offered.send, HostProblem.INVALID)
    await refuse_host(websocket_scope(), plain.send, HostProblem.REPEATED)

    assert [m["type"] for m in offered.sent] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    assert offered.sent[0]["status"] == 400
    assert offered.sent[1]["body"] == b"Invalid host header"
    assert plain.sent == [
        {"type": "websocket.close", "code": 1008, "reason": "Repeated host header"}
    ]


# --- HostPatterns --------------------------------------------------------------------------------

HOST_RULE = "a host such as 'example.com', '*.example.com', '[::1]' or '127.0.0.1:8000'"
LIST_HINT = "; list the host only: 'example.com'"
ONE_LABEL_RULE = "a host with at most one leading '*.' label"
ONE_LABEL_HINT = "; '*' stands for whole leading labels only, as in '*.example.com'"
HOST_SAFE_WILDCARD = "a safe subdomain wildcard such as '*.example.com'"
HOST_SAFE_WILDCARD_HINT = (
    "; the part after '*.' must be a domain of two labels or more, or one of the special-use "
    "names 'localhost', 'test', 'internal' and 'local'"
)


@pytest.mark.parametrize(
    ("configured", "normal"),
    [
        ("example.com", "example.com"),
        ("Example.COM", "example.com"),
        ("*.Example.com", "*.example.com"),
        ("example.com:8443", "example.com:8443"),
        ("example.com:08443", "example.com:8443"),
        ("*.example.com:8443", "*.example.com:8443"),
        ("[::1]", "[::1]"),
        ("[0:0::1]:8000", "[::1]:8000"),
        ("127.0.0.1", "127.0.0.1"),
        ("localhost", "localhost"),
        ("*.localhost", "*.localhost"),
        ("*.LocalHost:8000", "*.localhost:8000"),
        ("*.test", "*.test"),
        ("*.internal", "*.internal"),
        ("*.local", "*.local"),
        ("*.home.arpa", "*.home.arpa"),
        ("*", "*"),
    ],
)
def test_host_patterns_normalise_each_entry(configured: str, normal: str) -> None:
    """Entries are kept in normal form: lower case, IPv6 compressed, no zeros before a port."""
    patterns = HostPatterns("allowed_hosts", [configured])

    assert repr(patterns) == f"HostPatterns([{normal!r}])"
    assert patterns.allow_any is (normal == ANY_HOST)
    expected_known = set() if "*" in normal else {normal.encode()}
    assert patterns.known == expected_known


@pytest.mark.parametrize(
    ("value", "rule", "hint"),
    [
        ("", HOST_RULE, ""),
        ("bücher.example", "an ASCII host", PUNYCODE_HINT),
        ("https://example.com", "a host without a scheme", LIST_HINT),
        ("https://example.com/app", "a host without a scheme", LIST_HINT),
        ("example.com/", "a host without a path", LIST_HINT),
        ("example.com/app", "a host without a path", LIST_HINT),
        ("*example.com", ONE_LABEL_RULE, ONE_LABEL_HINT),
        ("a.*.com", ONE_LABEL_RULE, ONE_LABEL_HINT),
        ("*.*.example.com", ONE_LABEL_RULE, ONE_LABEL_HINT),
        ("**", ONE_LABEL_RULE, ONE_LABEL_HINT),
        ("::1", "a host with an IPv6 address in brackets", "; write it as in '[::1]'"),
        ("fe80::1", "a host with an IPv6 address in brackets", "; write it as in '[fe80::1]'"),
        (
            "example.com.",
            "a host without a trailing dot",
            "; remove the trailing dot: a request's trailing dot is ignored",
        ),
        ("*.com", HOST_SAFE_WILDCARD, HOST_SAFE_WILDCARD_HINT),
        ("*.10.0.0.1", HOST_SAFE_WILDCARD, HOST_SAFE_WILDCARD_HINT),
        ("*.[::1]", HOST_SAFE_WILDCARD, HOST_SAFE_WILDCARD_HINT),
        ("*.arpa", HOST_SAFE_WILDCARD, HOST_SAFE_WILDCARD_HINT),
        ("*.localdomain", HOST_SAFE_WILDCARD, HOST_SAFE_WILDCARD_HINT),
        ("*.example", HOST_SAFE_WILDCARD, HOST_SAFE_WILDCARD_HINT),
        ("*.", "a host with a valid host name (use punycode for IDNs)", ""),
        ("a..b", "a host with a valid host name (use punycode for IDNs)", ""),
        ("user@example.com", "a host with a valid host name (use punycode for IDNs)", ""),
        ("example.com:", "a host with ':' followed by a port", ""),
        ("example.com:0", "a host with a port from 1 to 65535", ""),
        ("[::1", "a host with a valid IPv6 host", ""),
        ("300.1.1.1", "a host with a valid IPv4 host", ""),
    ],
)
def test_host_patterns_refuse_with_the_rule_and_a_hint(value: str, rule: str, hint: str) -> None:
    """Each malformed entry raises ``ValueError`` naming the item, the rule and a fix."""
    with pytest.raises(ValueError, match=exactly("allowed_hosts[1]", rule, value, hint)):
        HostPatterns("allowed_hosts", ["ok.example", value])


@pytest.mark.parametrize("value", ["example.com", b"example.com", None, 3])
def test_host_patterns_need_a_list_of_str(value: object) -> None:
    """A bare ``str`` (a classic slip) or anything but an iterable of ``str`` is a TypeError."""
    with pytest.raises(TypeError, match=r"\Aallowed_hosts must be a list or tuple of str, got "):
        HostPatterns("allowed_hosts", value)


def test_host_patterns_refuse_an_item_that_is_not_str() -> None:
    """An item of another type is named by its index."""
    with pytest.raises(TypeError, match=exactly("allowed_hosts[0]", "a str", b"a")):
        HostPatterns("allowed_hosts", [b"a"])


def test_host_patterns_refuse_an_empty_list() -> None:
    """No entry would refuse every request: the message says how to allow any host."""
    rule = "a non-empty list of hosts"
    with pytest.raises(
        ValueError, match=exactly("allowed_hosts", rule, [], "; list '*' to allow any host")
    ):
        HostPatterns("allowed_hosts", [])


MATCHING = HostPatterns(
    "allowed_hosts",
    [
        "example.com",
        "*.example.org",
        "only.example:8443",
        "tls.example:443",
        "*.ported.example:81",
        "[::1]",
        "10.0.0.1",
    ],
)


@pytest.mark.parametrize(
    ("host", "port", "scheme", "allowed"),
    [
        ("example.com", None, "http", True),
        ("example.com", 8080, "https", True),
        ("www.example.com", None, "http", False),
        ("a.example.org", None, "http", True),
        ("a.b.example.org", 9000, "ws", True),
        ("example.org", None, "http", False),
        ("evilexample.org", None, "http", False),
        ("example.org.evil", None, "http", False),
        ("only.example", 8443, "http", True),
        ("only.example", None, "https", False),
        ("only.example", 8444, "http", False),
        ("tls.example", None, "https", True),
        ("tls.example", None, "wss", True),
        ("tls.example", None, "http", False),
        ("tls.example", 443, "http", True),
        ("tls.example", None, "gopher", False),
        ("a.ported.example", 81, "http", True),
        ("a.ported.example", None, "http", False),
        ("ported.example", 81, "http", False),
        ("[::1]", 8000, "http", True),
        ("10.0.0.1", None, "http", True),
        ("10.0.0.2", None, "http", False),
    ],
)
def test_host_patterns_allow(host: str, port: int | None, scheme: str, allowed: bool) -> None:
    """Exact hosts allow any port; listed ports allow that one; wildcards whole labels only."""
    assert MATCHING.allows(host, port, scheme) is allowed


@pytest.mark.parametrize(
    ("host", "port", "scheme", "listed"),
    [
        ("example.com", 1234, "http", True),
        ("a.example.org", None, "http", False),
        ("tls.example", None, "https", True),
        ("only.example", 8443, "http", True),
        ("a.ported.example", 81, "http", False),
    ],
)
def test_host_patterns_list_only_entries_without_a_wildcard(
    host: str, port: int | None, scheme: str, listed: bool
) -> None:
    """``lists`` answers for the exact entries only, as the www redirect needs."""
    assert MATCHING.lists(host, port, scheme) is listed


@pytest.mark.parametrize("name", ["localhost", "test", "internal", "local", "home.arpa"])
def test_a_wildcard_over_a_special_use_name_matches_whole_labels_only(name: str) -> None:
    """``*.localhost`` (RFC 6761) and its kin allow the names under them, never the name itself."""
    patterns = HostPatterns("allowed_hosts", [name, f"*.{name}"])

    assert patterns.allows(f"app.{name}", None, "http")
    assert patterns.allows(f"a.b.{name}", 8000, "http")
    assert patterns.allows(name, None, "http")  # the exact entry
    assert not patterns.allows(f"evil{name}", None, "http")
    assert not patterns.allows(f"app.{name}.evil", None, "http")
    assert not HostPatterns("allowed_hosts", [f"*.{name}"]).allows(name, None, "http")


def test_any_host_allows_every_host() -> None:
    """``"*"`` allows any host, even beside other entries."""
    patterns = HostPatterns("allowed_hosts", ["example.com", "*"])

    assert patterns.allows("anything.example", 1, "http")
    assert patterns.known == {b"example.com"}


@given(
    st.lists(LABELS, min_size=1, max_size=3).map(".".join),
    st.lists(LABELS, min_size=2, max_size=3).map(".".join),
)
def test_a_host_wildcard_matches_whole_labels_only(prefix: str, domain: str) -> None:
    """``*.<domain>`` allows ``<labels>.<domain>``, never ``<domain>`` or ``<text><domain>``."""
    if domain[-1].isdigit():
        return  # refused as a wildcard: tested above
    patterns = HostPatterns("allowed_hosts", [f"*.{domain}"])

    assert patterns.allows(f"{prefix}.{domain}", None, "http")
    assert not patterns.allows(domain, None, "http")
    assert not patterns.allows(f"{prefix.replace('.', '')}{domain}", None, "http")


# --- redirect_url --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"raw_path": b"/a/b", "query_string": b"x=1&y=2"}, b"https://h.example/a/b?x=1&y=2"),
        ({"raw_path": b"/a%2Fb", "path": "/a/b"}, b"https://h.example/a%2Fb"),
        ({"path": "/caf\u00e9 a?b#c", "query_string": b""}, b"https://h.example/caf%C3%A9%20a%3Fb%23c"),
        ({"raw_path": b"", "path": "/p"}, b"https://h.example/p"),
        ({"raw_path": b"/a b\r\n\\#\x00\xff"}, b"https://h.example/a%20b%0D%0A%5C%23%00%FF"),
        ({"raw_path": b"/", "query_string": b'q=a b#"<>'}, b"https://h.example/?q=a%20b%23%22%3C%3E"),
        ({"raw_path": b"/", "query_string": b"a/b?c:d@e"}, b"https://h.example/?a/b?c:d@e"),
        ({"raw_path": b"*"}, b"https://h.example/*"),
        ({"raw_path": b".evil.example/x"}, b"https://h.example/.evil.example/x"),
        ({"raw_path": b"@evil.example"}, b"https://h.example/@evil.example"),
        ({"path": ""}, b"https://h.example/"),
        ({}, b"https://h.example/"),
        ({"raw_path": b"//evil.example/"}, b"https://h.example//evil.example/"),
        ({"path": "/caf\udce9 \udcff/\u00e9"}, b"https://h.example/caf%E9%20%FF/%C3%A9"),
        ({"raw_path": None, "path": "/\udc80?#"}, b"https://h.example/%80%3F%23"),
    ],
)  # fmt: skip
def test_redirect_url_keeps_path_and_query_and_encodes_what_a_url_cannot_hold(
    scope: dict[str, Any], expected: bytes
) -> None:
    """``raw_path`` as it came (else ``path`` encoded), always from ``/``, then the query."""
    assert redirect_url("https", "h.example", None, scope) == expected


def test_redirect_url_writes_the_port() -> None:
    """A port follows the host; an IPv6 host keeps its brackets."""
    assert redirect_url("wss", "[::1]", 8443, {"raw_path": b"/ws"}) == b"wss://[::1]:8443/ws"


@given(st.binary(max_size=40), st.binary(max_size=40))
def test_redirect_url_never_leaves_the_host(raw_path: bytes, query: bytes) -> None:
    """Whatever the path and query, the URL starts with the authority and ``/``, visible ASCII."""
    url = redirect_url("https", "h.example", 8443, {"raw_path": raw_path, "query_string": query})

    assert url.startswith(b"https://h.example:8443/")
    assert re.fullmatch(rb"[!-~]+", url)
    assert b"#" not in url
    assert b"\\" not in url


# Any code point, and often the lone surrogates a server decoding with surrogateescape passes on.
ANY_PATH = st.text(
    st.characters(codec=None, exclude_categories=()) | st.integers(0xDC80, 0xDCFF).map(chr),
    max_size=20,
)


@given(ANY_PATH, st.binary(max_size=20))
@example("/caf\udce9", b"")
def test_redirect_url_from_any_path_without_raw_path(path: str, query: bytes) -> None:
    """Without ``raw_path``, any ``path`` gives a URL from the authority and ``/``, no error."""
    url = redirect_url("https", "h.example", None, {"path": path, "query_string": query})

    assert url.startswith(b"https://h.example/")
    assert re.fullmatch(rb"[!-~]+", url)
    assert b"#" not in url
