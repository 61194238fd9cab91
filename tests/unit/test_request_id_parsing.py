"""The request-ID parsers and generators: the safe-ID check, traceparent, uuid4_hex, uuid7_hex."""

from __future__ import annotations

import string
import time
import uuid
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asgi_middleware._kit.context import structlog_contextvar
from asgi_middleware._kit.headers import get_header
from asgi_middleware.request_id import uuid4_hex, uuid7_hex
from asgi_middleware.request_id._ids import is_safe_id, is_safe_id_text, trace_id_from_traceparent

SAFE = string.ascii_letters + string.digits + "-_.:;=+/@~"
safe_ids = st.text(alphabet=SAFE, min_size=1, max_size=128)


def hex_string(size: int) -> st.SearchStrategy[str]:
    """Lower-case hex strings of exactly ``size`` digits."""
    return st.text(alphabet="0123456789abcdef", min_size=size, max_size=size)


@given(value=safe_ids)
def test_safe_ids_are_accepted(value: str) -> None:
    """Every 1-128 character string of the safe set passes, as bytes and as text."""
    assert is_safe_id(value.encode("ascii"))
    assert is_safe_id_text(value)


@given(value=st.binary(max_size=200))
def test_accepted_bytes_are_only_safe_characters(value: bytes) -> None:
    """Whatever bytes are accepted are 1-128 bytes of the safe set: nothing else slips through."""
    if is_safe_id(value):
        assert 1 <= len(value) <= 128
        assert set(value.decode("ascii")) <= set(SAFE)


@given(prefix=safe_ids, bad=st.sampled_from(list(" \t\r\n\x00\x1b\x7f\"'\\<>,%")), suffix=safe_ids)
def test_an_unsafe_character_anywhere_is_rejected(prefix: str, bad: str, suffix: str) -> None:
    """Whitespace, control characters, quotes, backslash, ``<>``, comma and ``%`` are rejected."""
    value = (prefix + bad + suffix)[:128]
    if bad in value:
        assert not is_safe_id(value.encode("latin-1"))
        assert not is_safe_id_text(value)


@given(value=st.text(alphabet=SAFE, min_size=129, max_size=400))
def test_over_long_ids_are_rejected(value: str) -> None:
    """More than 128 characters is rejected however safe the characters are."""
    assert not is_safe_id(value.encode("ascii"))
    assert not is_safe_id_text(value)


@given(value=st.text(min_size=1, max_size=128).filter(lambda text: not set(text) <= set(SAFE)))
def test_non_ascii_text_is_rejected(value: str) -> None:
    """Text with any character outside the safe set (non-ASCII included) is rejected."""
    assert not is_safe_id_text(value)


@given(trace=hex_string(32), parent=hex_string(16), flags=hex_string(2))
def test_traceparent_version_00_yields_its_trace_id(trace: str, parent: str, flags: str) -> None:
    """A well-formed version-00 traceparent yields its trace-id, unless an ID is all zeros."""
    value = f"00-{trace}-{parent}-{flags}".encode()
    result = trace_id_from_traceparent(value)
    if set(trace) == {"0"} or set(parent) == {"0"}:
        assert result is None
    else:
        assert result == trace


@given(
    version=hex_string(2).filter(lambda v: v not in {"00", "ff"}),
    trace=hex_string(32).filter(lambda t: set(t) != {"0"}),
    parent=hex_string(16).filter(lambda p: set(p) != {"0"}),
    rest=st.text(alphabet=SAFE, max_size=20),
)
def test_future_versions_are_read_as_far_as_known(
    version: str, trace: str, parent: str, rest: str
) -> None:
    """A later version may carry more fields after a dash; its trace-id is still taken."""
    value = f"{version}-{trace}-{parent}-01-{rest}".encode()
    assert trace_id_from_traceparent(value) == trace


@given(value=st.binary(max_size=80))
def test_traceparent_parser_never_raises(value: bytes) -> None:
    """Arbitrary bytes give a 32-hex trace-id or ``None``, never an exception."""
    result = trace_id_from_traceparent(value)
    assert result is None or (len(result) == 32 and set(result) <= set("0123456789abcdef"))


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", id="version-ff"),
        pytest.param(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", id="00-extra"),
        pytest.param(b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", id="upper-hex"),
        pytest.param(b"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", id="short-trace"),
        pytest.param(b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", id="zero-parent"),
        pytest.param(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", id="no-flags"),
        pytest.param(b"", id="empty"),
    ],
)
def test_invalid_traceparents_are_refused(value: bytes) -> None:
    """Version ff, trailing data on 00, upper case, wrong lengths and zero IDs give ``None``."""
    assert trace_id_from_traceparent(value) is None


def test_uuid4_hex_is_a_version_4_uuid() -> None:
    """uuid4_hex gives 32 lower-case hex digits with UUID version 4 and the RFC variant."""
    values = {uuid4_hex() for _ in range(200)}

    assert len(values) == 200
    for value in values:
        parsed = uuid.UUID(value)
        assert parsed.hex == value
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_uuid7_hex_is_a_version_7_uuid_with_the_current_time() -> None:
    """uuid7_hex gives a version-7 UUID whose first 48 bits are the Unix time in milliseconds."""
    before = time.time_ns() // 1_000_000
    value = uuid7_hex()
    after = time.time_ns() // 1_000_000

    parsed = uuid.UUID(value)
    assert parsed.hex == value
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert before <= int(value[:12], 16) <= after


def test_uuid7_hex_sorts_in_creation_order() -> None:
    """IDs made at increasing times sort in that order, within one millisecond too."""
    base = 1_700_000_000_000_000_000
    times = [base, base + 300, base + 999_000, base + 1_000_000, base + 86_400 * 10**9]
    values = []
    for now in times:
        with mock.patch("asgi_middleware.request_id.generators.time.time_ns", return_value=now):
            values.append(uuid7_hex())

    assert values == sorted(values)
    assert len(set(values)) == len(values)


def test_get_header_matches_any_case_and_skips_other_lengths() -> None:
    """get_header finds a mixed-case name and returns ``None`` when the name is absent."""
    headers = [(b"Host", b"a"), (b"X-Request-ID", b"1"), (b"x-request-id", b"2")]

    assert get_header(headers, b"x-request-id") == b"1"
    assert get_header(headers, b"x-request-ix") is None
    assert get_header((), b"host") is None


def test_structlog_contextvar_is_the_one_bind_contextvars_uses() -> None:
    """Setting the returned variable is what structlog's contextvars API then reports."""
    import structlog  # noqa: PLC0415 - the package under test already imported it

    variable = structlog_contextvar("tests_probe")
    token = variable.set("value")
    try:
        assert structlog.contextvars.get_contextvars()["tests_probe"] == "value"
    finally:
        variable.reset(token)
    assert "tests_probe" not in structlog.contextvars.get_contextvars()
