"""The test kit's RFC 8941 parser (tests/support/structured_fields.py) parses what the RFC says.

The rate-limit tests trust it to tell a valid ``RateLimit`` field from a broken one, so it is
checked here against the RFC's examples, its limits, and a round trip of generated values.
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.structured_fields import (
    Decimal,
    Token,
    parse_dictionary,
    parse_item,
    parse_list,
)


def test_a_list_of_tokens() -> None:
    """RFC 8941 §3.1: ``sugar, tea, rum``."""
    assert parse_list("sugar, tea, rum") == [
        (Token("sugar"), {}),
        (Token("tea"), {}),
        (Token("rum"), {}),
    ]


def test_tokens_and_strings_are_told_apart() -> None:
    """A Token is a ``str`` subclass, so the type is what says which one came."""
    [(token, _), (text, _)] = parse_list('abc, "abc"')

    assert (type(token), type(text)) == (Token, str)
    assert repr(token) == "Token('abc')"


def test_inner_lists_with_parameters() -> None:
    """RFC 8941 §3.1.1: inner lists, their items' parameters and their own."""
    assert parse_list('("foo"; a=1;b=2);lvl=5, ("bar" "baz");lvl=1, ()') == [
        ([("foo", {"a": 1, "b": 2})], {"lvl": 5}),
        ([("bar", {}), ("baz", {})], {"lvl": 1}),
        ([], {}),
    ]


def test_parameters_with_and_without_values() -> None:
    """RFC 8941 §3.1.2: a parameter without a value is ``True``."""
    assert parse_list('abc;a=1;b=2; cde_456, (ghi;jk=4 l);q="9";r=w') == [
        (Token("abc"), {"a": 1, "b": 2, "cde_456": True}),
        ([(Token("ghi"), {"jk": 4}), (Token("l"), {})], {"q": "9", "r": Token("w")}),
    ]


def test_a_dictionary() -> None:
    """RFC 8941 §3.2: values, bare keys (``True``) and parameters."""
    assert parse_dictionary('en="Applepie", da=:w4ZibGV0w6ZydGUK:, b, c;foo=bar') == {
        "en": ("Applepie", {}),
        "da": (base64.b64decode("w4ZibGV0w6ZydGUK"), {}),
        "b": (True, {}),
        "c": (True, {"foo": Token("bar")}),
    }


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42),
        ("-42", -42),
        ("999999999999999", 999_999_999_999_999),
        ("4.5", Decimal("4.5")),
        ("-4.5", Decimal("-4.5")),
        ("123456789012.123", Decimal("123456789012.123")),
        ('"hello \\"world\\" \\\\"', 'hello "world" \\'),
        ("foo123/456:7", Token("foo123/456:7")),
        ("*foo", Token("*foo")),
        (":cHJldGVuZA==:", b"pretend"),
        ("?1", True),
        ("?0", False),
    ],
)  # fmt: skip
def test_bare_items(text: str, value: object) -> None:
    """Each kind of bare item (RFC 8941 §3.3) parses to its Python value and type."""
    parsed, parameters = parse_item(text)

    assert (parsed, type(parsed), parameters) == (value, type(value), {})


@pytest.mark.parametrize(
    "text",
    [
        "1000000000000000",  # 16 digits
        "1234567890123.1",  # 13 integer digits in a decimal
        "1.2345",  # 4 fractional digits
        "1.",
        "1.2.3",
        "-",
        '"unterminated',
        '"bad \\x escape"',
        ":not base64!:",
        ":cHJldGVuZA=",
        ":abc:",  # not a multiple of 4
        "?2",
        "a b",
        "(a b",
        "(a,b)",
        "Key=1",
        "é",
        "a\x00",
    ],
)
def test_invalid_items_are_refused(text: str) -> None:
    """What RFC 8941 refuses is a ``ValueError``, never a value."""
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies with the fault
        parse_item(text)


@pytest.mark.parametrize("text", ["a,", "a,,b", "a;b=?2", "a b", '"a";Q=1', "a, ;b"])
def test_invalid_lists_are_refused(text: str) -> None:
    """Trailing or doubled commas, bad parameters and missing commas fail the whole list."""
    with pytest.raises(ValueError):  # noqa: PT011
        parse_list(text)


@pytest.mark.parametrize("text", ["a=1,", "a=1 b=2", "A=1", "a=(1"])
def test_invalid_dictionaries_are_refused(text: str) -> None:
    """The same for dictionaries: a trailing comma, a missing one, a bad key or value."""
    with pytest.raises(ValueError):  # noqa: PT011
        parse_dictionary(text)


def test_surrounding_spaces_and_tabs_around_commas() -> None:
    """Leading and trailing SP are discarded; OWS (SP or HTAB) may surround commas."""
    assert parse_list('  "a";q=1 ,\t"b";q=2  ') == [("a", {"q": 1}), ("b", {"q": 2})]


def test_an_empty_field_is_an_empty_list() -> None:
    """An empty List field value parses as no members (RFC 8941 §4.2.1)."""
    assert parse_list("") == []


def test_bytes_input_is_decoded_as_ascii() -> None:
    """Header values come as bytes: they parse as their ASCII text."""
    assert parse_list(b'"x";r=1') == [("x", {"r": 1})]


# --- Round trip of generated values --------------------------------------------------------

_keys = st.from_regex(r"[a-z*][a-z0-9_\-.*]{0,8}", fullmatch=True)
_strings = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
_tokens = st.from_regex(r"[A-Za-z*][A-Za-z0-9!#$%&'*+\-.^_`|~:/]{0,8}", fullmatch=True)
_bare = st.one_of(
    st.integers(-999_999_999_999_999, 999_999_999_999_999),
    _strings,
    _tokens.map(Token),
    st.binary(max_size=12),
    st.booleans(),
)


def _serialize(value: object) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Token):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    assert isinstance(value, bytes)
    return ":" + base64.b64encode(value).decode("ascii") + ":"


def _serialize_parameters(parameters: dict[str, object]) -> str:
    return "".join(
        f";{key}" if value is True else f";{key}={_serialize(value)}"
        for key, value in parameters.items()
    )


@given(
    st.lists(
        st.tuples(_bare, st.dictionaries(_keys, _bare, max_size=3)),
        min_size=1,
        max_size=5,
    )
)
def test_serialized_lists_parse_back(members: list[tuple[object, dict[str, object]]]) -> None:
    """Any list of items with parameters, serialised per RFC 8941 §4.1, parses to itself."""
    text = ", ".join(_serialize(value) + _serialize_parameters(p) for value, p in members)

    parsed = parse_list(text)

    assert parsed == members
    assert [type(value) for value, _ in parsed] == [type(value) for value, _ in members]
