"""``Accept-Encoding`` parsing and content-coding negotiation (RFC 9110 §12.5.3).

The grammar, simplified to what a recipient needs::

    Accept-Encoding = #( codings [ weight ] )
    codings         = content-coding / "identity" / "*"
    weight          = OWS ";" OWS "q=" qvalue
    qvalue          = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )

Client input is never trusted: an element that does not follow the grammar (a junk token, a
malformed or out-of-range q-value, a stray parameter) is ignored on its own, never raised on, so
the rest of the field still counts. Nothing here raises for any input bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from asgi_middleware._kit.config import TOKEN_BYTES

__all__ = ["negotiate", "parse_accept_encoding"]

# RFC 9110 §12.4.2 qvalue: at most three decimals, never above 1.
_QVALUE = re.compile(rb"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")
# RFC 9110 §8.4.1.3: recipients SHOULD treat x-gzip as gzip (and x-compress as compress).
_ALIASES = {b"x-gzip": b"gzip", b"x-compress": b"compress"}
_IDENTITY = b"identity"
_ANY = b"*"
_OWS = b" \t"


def parse_accept_encoding(values: Iterable[bytes]) -> dict[bytes, float]:
    """Parse every ``Accept-Encoding`` field value into ``{coding: qvalue}``.

    Codings are lower-cased and ``x-gzip`` is folded into ``gzip``. Repeated header fields are
    one list (RFC 9110 §5.3). A coding listed twice keeps its lowest weight: when a client (or a
    proxy that appended a field) says both ``gzip`` and ``gzip;q=0``, refusing is the safe reading.

    Args:
        values: The raw values of every ``Accept-Encoding`` field of the request, in order.

    Returns:
        The weight of each coding the field names validly; junk elements are left out.
    """
    weights: dict[bytes, float] = {}
    for value in values:
        for element in value.split(b","):
            coding, _, params = element.partition(b";")
            coding = coding.strip(_OWS).lower()
            if not coding:
                continue
            if TOKEN_BYTES.fullmatch(coding) is None:
                continue
            weight = _weight(params)
            if weight is None:
                continue
            coding = _ALIASES.get(coding, coding)
            previous = weights.get(coding)
            if previous is None or weight < previous:
                weights[coding] = weight
    return weights


def _weight(params: bytes) -> float | None:
    """Return the q-value of an element's parameters, 1.0 when absent, ``None`` if malformed."""
    params = params.strip(_OWS)
    if not params:
        return 1.0
    name, equals, qvalue = params.partition(b"=")
    if not equals or name.strip(_OWS).lower() != b"q":
        return None
    qvalue = qvalue.strip(_OWS)
    if _QVALUE.fullmatch(qvalue) is None:
        return None
    return float(qvalue)


def negotiate(values: Sequence[bytes], available: Sequence[bytes]) -> bytes | None:
    """Choose the content coding for a response, or ``None`` for identity.

    The coding with the highest client weight wins; ``available`` (the server's preference order)
    breaks ties. A coding not named takes the weight of ``*`` if present, else it is not
    acceptable; weight 0 means "not acceptable" (RFC 9110 §12.4.2). Identity wins only when the
    client weighs it (explicitly, or through ``*``) strictly above every acceptable coding: an
    unnamed identity is the fallback, not a competitor, so ``gzip;q=0.5`` still means gzip.
    Without any ``Accept-Encoding`` field the response stays identity: the RFC would allow any
    coding, but old clients that omit the field are the very clients that cannot decode one.

    Args:
        values: Raw values of every ``Accept-Encoding`` field of the request; empty if none.
        available: Lower-case codings the server can produce, most preferred first.

    Returns:
        The chosen coding from ``available``, or ``None`` for no coding.
    """
    if not values:
        return None
    weights = parse_accept_encoding(values)
    default = weights.get(_ANY, 0.0)
    best: bytes | None = None
    best_weight = 0.0
    for coding in available:
        weight = weights.get(coding, default)
        if weight > best_weight:
            best, best_weight = coding, weight
    if best is None:
        return None
    # Identity is always acceptable as a last resort; it beats a coding only when the client
    # weighs it (or "*", when identity is not named) strictly higher.
    if weights.get(_IDENTITY, default) > best_weight:
        return None
    return best
