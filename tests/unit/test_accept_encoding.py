"""Accept-Encoding parsing and negotiation (RFC 9110 §12.5.3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asgi_middleware.compression._accept_encoding import negotiate, parse_accept_encoding

SERVER = (b"zstd", b"br", b"gzip")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([b"gzip"], {b"gzip": 1.0}),
        ([b"GZip, BR;Q=0.5"], {b"gzip": 1.0, b"br": 0.5}),
        ([b"x-gzip"], {b"gzip": 1.0}),
        ([b"gzip;q=0"], {b"gzip": 0.0}),
        ([b"gzip ; q=0.123"], {b"gzip": 0.123}),
        ([b"gzip;q=1.000, br;q=0."], {b"gzip": 1.0, b"br": 0.0}),
        ([b"*;q=0.2, identity;q=0"], {b"*": 0.2, b"identity": 0.0}),
        ([b"gzip", b"br"], {b"gzip": 1.0, b"br": 1.0}),
        ([b"gzip, gzip;q=0"], {b"gzip": 0.0}),
        ([b"gzip;q=0.3, gzip"], {b"gzip": 0.3}),
        ([b",, ,gzip,"], {b"gzip": 1.0}),
        ([b""], {}),
    ],
)
def test_parse_valid(values: list[bytes], expected: dict[bytes, float]) -> None:
    """Valid elements parse to lower-case codings and q-values; a repeat keeps the lowest."""
    assert parse_accept_encoding(values) == expected


@pytest.mark.parametrize(
    "value",
    [
        b"gzip;q=1.5",
        b"gzip;q=2",
        b"gzip;q=0.1234",
        b"gzip;q=-1",
        b"gzip;q=",
        b"gzip;q",
        b"gzip;level=1",
        b"gz\xffip",
        b"g zip",
        b"gzip;q=0.5;q=0.7",
        b'"gzip"',
    ],
)
def test_parse_ignores_junk_elements(value: bytes) -> None:
    """A malformed element is ignored on its own while valid neighbours still count."""
    assert parse_accept_encoding([value + b", br"]) == {b"br": 1.0}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], None),
        ([b""], None),
        ([b"gzip"], b"gzip"),
        ([b"gzip, br, zstd"], b"zstd"),
        ([b"gzip, deflate, br, zstd"], b"zstd"),
        ([b"gzip;q=1, br;q=0.9, zstd;q=0.8"], b"gzip"),
        ([b"br;q=0.5, gzip;q=0.5"], b"br"),
        ([b"zstd;q=0, br;q=0, gzip;q=0"], None),
        ([b"*"], b"zstd"),
        ([b"*;q=0.5, zstd;q=0"], b"br"),
        ([b"*;q=0"], None),
        ([b"identity"], None),
        ([b"gzip;q=0.5"], b"gzip"),
        ([b"gzip;q=0.5, identity"], None),
        ([b"gzip, identity"], b"gzip"),
        ([b"gzip;q=0.5, *;q=0.9"], b"zstd"),
        ([b"gzip;q=0.4, identity;q=0"], b"gzip"),
        ([b"X-GZIP"], b"gzip"),
        ([b"deflate, compress"], None),
        ([b"br", b"zstd;q=0.1"], b"br"),
        ([b"gzip;q=abc"], None),
    ],
)
def test_negotiate(values: list[bytes], expected: bytes | None) -> None:
    """The highest client weight wins, server order breaks ties, q=0 and identity are honoured."""
    assert negotiate(values, SERVER) == expected


def test_negotiate_uses_only_available_codings() -> None:
    """A coding the server cannot produce is never chosen, whatever its weight."""
    assert negotiate([b"zstd, br;q=0.9, gzip;q=0.1"], (b"gzip",)) == b"gzip"


_TOKEN = st.sampled_from(["gzip", "GZIP", "x-gzip", "br", "zstd", "identity", "*", "deflate"])
_QVALUE = st.one_of(
    st.just(""),
    st.builds(lambda q: f";q={q}", st.sampled_from(["0", "1", "0.5", "0.25", "1.000", "0.001"])),
)


@given(st.lists(st.binary(max_size=64), max_size=4))
def test_parse_never_raises(values: list[bytes]) -> None:
    """Arbitrary header bytes never raise; every weight is a q-value between 0 and 1."""
    weights = parse_accept_encoding(values)
    assert all(0.0 <= weight <= 1.0 for weight in weights.values())
    assert all(coding == coding.lower() for coding in weights)


@given(st.lists(st.binary(max_size=64), max_size=4))
def test_negotiate_never_raises(values: list[bytes]) -> None:
    """Arbitrary header bytes negotiate to an available coding or to identity, never an error."""
    assert negotiate(values, SERVER) in {*SERVER, None}


@given(st.lists(st.tuples(_TOKEN, _QVALUE), min_size=1, max_size=6))
def test_negotiated_coding_has_the_top_weight(elements: list[tuple[str, str]]) -> None:
    """The chosen coding's weight is positive and no other available coding weighs more."""
    header = ", ".join(token + q for token, q in elements).encode()
    weights = parse_accept_encoding([header])
    chosen = negotiate([header], SERVER)
    star = weights.get(b"*", 0.0)
    if chosen is not None:
        best = weights.get(chosen, star)
        assert best > 0
        assert all(weights.get(other, star) <= best for other in SERVER)
        assert weights.get(b"identity", star) <= best
    else:
        assert all(weights.get(c, star) <= weights.get(b"identity", star) for c in SERVER)
