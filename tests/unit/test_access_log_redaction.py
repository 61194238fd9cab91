"""The access log's field helpers: query and header redaction, escaping, the client field."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asgi_middleware.access_log._redact import (
    DEFAULT_REDACT_HEADERS,
    DEFAULT_REDACT_QUERY_PARAMS,
    MAX_TEXT,
    REDACTED,
    TRUNCATED,
    capped_text,
    client_text,
    query_redactor,
    redact_headers,
    redact_query,
    safe_text,
)

SENSITIVE = frozenset(DEFAULT_REDACT_QUERY_PARAMS)
plain_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
    lambda name: name not in SENSITIVE
)
values = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=12)
spellings = st.sampled_from(["lower", "upper", "percent", "title"])


def spell(name: str, how: str) -> str:
    """Write a parameter name the way a client might."""
    if how == "upper":
        return name.upper()
    if how == "title":
        return name.title()
    if how == "percent":
        return f"%{ord(name[0]):02X}{name[1:]}"
    return name


@given(
    params=st.lists(
        st.tuples(st.one_of(st.sampled_from(sorted(SENSITIVE)), plain_names), values, spellings),
        max_size=6,
    )
)
def test_sensitive_values_never_survive(params: list[tuple[str, str, str]]) -> None:
    """No value of a sensitive parameter, in any spelling, appears in the logged query."""
    query = "&".join(f"{spell(name, how)}={value}" for name, value, how in params)
    redacted = query_redactor(SENSITIVE)(query.encode("ascii"))

    assert redacted == redact_query(query.encode("ascii"), SENSITIVE)
    parts = redacted.split("&") if redacted else []
    assert len(parts) == len(params)
    for part, (name, value, _) in zip(parts, params, strict=True):
        logged_value = part.partition("=")[2]
        assert logged_value == (REDACTED if name in SENSITIVE else value)


@given(query=st.binary(max_size=60))
def test_redaction_never_raises_and_agrees(query: bytes) -> None:
    """Any bytes give printable text, and the fast path agrees with the full parse."""
    fast = query_redactor(SENSITIVE)(query)

    assert fast == redact_query(query, SENSITIVE)
    assert fast.isprintable()


query_pieces = st.sampled_from(
    ["token", "TOKEN", "Api_Key", "page", "x", "=", "&", "%5F", "+", " ", "\t", "\xa0", "\x85"]
)


@given(query=st.lists(query_pieces, max_size=12).map("".join))
def test_fast_path_agrees_on_names_separators_and_blanks(query: str) -> None:
    """Built from names, separators, encodings and blanks, queries get the full parse's result.

    Random bytes rarely spell a sensitive name; these do, next to what can hide one (a percent
    escape, ``+``, a space, a tab, NBSP or NEL that ``str.strip`` removes).
    """
    raw = query.encode("latin-1")
    assert query_redactor(SENSITIVE)(raw) == redact_query(raw, SENSITIVE)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"page=1", "page=1"),
        (b"a=1&Token=x", "a=1&Token=[redacted]"),
        (b"q=a+b", "q=a+b"),
        (b"to%6Ben=x", "to%6Ben=[redacted]"),
        (b"tok+en=x", "tok+en=x"),
        (b" token=x", " token=[redacted]"),
        (b"token", "token"),
        (b"mytoken=x", "mytoken=x"),
        (b"page=1&TOKEN=x", "page=1&TOKEN=[redacted]"),
        (b"a=1&token&b=2", "a=1&token&b=2"),
        (b"\xa0token=x", "\\xa0token=[redacted]"),
        (b"\ttoken=x", "\\ttoken=[redacted]"),
    ],
)
def test_query_redactor_examples(query: bytes, expected: str) -> None:
    """Exact names only, any case, percent-encoded or padded names caught, no substrings."""
    assert query_redactor(SENSITIVE)(query) == expected


def test_query_redactor_without_names_only_escapes() -> None:
    """With no names configured the query is logged as it came, control characters escaped."""
    assert query_redactor(())(b"token=x&a=\x01") == "token=x&a=\\x01"
    assert redact_query(b"token=x", ()) == "token=x"


@given(text=st.text(max_size=40))
def test_safe_text_is_printable_and_keeps_printable_text(text: str) -> None:
    """Escaped text is printable; text that was printable comes back unchanged."""
    escaped = safe_text(text)

    assert escaped.isprintable()
    if text.isprintable():
        assert escaped == text


def test_redact_headers_joins_repeats_and_redacts_every_copy() -> None:
    """Repeated headers join with ", "; a redacted name stays one "[redacted]"."""
    headers = [
        (b"Cookie", b"a=1"),
        (b"cookie", b"b=2"),
        (b"Accept", b"x"),
        (b"accept", b"y"),
        (b"X-Bin", b"\x1b"),
    ]

    assert redact_headers(headers, frozenset({b"cookie"})) == {
        "cookie": REDACTED,
        "accept": "x, y",
        "x-bin": "\\x1b",
    }


def test_every_query_name_has_its_header_counterpart() -> None:
    """The two deny-lists stay in step: ``api_key`` as a parameter is ``api-key`` as a header."""
    headers, params = set(DEFAULT_REDACT_HEADERS), set(DEFAULT_REDACT_QUERY_PARAMS)

    assert {name for name in params if name.replace("_", "-") not in headers} == set()
    assert {name for name in headers if name.replace("-", "_") not in params} == set()


@pytest.mark.parametrize(
    "name",
    ["x-amz-security-token", "api-key", "api_key", "access-token", "private-token"],
)
def test_default_header_list_covers_credentials_sent_as_headers(name: str) -> None:
    """Credential headers in use (AWS, the OpenAPI ``api_key``, GitLab) are redacted by default."""
    assert name in DEFAULT_REDACT_HEADERS


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"a" * MAX_TEXT, "a" * MAX_TEXT),
        (b"a" * (MAX_TEXT + 1), "a" * MAX_TEXT + TRUNCATED),
        (b"\n" + b"b" * MAX_TEXT, "\\n" + "b" * (MAX_TEXT - 1) + TRUNCATED),
    ],
    ids=["at-the-cap", "one-over", "escaped-after-the-cut"],
)
def test_capped_text(raw: bytes, text: str) -> None:
    """Values up to the cap are kept whole; longer ones are cut on the raw bytes and marked."""
    assert capped_text(raw) == text


def test_redact_headers_caps_the_joined_value() -> None:
    """Many repeats of one header cannot grow its logged value past the cap either."""
    joined = ", ".join(["x" * 100] * 50)

    assert redact_headers([(b"accept", b"x" * 100)] * 50, frozenset()) == {
        "accept": joined[:MAX_TEXT] + TRUNCATED
    }


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        (("1.2.3.4", 80), "1.2.3.4:80"),
        (("2001:db8::1", 443), "[2001:db8::1]:443"),
        (("unix\nsock", 1), "unix\\nsock:1"),
        (("203.0.113.7", 0), "203.0.113.7"),
        (("2001:db8::1", 0), "2001:db8::1"),
        (None, None),
        ("1.2.3.4:80", None),
        ((1, 2, 3), None),
    ],
)
def test_client_text(client: object, expected: str | None) -> None:
    """host:port, IPv6 bracketed, escaped; port 0 (unknown) left out; not a pair: ``None``."""
    assert client_text(client) == expected
