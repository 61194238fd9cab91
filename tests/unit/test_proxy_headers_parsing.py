"""The proxy-header parsers: RFC 7239 ``Forwarded``, X-Forwarded-* lists, hops and prefixes."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from asgi_middleware.proxy_headers._forwarded import (
    MAX_HOPS,
    parse_forwarded,
    parse_node,
    parse_prefix,
    pick,
    split_right,
)
from asgi_middleware.proxy_headers._trust import TrustedProxies
from asgi_middleware.proxy_headers.middleware import _hop

IPV4 = st.ip_addresses(v=4).map(str)
IPV6 = st.ip_addresses(v=6).map(ipaddress.IPv6Address)
PORTS = st.none() | st.integers(min_value=0, max_value=65535)
BLANKS = st.sampled_from(["", " ", "\t", "  "])


@st.composite
def nodes(draw: st.DrawFn) -> tuple[str, tuple[str, int]]:
    """A hop as a proxy writes it in for= (quoted where needed) and what it parses to."""
    port = draw(PORTS)
    if draw(st.booleans()):
        address = draw(IPV4)
        text = address if port is None else f"{address}:{port}"
    else:
        v6 = draw(IPV6)
        mapped = v6.ipv4_mapped
        address = f"::ffff:{mapped}" if mapped is not None else v6.compressed
        text = f"[{v6.exploded if draw(st.booleans()) else v6.compressed}]"
        text += "" if port is None else f":{port}"
    return text, (address, port or 0)


def quote(value: str, *, force: bool) -> str:
    """``value`` as an RFC 7239 value: a token where it can be, else a quoted-string."""
    if not force and all(c.isalnum() or c in "!#$%&'*+-.^_`|~" for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def elements(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    """A Forwarded element with random parameters, name case and quoting, and its meaning."""
    parameters: dict[str, str] = {}
    if draw(st.booleans()):
        parameters["for"] = draw(nodes())[0]
    if draw(st.booleans()):
        parameters["by"] = draw(st.sampled_from(["unknown", "_proxy1", "[2001:db8::7]"]))
    if draw(st.booleans()):
        parameters["proto"] = draw(st.sampled_from(["http", "https"]))
    if draw(st.booleans()):
        parameters["host"] = draw(st.sampled_from(["a.example", "a.example:8443", 'we"ird\\']))
    if not parameters:
        parameters["for"] = "unknown"
    order = draw(st.permutations(list(parameters)))
    pairs = []
    for name in order:
        spelled = "".join(c.upper() if draw(st.booleans()) else c for c in name)
        pairs.append(f"{spelled}={quote(parameters[name], force=draw(st.booleans()))}")
    separator = draw(BLANKS) + ";" + draw(BLANKS)
    return separator.join(pairs), parameters


@given(st.text())
@example('for="\\')
@example("for=a;;;proto=b,,,")
def test_forwarded_parser_never_raises(value: str) -> None:
    """Any text gives a list of elements or None, never an exception."""
    result = parse_forwarded(value)
    assert result is None or all(isinstance(element, dict) for element in result)


@given(st.lists(elements(), min_size=1, max_size=8), BLANKS, BLANKS)
def test_forwarded_round_trip(
    items: list[tuple[str, dict[str, str]]], before: str, after: str
) -> None:
    """Elements written with any case, quoting and blanks parse back to exactly themselves."""
    value = before + (after + "," + before).join(text for text, _ in items) + after
    assert parse_forwarded(value) == [parameters for _, parameters in items]


@given(nodes())
def test_node_round_trip(node: tuple[str, tuple[str, int]]) -> None:
    """A hop written as proxies write it parses to its address in normal form and its port."""
    text, expected = node
    assert parse_node(text) == expected


@given(st.text())
def test_node_parser_never_raises(text: str) -> None:
    """Any text gives an address and a port, or None."""
    result = parse_node(text)
    assert result is None or isinstance(result[1], int)


@given(st.lists(nodes(), min_size=1, max_size=MAX_HOPS), st.lists(BLANKS, min_size=2, max_size=2))
def test_x_forwarded_for_round_trip(
    hops: list[tuple[str, tuple[str, int]]], blanks: list[str]
) -> None:
    """An X-Forwarded-For list splits into its hops, right-most first, all of them."""
    value = ("," + blanks[0]).join(text for text, _ in hops) + blanks[1]
    elements, complete = split_right(value.encode("latin-1"))
    assert elements == [text for text, _ in reversed(hops)]
    assert complete
    assert [parse_node(element) for element in elements] == [n for _, n in reversed(hops)]


@given(st.binary())
def test_split_right_is_bounded(value: bytes) -> None:
    """Any bytes split into at most MAX_HOPS stripped, non-empty elements."""
    elements, complete = split_right(value)
    assert len(elements) <= MAX_HOPS
    assert all(element and element == element.strip(" \t") for element in elements)
    assert complete or value.count(b",") >= MAX_HOPS


POOL = ["10.0.0.1", "10.0.0.2", "10.1.0.9", "203.0.113.9", "198.51.100.4", "unknown", "2001:db8::1"]
TRUST = TrustedProxies("trusted_proxies", ["10.0.0.0/16", "2001:db8::1", "*"])


@given(st.lists(st.sampled_from(POOL), max_size=12))
def test_chosen_client_is_never_a_trusted_hop_unless_all_are(hops: list[str]) -> None:
    """The walk stops at the right-most untrusted hop; only an all-trusted list gives one."""
    right_to_left = list(reversed(hops))
    index = _hop(right_to_left, TRUST, complete=True)
    assert index is not None
    if not hops:
        assert index == 0
        return
    trusted = [(n := parse_node(h)) is not None and TRUST.trusts_hop(n[0]) for h in right_to_left]
    assert all(trusted[:index])
    if all(trusted):
        assert index == len(hops) - 1
    else:
        assert not trusted[index]


@pytest.mark.parametrize(
    ("value", "index", "expected"),
    [
        (None, 0, None),
        (b"", 0, None),
        (b"https", 3, "https"),
        (b"http, https", 0, "https"),
        (b"http, https", 1, "http"),
        (b"http, https", 2, None),
    ],
)
def test_pick(value: bytes | None, index: int, expected: str | None) -> None:
    """A list header's value for the hop ``index`` from the right; one value fits every hop."""
    assert pick(value, index) == expected


@given(IPV4, st.integers(min_value=0, max_value=32), st.ip_addresses(v=4), st.booleans())
def test_a_mapped_network_is_its_ipv4_network(
    base: str, prefix: int, address: ipaddress.IPv4Address, dotted: bool
) -> None:
    """``::ffff:<net>/<96+p>`` trusts exactly what ``<net>/p`` trusts, in either spelling."""
    network = ipaddress.IPv4Network(f"{base}/{prefix}", strict=False)
    mapped = ipaddress.IPv6Network((int(network.network_address) | 0xFFFF << 32, prefix + 96))
    as_ipv4 = TrustedProxies("trusted_proxies", [str(network)])
    as_mapped = TrustedProxies("trusted_proxies", [str(mapped)])
    ipv6 = ipaddress.IPv6Address(int(address) | 0xFFFF << 32)
    peer = f"::ffff:{address}" if dotted else ipv6.compressed
    expected = address in network
    assert as_ipv4.trusts_peer(str(address)) is expected
    assert as_mapped.trusts_peer(str(address)) is expected
    assert as_ipv4.trusts_peer(peer) is expected
    assert as_mapped.trusts_peer(peer) is expected
    node = parse_node(peer)
    assert node is not None
    assert as_mapped.trusts_hop(node[0]) is expected


UNSAFE_DECODED = frozenset(" ?#\\")


# Prefix segments of plain characters and percent-escapes: every ASCII byte, and a few UTF-8
# sequences (a letter, a no-break space, a line separator).
PIECES = (
    st.sampled_from(list("az09-_~."))
    | st.integers(0, 127).map("%{:02X}".format)
    | st.sampled_from(["%C3%A9", "%C2%A0", "%E2%80%A8", "?", "#", " ", "\\"])
)
PREFIXES = st.lists(st.lists(PIECES, min_size=1, max_size=4).map("".join), min_size=1, max_size=3)


@given(PREFIXES.map(lambda segments: "/" + "/".join(segments)))
@example("/a%20b")
@example("/a%3Fb")
@example("/a%23b")
@example("/a%5Cb")
@example("/a%C2%A0b")
def test_a_prefix_is_safe_before_and_after_decoding(text: str) -> None:
    r"""An accepted prefix holds no ``?``, ``#``, ``\``, blank or control, encoded or not."""
    result = parse_prefix(text)
    if result is None:
        return
    decoded, raw = result
    for form in (decoded, raw.decode("ascii")):
        assert form.isprintable()
        assert not UNSAFE_DECODED.intersection(form)
        assert form == "" or (form.startswith("/") and "//" not in form)
