"""Which peers and hops are trusted proxies: exact addresses, CIDR networks and ``"*"``.

Configured entries are parsed once. The request path asks :meth:`TrustedProxies.trusts` with the
address as text: exact addresses are one ``frozenset`` lookup of their normal form, and only a
miss with networks configured (or a peer address written in an unusual form) costs an
``ipaddress`` parse.
"""

from __future__ import annotations

import ipaddress
from socket import AF_INET, inet_pton

from asgi_middleware._kit.config import option_error, require_strings

__all__ = ["ANY", "TrustedProxies", "is_ipv4"]

#: The explicit opt-in that trusts every connecting peer (never the hops inside a header).
ANY = "*"
_ENTRY_RULE = "an IP address, a CIDR network such as '10.0.0.0/8', or '*'"
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# RFC 4291 §2.5.5.2: the IPv4-mapped IPv6 addresses, ::ffff:a.b.c.d.
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_MAPPED_PREFIX = 96
_EVERY_IPV4 = ipaddress.IPv4Network("0.0.0.0/0")


def is_ipv4(text: str) -> bool:
    """Whether ``text`` is an IPv4 address in dotted-quad decimal, ``a.b.c.d``.

    The C parser costs a fifth of a regular expression (benchmark row proxy-headers). It is
    strict on Linux and the BSDs (four decimal parts, no leading zeros); where a platform reads
    a leading zero, such an address is in no trusted set's normal form, so it is never taken
    for a trusted hop.
    """
    try:
        inet_pton(AF_INET, text)
    except (OSError, ValueError):  # not an address; a NUL or non-ASCII text (ValueError)
        return False
    return True


def _entry(option: str, value: str) -> str:
    """Validate one ``trusted_proxies`` entry; return it in its normal form.

    An IPv4-mapped address (``::ffff:10.0.0.1``, as a dual-stack server reports an IPv4 peer)
    is the IPv4 address it carries: peers and hops are compared in that form.
    """
    if value == ANY:
        return value
    try:
        if "/" in value:
            return str(ipaddress.ip_network(value))
        return str(_unmapped(ipaddress.ip_address(value)))
    except ValueError:
        pass
    if "/" in value:
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            hint = "; the prefix length is at most 32 for IPv4 and 128 for IPv6"
        else:
            hint = f"; host bits are set, did you mean {str(network)!r}?"
    else:
        hint = (
            "; trust is decided by the connecting peer's address, so list the proxies' IP "
            "addresses (resolve host names yourself, once, at start-up)"
        )
    raise option_error(ValueError, option, _ENTRY_RULE, value, hint)


def _unmapped(address: _Address) -> _Address:
    """An IPv4-mapped IPv6 address (``::ffff:10.0.0.1``) as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _spans(network: _Network) -> list[_Network]:
    """The networks a configured one stands for, with its IPv4-mapped part in IPv4 form.

    Mapped peers and hops are compared as IPv4 (:func:`_unmapped`), so ``::ffff:10.0.0.0/104``
    is ``10.0.0.0/8``. A wider IPv6 network (prefix under 96) also holds other IPv6 space: it is
    kept, with every IPv4 address added when it holds all of ``::ffff:0:0/96`` (``::/0``).
    Networks nest or are disjoint, so it holds all of it or none.
    """
    if not isinstance(network, ipaddress.IPv6Network):
        return [network]
    if network.prefixlen >= _MAPPED_PREFIX and network.subnet_of(_MAPPED):
        first = ipaddress.IPv4Address(int(network.network_address) & 0xFFFFFFFF)
        return [ipaddress.IPv4Network((first, network.prefixlen - _MAPPED_PREFIX))]
    if network.prefixlen < _MAPPED_PREFIX and network.supernet_of(_MAPPED):
        return [network, _EVERY_IPV4]
    return [network]


class TrustedProxies:
    """The ``trusted_proxies`` option, parsed.

    An IPv4 entry also matches its IPv4-mapped IPv6 form (``::ffff:127.0.0.1``), which is how a
    dual-stack socket reports IPv4 peers, and an entry written in that form (an address, or a
    network such as ``::ffff:10.0.0.0/104``) is its IPv4 address or network.

    Attributes:
        everyone: Whether ``"*"`` was listed: every connecting peer is trusted.
        exact: The exact addresses, in their normal form (and the IPv4-mapped form of IPv4).
        networks: Whether any network was listed.
    """

    __slots__ = ("_networks", "_numbers", "everyone", "exact", "networks")

    def __init__(self, option: str, value: object) -> None:
        entries = require_strings(option, value, _entry)
        self.everyone = ANY in entries
        exact: set[str] = set()
        numbers: set[tuple[int, int]] = set()
        networks: list[tuple[int, int, int]] = []
        for entry in entries:
            if entry == ANY:
                continue
            if "/" in entry:
                for network in _spans(ipaddress.ip_network(entry)):
                    first, last = int(network.network_address), int(network.broadcast_address)
                    networks.append((network.version, first, last))
                continue
            address = ipaddress.ip_address(entry)
            exact.add(entry)
            numbers.add((address.version, int(address)))
            if address.version == 4:  # noqa: PLR2004
                exact.add(f"::ffff:{entry}")
        self.exact = frozenset(exact)
        self._numbers = frozenset(numbers)
        self._networks = tuple(networks)
        self.networks = bool(networks)

    def __repr__(self) -> str:
        return f"TrustedProxies(everyone={self.everyone!r}, networks={len(self._networks)})"

    def trusts_peer(self, peer: str) -> bool:
        """Whether the connecting peer, as the server reported it, is a trusted proxy."""
        if self.everyone or peer in self.exact:
            return True
        if not self._networks and is_ipv4(peer):
            return False  # a normal-form IPv4 address missing from ``exact`` cannot match
        try:
            address = _unmapped(ipaddress.ip_address(peer))
        except ValueError:
            return False
        return self._matches(address.version, int(address))

    def trusts_hop(self, address: str) -> bool:
        """Whether a hop's address (normal form, as the parsers return it) is a trusted proxy.

        ``"*"`` plays no part here: it trusts the connecting peer, not what a header says.
        """
        if address in self.exact:
            return True
        if not self._networks:
            return False
        if ":" not in address:  # IPv4, as is_ipv4() accepted it
            return self._matches(4, int.from_bytes(inet_pton(AF_INET, address), "big"))
        parsed = _unmapped(ipaddress.IPv6Address(address))
        return self._matches(parsed.version, int(parsed))

    def _matches(self, version: int, number: int) -> bool:
        if (version, number) in self._numbers:
            return True
        return any(v == version and first <= number <= last for v, first, last in self._networks)
