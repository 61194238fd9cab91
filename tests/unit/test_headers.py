"""Unit and property tests for the raw ASGI header helpers in ``asgi_middleware._kit.headers``."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asgi_middleware._kit.headers import (
    REPEATED,
    HeaderNames,
    Repeated,
    add_headers,
    get_all,
    get_first,
    get_header,
    get_single,
    group_by_name,
    merge_tokens,
    replace_values,
    set_header,
    split_list,
    with_headers,
)

#: What the helpers accept: a list or tuple of 2-item lists or tuples.
HeaderInput = Sequence[Sequence[bytes]]

# RFC 9110 §5.6.2 tchar.
TCHAR = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# RFC 9110 §5.6.3: optional whitespace is SP and HTAB, nothing else.
OWS = b" \t"

REAL_NAMES = (
    b"vary",
    b"set-cookie",
    b"content-type",
    b"content-length",
    b"content-encoding",
    b"access-control-expose-headers",
    b"cache-control",
    b"x-request-id",
)
REAL_TOKENS = (b"Origin", b"origin", b"Accept-Encoding", b"accept-encoding", b"Cookie", b"*")


# --------------------------------------------------------------------------------------------
# Oracles, written independently of the module under test.


def ascii_lower(name: bytes) -> bytes:
    """Lower-case ASCII letters only, as HTTP field names are compared (RFC 9110 §5.1)."""
    return bytes(byte + 32 if 65 <= byte <= 90 else byte for byte in name)


def naive_all(headers: HeaderInput, name: bytes) -> list[bytes]:
    """Every value whose name equals ``name`` ignoring ASCII case, in order."""
    return [pair[1] for pair in headers if ascii_lower(pair[0]) == name]


def naive_split(value: bytes) -> list[bytes]:
    """Comma-separated elements without OWS, empty elements dropped (RFC 9110 §5.6.1)."""
    elements = (part.strip(OWS) for part in value.split(b","))
    return [element for element in elements if element]


def dedupe(tokens: Sequence[bytes]) -> list[bytes]:
    """Drop later case-insensitive duplicates, keeping the first spelling."""
    seen: set[bytes] = set()
    result: list[bytes] = []
    for token in tokens:
        if ascii_lower(token) not in seen:
            seen.add(ascii_lower(token))
            result.append(token)
    return result


def as_tuples(headers: HeaderInput) -> list[tuple[bytes, bytes]]:
    """The pairs as a list of ``(name, value)`` tuples, as the helpers return them."""
    return [(pair[0], pair[1]) for pair in headers]


# --------------------------------------------------------------------------------------------
# Strategies.


def apply_case(name: bytes, mask: int) -> bytes:
    """``name`` with the ASCII letters whose bit is set in ``mask`` switched to the other case."""
    return bytes(
        byte ^ 0x20 if bytes([byte]).isalpha() and mask >> index & 1 else byte
        for index, byte in enumerate(name)
    )


def random_case(choices: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    """One of ``choices`` with each ASCII letter independently upper- or lower-cased."""
    return st.builds(apply_case, st.sampled_from(choices), st.integers(0, 2**40 - 1))


def shaped_pair(name: bytes, value: bytes, as_list: bool) -> Sequence[bytes]:
    """The pair as a tuple or as a 2-item list."""
    return [name, value] if as_list else (name, value)


def shaped_headers(pairs: list[Sequence[bytes]], as_tuple: bool) -> HeaderInput:
    """The header list as a list or as a tuple."""
    return tuple(pairs) if as_tuple else pairs


token_bytes = st.text(alphabet=TCHAR, min_size=1, max_size=12).map(lambda text: text.encode())
names = st.one_of(random_case(REAL_NAMES), token_bytes)
lower_names = st.one_of(st.sampled_from(REAL_NAMES), token_bytes.map(ascii_lower))

# Arbitrary bytes without CR or LF, and comma-separated lists with OWS and empty elements.
raw_values = st.binary(max_size=40).map(lambda value: value.replace(b"\r", b"").replace(b"\n", b""))
list_elements = st.one_of(
    random_case(REAL_TOKENS),
    token_bytes,
    st.sampled_from([b"", b" ", b"\t", b" origin ", b"\tCookie"]),
)
list_values = st.builds(
    bytes.join, st.sampled_from([b",", b", ", b" ,\t"]), st.lists(list_elements, max_size=5)
)
values = st.one_of(raw_values, list_values)
new_tokens = st.lists(st.one_of(random_case(REAL_TOKENS), token_bytes))

pairs = st.builds(shaped_pair, names, values, st.booleans())
header_lists = st.builds(shaped_headers, st.lists(pairs, max_size=8), st.booleans())


@st.composite
def headers_and_name(draw: st.DrawFn) -> tuple[HeaderInput, bytes]:
    """A header list and a lower-case name, often one that occurs in the list."""
    headers = draw(header_lists)
    present = [ascii_lower(pair[0]) for pair in headers]
    if present:
        return headers, draw(st.one_of(lower_names, st.sampled_from(present)))
    return headers, draw(lower_names)


@st.composite
def headers_with_cookies(draw: st.DrawFn) -> HeaderInput:
    """A header list holding at least two ``Set-Cookie`` fields, some with commas inside."""
    headers = list(draw(header_lists))
    cookie_values = st.one_of(
        raw_values, st.just(b"id=a3fWa; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Secure")
    )
    for _ in range(draw(st.integers(min_value=2, max_value=4))):
        cookie = (draw(random_case([b"set-cookie"])), draw(cookie_values))
        headers.insert(draw(st.integers(min_value=0, max_value=len(headers))), cookie)
    return shaped_headers(headers, draw(st.booleans()))


# --------------------------------------------------------------------------------------------
# Every helper, called the same way, for the properties they all share.

HelperCall = Callable[[HeaderInput, bytes, bytes], object]

ALL_HELPERS: list[HelperCall] = [
    lambda headers, name, _value: get_header(headers, name),
    lambda headers, name, _value: get_all(headers, name),
    lambda headers, name, _value: get_single(headers, name),
    lambda headers, name, _value: get_first(headers, HeaderNames(name)),
    lambda headers, name, _value: HeaderNames(*dict.fromkeys([name, b"vary"])).scan(headers),
    set_header,
    lambda headers, name, value: merge_tokens(headers, name, naive_split(value)),
    lambda headers, name, value: with_headers(headers, [(name, value)], HeaderNames(name)),
    lambda headers, name, value: with_headers(
        headers, [(name, value)], HeaderNames(name, lists=[name])
    ),
    lambda headers, name, value: replace_values(headers, name, lambda old: old + value),
    lambda headers, name, value: add_headers(headers, [(name, value)]),
]
ALL_IDS = [
    "get_header",
    "get_all",
    "get_single",
    "get_first",
    "scan",
    "set_header",
    "merge_tokens",
    "with_headers",
    "with_headers-list",
    "replace_values",
    "add_headers",
]
#: The helpers that build a header list.
LIST_HELPERS = ALL_HELPERS[5:]
LIST_IDS = ALL_IDS[5:]
#: Those that build it of tuples only; the others pass the pairs they keep on as they came.
TUPLE_HELPERS = ALL_HELPERS[5:7]
TUPLE_IDS = ALL_IDS[5:7]

#: Shared properties run once per helper, so fewer examples each; the per-helper ones use defaults.
PER_HELPER = settings(max_examples=25)


# --------------------------------------------------------------------------------------------
# Properties shared by every helper.


@pytest.mark.parametrize("call", ALL_HELPERS, ids=ALL_IDS)
@PER_HELPER
@given(case=headers_and_name(), value=values)
def test_helpers_never_mutate_their_input(
    call: HelperCall, case: tuple[HeaderInput, bytes], value: bytes
) -> None:
    """No helper changes the header list it was given, nor any pair inside it."""
    headers, name = case
    before = copy.deepcopy(headers)
    call(headers, name, value)
    assert headers == before
    assert type(headers) is type(before)
    assert [type(pair) for pair in headers] == [type(pair) for pair in before]


@pytest.mark.parametrize("call", TUPLE_HELPERS, ids=TUPLE_IDS)
@PER_HELPER
@given(case=headers_and_name(), value=values)
def test_changing_helpers_return_a_new_list_of_tuples(
    call: HelperCall, case: tuple[HeaderInput, bytes], value: bytes
) -> None:
    """The helpers that change headers return a fresh list of tuples, never the input object."""
    headers, name = case
    result = call(headers, name, value)
    assert isinstance(result, list)
    assert result is not headers
    assert all(type(pair) is tuple and len(pair) == 2 for pair in result)


@pytest.mark.parametrize("call", LIST_HELPERS, ids=LIST_IDS)
@PER_HELPER
@given(case=headers_and_name(), value=values)
def test_writing_helpers_return_a_new_list_of_pairs(
    call: HelperCall, case: tuple[HeaderInput, bytes], value: bytes
) -> None:
    """Every helper that writes headers returns a new list of 2-item pairs, never its input."""
    headers, name = case
    result = call(headers, name, value)
    assert isinstance(result, list)
    assert result is not headers
    assert all(isinstance(pair, (tuple, list)) and len(pair) == 2 for pair in result)


@pytest.mark.parametrize("call", TUPLE_HELPERS, ids=TUPLE_IDS)
@PER_HELPER
@given(headers=headers_with_cookies(), name=lower_names, value=raw_values)
def test_set_cookie_fields_are_never_joined(
    call: HelperCall, headers: HeaderInput, name: bytes, value: bytes
) -> None:
    """Helpers working on another header keep every ``Set-Cookie`` field as it was, in order."""
    if name == b"set-cookie":
        name = b"vary"
    result = call(headers, name, value)
    assert isinstance(result, list)
    cookies = [pair for pair in headers if ascii_lower(pair[0]) == b"set-cookie"]
    assert [pair for pair in result if ascii_lower(pair[0]) == b"set-cookie"] == as_tuples(cookies)


@pytest.mark.parametrize("call", LIST_HELPERS[2:], ids=LIST_IDS[2:])
@PER_HELPER
@given(headers=headers_with_cookies(), name=lower_names, value=raw_values)
def test_set_cookie_fields_pass_through_as_they_came(
    call: HelperCall, headers: HeaderInput, name: bytes, value: bytes
) -> None:
    """The pass-through helpers keep every ``Set-Cookie`` field, unjoined, in order."""
    if name == b"set-cookie":
        name = b"vary"
    result = call(headers, name, value)
    assert isinstance(result, list)
    cookies = [pair for pair in headers if ascii_lower(pair[0]) == b"set-cookie"]
    kept = [pair for pair in result if ascii_lower(pair[0]) == b"set-cookie"]
    assert as_tuples(kept) == as_tuples(cookies)


# --------------------------------------------------------------------------------------------
# get_header and get_all.


@given(case=headers_and_name())
def test_get_header_returns_the_first_matching_value(case: tuple[HeaderInput, bytes]) -> None:
    """``get_header`` returns the first value of a case-insensitive scan, or None."""
    headers, name = case
    expected = naive_all(headers, name)
    assert get_header(headers, name) == (expected[0] if expected else None)


@given(case=headers_and_name())
def test_get_all_returns_every_matching_value_in_order(case: tuple[HeaderInput, bytes]) -> None:
    """``get_all`` returns every value of a case-insensitive scan, in order."""
    headers, name = case
    assert get_all(headers, name) == naive_all(headers, name)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param([(b"Content-Type", b"text/html")], b"text/html", id="mixed-case-name"),
        pytest.param([(b"CONTENT-TYPE", b"a"), (b"content-type", b"b")], b"a", id="first-wins"),
        pytest.param([[b"content-type", b"text/plain"]], b"text/plain", id="list-pair"),
        pytest.param(((b"content-type", b""),), b"", id="empty-value-is-not-missing"),
        pytest.param([(b"content-length", b"3")], None, id="absent"),
        pytest.param([], None, id="no-headers"),
    ],
)
def test_get_header_examples(headers: HeaderInput, expected: bytes | None) -> None:
    """``get_header`` finds a name in any case and tells an empty value from a missing one."""
    assert get_header(headers, b"content-type") == expected


@pytest.mark.parametrize("name", [b"set-cookie", b"vary"], ids=["set-cookie", "vary"])
def test_get_all_returns_an_empty_list_when_absent(name: bytes) -> None:
    """``get_all`` returns ``[]`` for a name that does not occur, ``Set-Cookie`` included."""
    assert get_all([(b"content-type", b"text/plain")], name) == []


def test_get_all_keeps_repeated_fields_separate() -> None:
    """``get_all`` returns repeated fields as separate values, never joined."""
    headers = [(b"Set-Cookie", b"a=1"), (b"vary", b"x"), (b"set-cookie", b"b=2, c")]
    assert get_all(headers, b"set-cookie") == [b"a=1", b"b=2, c"]


# --------------------------------------------------------------------------------------------
# get_single.


@given(case=headers_and_name())
def test_get_single_returns_the_value_none_or_repeated(case: tuple[HeaderInput, bytes]) -> None:
    """``get_single`` returns the one value, ``None`` when absent, ``REPEATED`` for two or more."""
    headers, name = case
    expected = naive_all(headers, name)
    result = get_single(headers, name)
    if len(expected) > 1:
        assert result is REPEATED
    else:
        assert result == (expected[0] if expected else None)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param([(b"Authorization", b"Bearer a")], b"Bearer a", id="mixed-case-name"),
        pytest.param([[b"authorization", b""]], b"", id="empty-value-is-not-missing"),
        pytest.param([(b"authorizatio", b"x")], None, id="shorter-name"),
        pytest.param([], None, id="no-headers"),
        pytest.param(
            [(b"authorization", b"a"), (b"AUTHORIZATION", b"a")], REPEATED, id="repeated-any-case"
        ),
        pytest.param(
            [(b"authorization", b""), (b"authorization", b"")], REPEATED, id="repeated-empty"
        ),
    ],
)
def test_get_single_examples(headers: HeaderInput, expected: bytes | Repeated | None) -> None:
    """``get_single`` tells an absent field, an empty one and a repeated one apart."""
    assert get_single(headers, b"authorization") == expected


# --------------------------------------------------------------------------------------------
# group_by_name.


@given(headers=header_lists)
def test_group_by_name_holds_every_value_under_its_lower_case_name(headers: HeaderInput) -> None:
    """Each name once, lower case, in order of its first field, with every value in order."""
    grouped = group_by_name(headers)

    assert list(grouped) == list(dict.fromkeys(ascii_lower(pair[0]) for pair in headers))
    assert {name: naive_all(headers, name) for name in grouped} == grouped


@given(headers=headers_with_cookies())
def test_group_by_name_never_mutates_or_joins(headers: HeaderInput) -> None:
    """The input stays as it was, and each ``Set-Cookie`` field stays a value of its own."""
    before = copy.deepcopy(headers)

    grouped = group_by_name(headers)

    assert headers == before
    assert [type(pair) for pair in headers] == [type(pair) for pair in before]
    assert grouped[b"set-cookie"] == naive_all(headers, b"set-cookie")


def test_group_by_name_copies_other_bytes_like_types_to_bytes() -> None:
    """A ``bytearray`` name or value comes back as ``bytes``, so the name is hashable."""
    # Outside the ASGI types, which say bytes: the access log must not fail on such a server.
    headers = cast("HeaderInput", [(bytearray(b"X-Tag"), bytearray(b"a")), (b"x-tag", b"b")])

    grouped = group_by_name(headers)

    assert grouped == {b"x-tag": [b"a", b"b"]}
    assert all(type(value) is bytes for value in grouped[b"x-tag"])


# --------------------------------------------------------------------------------------------
# HeaderNames, its scan, and get_first.


@st.composite
def headers_and_names(draw: st.DrawFn) -> tuple[HeaderInput, list[bytes], list[bytes]]:
    """A header list, 1-4 distinct lower-case names (often present) and the list names among them.

    The names mix short ones (looked up by their every spelling) and long ones (screened by
    length), so both ways of looking them up are exercised.
    """
    headers = draw(header_lists)
    present = [ascii_lower(pair[0]) for pair in headers]
    choices = st.one_of(lower_names, st.sampled_from(present)) if present else lower_names
    wanted = draw(st.lists(choices, min_size=1, max_size=4, unique=True))
    listed = draw(st.lists(st.sampled_from(wanted), unique=True))
    return headers, wanted, [name for name in listed if name != b"set-cookie"]


def mixed_case(data: st.DataObject, names: list[bytes]) -> list[bytes]:
    """``names`` with their letters in a random case, as a caller may pass them."""
    return [apply_case(name, data.draw(st.integers(0, 2**40 - 1))) for name in names]


@given(case=headers_and_names(), data=st.data())
def test_scan_matches_a_naive_scan_per_name(
    case: tuple[HeaderInput, list[bytes], list[bytes]], data: st.DataObject
) -> None:
    """``scan`` gives each name's first value, or every value joined with "," for a list name."""
    headers, wanted, listed = case
    names = HeaderNames(*mixed_case(data, wanted), lists=mixed_case(data, listed))
    expected: list[bytes | None] = []
    for name in wanted:
        found = naive_all(headers, name)
        if not found:
            expected.append(None)
        elif name in listed:
            expected.append(b",".join(found))
        else:
            expected.append(found[0])
    assert names.scan(headers) == tuple(expected)


@given(case=headers_and_names())
def test_get_first_returns_the_first_field_of_any_name(
    case: tuple[HeaderInput, list[bytes], list[bytes]],
) -> None:
    """``get_first`` returns the value of the first field named any of the names, or None."""
    headers, wanted, _ = case
    found = [pair[1] for pair in headers if ascii_lower(pair[0]) in wanted]
    assert get_first(headers, HeaderNames(*wanted)) == (found[0] if found else None)


@given(case=headers_and_name())
def test_get_first_agrees_with_get_header(case: tuple[HeaderInput, bytes]) -> None:
    """For one name, the prepared ``get_first`` and the plain ``get_header`` agree."""
    headers, name = case
    assert get_first(headers, HeaderNames(name)) == get_header(headers, name)


@given(name=names, other=names)
def test_header_names_slot_finds_a_name_in_any_case(name: bytes, other: bytes) -> None:
    """``slot`` finds each name in any case, at its position, and nothing else."""
    prepared = HeaderNames(*dict.fromkeys([ascii_lower(name), ascii_lower(other)]))
    assert prepared.slot(name) == 0
    assert prepared.slot(apply_case(other, 0)) == prepared.names.index(ascii_lower(other))
    assert prepared.slot(name + b"-x") is None


@pytest.mark.parametrize(
    "name",
    [b"origin", b"access-control-request-private-network", b"x", b"X-Request-Id"],
    ids=["short", "long", "one-letter", "mixed-case"],
)
def test_header_names_finds_short_and_long_names_in_any_case(name: bytes) -> None:
    """A short name (every spelling in a table) and a long one (screened by length) both match."""
    prepared = HeaderNames(name)
    lower = name.lower()
    headers = [(b"x-other", b"0"), (name.upper(), b"1"), (lower, b"2")]
    assert prepared.names == (lower,)
    assert get_first(headers, prepared) == b"1"
    assert prepared.scan(headers) == (b"1",)
    assert get_first([(lower[:-1] + b"?", b"0")], prepared) is None


def test_header_names_accepts_str_names() -> None:
    """Names may be given as ``str``; they are kept as lower-case bytes."""
    prepared = HeaderNames("Vary", "X-Total", lists=["VARY"])
    assert prepared.names == (b"vary", b"x-total")
    assert repr(prepared) == "HeaderNames(*(b'vary', b'x-total'), lists=[b'vary'])"


@pytest.mark.parametrize(
    ("names", "lists"),
    [
        pytest.param((), (), id="no-names"),
        pytest.param((b"vary", b"Vary"), (), id="repeated-in-any-case"),
        pytest.param((b"vary",), (b"origin",), id="list-not-a-name"),
    ],
)
def test_header_names_refuses_bad_names(names: tuple[bytes, ...], lists: tuple[bytes, ...]) -> None:
    """No names, a name twice or a list name not among the names is a ValueError."""
    with pytest.raises(ValueError, match="must"):
        HeaderNames(*names, lists=lists)


def test_scan_joins_list_fields_and_keeps_the_first_of_others() -> None:
    """Repeated list fields are one list; another repeated field keeps its first value."""
    prepared = HeaderNames(
        b"origin", b"access-control-request-headers", lists=[b"access-control-request-headers"]
    )
    headers = [
        (b"Origin", b"https://a.example"),
        (b"access-control-request-headers", b"x-a"),
        (b"origin", b"https://b.example"),
        (b"Access-Control-Request-Headers", b"x-b, x-c"),
    ]
    assert prepared.scan(headers) == (b"https://a.example", b"x-a,x-b, x-c")
    assert prepared.scan([]) == (None, None)
    short = HeaderNames(b"vary", b"etag", lists=[b"vary"])
    headers = [(b"ETag", b"1"), (b"Vary", b"a"), (b"etag", b"2"), (b"vary", b"b")]
    assert short.scan(headers) == (b"a,b", b"1")
    same_length = HeaderNames(b"cache-control", b"content-range", lists=[b"cache-control"])
    headers = [
        (b"Cache-Control", b"a"),
        (b"content-range", b"x"),
        (b"CONTENT-RANGE", b"y"),
        (b"cache-control", b"b"),
        (b"content-rangx", b"z"),
    ]
    assert same_length.scan(headers) == (b"a,b", b"x")


# --------------------------------------------------------------------------------------------
# with_headers.


def naive_fold(headers: list[Sequence[bytes]], name: bytes) -> list[tuple[bytes, bytes]]:
    """Every field ``name`` folded into one at the first one's place, tokens de-duplicated."""
    tokens = [t for pair in headers if ascii_lower(pair[0]) == name for t in naive_split(pair[1])]
    result: list[tuple[bytes, bytes]] = []
    for pair in headers:
        if ascii_lower(pair[0]) != name:
            result.append((pair[0], pair[1]))
        elif tokens:
            result.append((name, b", ".join(dedupe(tokens))))
            tokens = []
    return result


@given(case=headers_and_names(), value=values)
def test_with_headers_sets_owned_fields_and_merges_list_fields(
    case: tuple[HeaderInput, list[bytes], list[bytes]], value: bytes
) -> None:
    """Owned names are dropped and written once, after the rest; list fields the app wrote merge."""
    headers, wanted, listed = case
    fields = [(name, naive_split(value)[0] if naive_split(value) else b"x") for name in wanted]
    result = with_headers(headers, fields, HeaderNames(*wanted, lists=listed))
    expected: list[Sequence[bytes]] = [
        pair for pair in headers if ascii_lower(pair[0]) not in set(wanted) - set(listed)
    ]
    expected += fields
    for name in listed:
        if naive_all(headers, name):
            expected = list(naive_fold(expected, name))
    assert as_tuples(result) == as_tuples(expected)


@given(case=headers_and_names(), value=values)
def test_with_headers_passes_other_pairs_on_as_they_came(
    case: tuple[HeaderInput, list[bytes], list[bytes]], value: bytes
) -> None:
    """Without a list field to merge, the pairs kept are the very objects the app sent."""
    headers, wanted, _ = case
    result = with_headers(headers, [(wanted[0], value)], HeaderNames(*wanted))
    kept = [pair for pair in headers if ascii_lower(pair[0]) not in wanted]
    assert len(result) == len(kept) + 1
    assert all(new is old for new, old in zip(result[:-1], kept, strict=True))
    assert result[-1] == (wanted[0], value)


def test_with_headers_appends_or_replaces_without_mutating() -> None:
    """A missing header is appended, every copy of a present one replaced; the input is kept."""
    headers = [(b"a", b"1"), (b"X-ID", b"old"), (b"x-id", b"older")]
    snapshot = list(headers)
    names = HeaderNames(b"x-id")

    assert with_headers(headers, [(b"x-id", b"new")], names) == [(b"a", b"1"), (b"x-id", b"new")]
    assert with_headers(headers, [(b"b", b"2")], HeaderNames(b"b")) == [*snapshot, (b"b", b"2")]
    assert headers == snapshot


def test_with_headers_merges_into_the_apps_vary_where_it_stood() -> None:
    """The app's Vary takes ours at its own place; an owned field it set is replaced at the end."""
    names = HeaderNames(b"access-control-allow-origin", b"vary", lists=[b"vary"])
    headers = [
        (b"Vary", b"Accept-Encoding"),
        (b"Access-Control-Allow-Origin", b"*"),
        (b"content-type", b"text/plain"),
        (b"vary", b"cookie, ORIGIN"),
    ]
    fields = [(b"access-control-allow-origin", b"https://a.example"), (b"vary", b"Origin")]
    assert with_headers(headers, fields, names) == [
        (b"vary", b"Accept-Encoding, cookie, ORIGIN"),
        (b"content-type", b"text/plain"),
        (b"access-control-allow-origin", b"https://a.example"),
    ]


@given(headers=header_lists, value=values)
def test_add_headers_appends_after_the_pairs_as_they_came(
    headers: HeaderInput, value: bytes
) -> None:
    """``add_headers`` returns the very pairs given, in order, then the new fields."""
    fields = [(b"x-request-id", value), (b"vary", b"Origin")]
    result = add_headers(headers, fields)
    assert result == [*headers, *fields]
    assert all(new is old for new, old in zip(result, headers, strict=False))


# --------------------------------------------------------------------------------------------
# replace_values.


@given(case=headers_and_name(), value=values)
def test_replace_values_changes_only_that_names_values_in_place(
    case: tuple[HeaderInput, bytes], value: bytes
) -> None:
    """Each field of the name gets the new value, keeping its name as sent and its place."""
    headers, name = case
    result = replace_values(headers, name, lambda old: value + old)
    assert as_tuples(result) == [
        (pair[0], value + pair[1] if ascii_lower(pair[0]) == name else pair[1]) for pair in headers
    ]


def test_replace_values_keeps_other_pairs_as_they_came() -> None:
    """Pairs of other names are the very objects given."""
    other = [b"content-type", b"text/plain"]
    result = replace_values([other, (b"ETag", b'"v1"')], b"etag", lambda old: b"W/" + old)
    assert result == [other, (b"ETag", b'W/"v1"')]
    assert result[0] is other


# --------------------------------------------------------------------------------------------
# set_header.


@given(case=headers_and_name(), value=values)
def test_set_header_leaves_one_field_with_the_new_value_at_the_end(
    case: tuple[HeaderInput, bytes], value: bytes
) -> None:
    """``set_header`` leaves one field of that name, lower-case, last, with the new value."""
    headers, name = case
    result = set_header(headers, name, value)
    assert [pair for pair in result if ascii_lower(pair[0]) == name] == [(name, value)]
    assert result[-1] == (name, value)


@given(case=headers_and_name(), value=values)
def test_set_header_keeps_every_other_field_in_order(
    case: tuple[HeaderInput, bytes], value: bytes
) -> None:
    """``set_header`` keeps every field of another name, unchanged and in order."""
    headers, name = case
    result = set_header(headers, name, value)
    assert result[:-1] == [(pair[0], pair[1]) for pair in headers if ascii_lower(pair[0]) != name]


def test_set_header_replaces_mixed_case_fields_with_a_lower_case_one() -> None:
    """``set_header`` replaces ``X-Request-ID`` fields in any case by one lower-case field."""
    headers = ((b"X-Request-ID", b"old"), (b"server", b"s"), (b"x-request-id", b"older"))
    assert set_header(headers, b"x-request-id", b"new") == [
        (b"server", b"s"),
        (b"x-request-id", b"new"),
    ]


# --------------------------------------------------------------------------------------------
# merge_tokens.


@given(case=headers_and_name(), tokens=new_tokens)
def test_merge_tokens_leaves_at_most_one_field(
    case: tuple[HeaderInput, bytes], tokens: list[bytes]
) -> None:
    """``merge_tokens`` folds every field of that name into at most one, written lower-case."""
    headers, name = case
    result = merge_tokens(headers, name, tokens)
    merged = [pair for pair in result if ascii_lower(pair[0]) == name]
    assert len(merged) <= 1
    assert all(pair[0] == name for pair in merged)


@given(case=headers_and_name(), tokens=new_tokens)
def test_merge_tokens_deduplicates_existing_then_new_tokens(
    case: tuple[HeaderInput, bytes], tokens: list[bytes]
) -> None:
    """The merged field's tokens are existing then new ones, de-duplicated ignoring case."""
    headers, name = case
    existing = [token for value in naive_all(headers, name) for token in naive_split(value)]
    result = merge_tokens(headers, name, tokens)
    assert [token for value in get_all(result, name) for token in split_list(value)] == dedupe(
        existing + tokens
    )


@given(case=headers_and_name(), tokens=new_tokens)
def test_merge_tokens_writes_the_field_where_the_first_one_stood(
    case: tuple[HeaderInput, bytes], tokens: list[bytes]
) -> None:
    """The merged field takes the first existing field's position, or goes last when new."""
    headers, name = case
    result = merge_tokens(headers, name, tokens)
    matching = [index for index, pair in enumerate(headers) if ascii_lower(pair[0]) == name]
    existing = [token for value in naive_all(headers, name) for token in naive_split(value)]
    expected = []
    if dedupe(existing + tokens):
        expected = [matching[0] if matching else len(result) - 1]
    assert [index for index, pair in enumerate(result) if pair[0] == name] == expected


@given(case=headers_and_name(), tokens=new_tokens)
def test_merge_tokens_keeps_other_fields_in_order(
    case: tuple[HeaderInput, bytes], tokens: list[bytes]
) -> None:
    """``merge_tokens`` keeps every field of another name, unchanged and in order."""
    headers, name = case
    result = merge_tokens(headers, name, tokens)
    assert [pair for pair in result if pair[0] != name] == [
        (pair[0], pair[1]) for pair in headers if ascii_lower(pair[0]) != name
    ]


@pytest.mark.parametrize(
    ("headers", "tokens", "expected"),
    [
        pytest.param([], [b"Origin"], [(b"vary", b"Origin")], id="new-field-at-the-end"),
        pytest.param(
            [(b"Vary", b"Accept-Encoding"), (b"x", b"1")],
            [b"origin"],
            [(b"vary", b"Accept-Encoding, origin"), (b"x", b"1")],
            id="appended-to-existing",
        ),
        pytest.param(
            [(b"x", b"1"), (b"VARY", b"Origin, ,cookie"), (b"y", b"2"), (b"vary", b"COOKIE, a")],
            [b"ORIGIN", b"b"],
            [(b"x", b"1"), (b"vary", b"Origin, cookie, a, b"), (b"y", b"2")],
            id="folded-deduplicated-first-spelling",
        ),
        pytest.param(
            [(b"vary", b"Origin")], [], [(b"vary", b"Origin")], id="no-new-tokens-unchanged"
        ),
        pytest.param([(b"vary", b" , ")], [], [], id="only-empty-elements-dropped"),
        pytest.param(
            [(b"x", b"1")],
            [b"", b"Origin"],
            [(b"x", b"1"), (b"vary", b"Origin")],
            id="empty-new-token-ignored",
        ),
        pytest.param([(b"x", b"1")], [], [(b"x", b"1")], id="nothing-to-write"),
    ],
)
def test_merge_tokens_examples(
    headers: HeaderInput, tokens: list[bytes], expected: list[tuple[bytes, bytes]]
) -> None:
    """``merge_tokens`` merges ``Vary`` the way SPEC §2.6 asks: merged, de-duplicated, in place."""
    assert merge_tokens(headers, b"vary", tokens) == expected


def test_merge_tokens_accepts_a_one_shot_iterator_of_tokens() -> None:
    """``merge_tokens`` takes any iterable of new tokens, a generator included."""
    tokens = (token for token in (b"Origin", b"Cookie"))
    assert merge_tokens([], b"vary", tokens) == [(b"vary", b"Origin, Cookie")]


def test_merge_tokens_joins_set_cookie_only_when_asked_for_that_name() -> None:
    """``merge_tokens`` joins ``Set-Cookie`` values when, and only when, given that very name."""
    headers = [(b"Set-Cookie", b"a=1"), (b"set-cookie", b"b=2")]
    assert merge_tokens(headers, b"set-cookie", []) == [(b"set-cookie", b"a=1, b=2")]


# --------------------------------------------------------------------------------------------
# split_list.


@given(value=raw_values | list_values)
def test_split_list_returns_no_empty_or_padded_elements(value: bytes) -> None:
    """``split_list`` never returns an empty element nor one with leading or trailing OWS."""
    for element in split_list(value):
        assert element
        assert element[:1] not in (b" ", b"\t")
        assert element[-1:] not in (b" ", b"\t")
        assert b"," not in element


@given(value=raw_values | list_values)
def test_split_list_matches_a_naive_split(value: bytes) -> None:
    """``split_list`` returns the non-empty comma-separated elements without OWS, in order."""
    assert split_list(value) == naive_split(value)


@pytest.mark.parametrize("separator", [b",", b", ", b" , "], ids=["comma", "comma-space", "padded"])
@settings(max_examples=50)
@given(value=raw_values | list_values)
def test_split_list_is_idempotent_on_its_own_join(separator: bytes, value: bytes) -> None:
    """Splitting, joining with a comma and splitting again gives the same elements."""
    elements = split_list(value)
    assert split_list(separator.join(elements)) == elements


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(b"", [], id="empty"),
        pytest.param(b" ,\t, ", [], id="only-empty-elements"),
        pytest.param(b"gzip", [b"gzip"], id="single"),
        pytest.param(b"gzip, br", [b"gzip", b"br"], id="comma-space"),
        pytest.param(b"\tgzip ,,br\t,", [b"gzip", b"br"], id="ows-and-empty-elements"),
        pytest.param(b"gzip;q=0.5 , br", [b"gzip;q=0.5", b"br"], id="parameters-kept"),
        pytest.param(b"a b, c\td", [b"a b", b"c\td"], id="inner-whitespace-kept"),
    ],
)
def test_split_list_examples(value: bytes, expected: list[bytes]) -> None:
    """``split_list`` drops OWS and empty elements as RFC 9110 §5.6.1 recipients must."""
    assert split_list(value) == expected
