"""Tests for the constructor option validators in ``asgi_middleware._kit.config``."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asgi_middleware import CORSMiddleware, RequestIDMiddleware, TimingMiddleware
from asgi_middleware._kit.config import (
    option_error,
    require_bool,
    require_callable,
    require_header_value,
    require_int,
    require_strings,
    require_sync_callable,
    require_token,
)
from asgi_middleware._kit.types import ASGIApp, Receive, Scope, Send

# RFC 9110 §5.6.2 tchar.
TCHAR = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TCHAR_RULE = "an HTTP token (letters, digits and !#$%&'*+-.^_`|~)"
VALUE_RULE = "a header value (visible ASCII, no control characters, no surrounding whitespace)"


def message(option: str, rule: str, value: object) -> str:
    """A pattern matching exactly ``<option> must be <rule>, got <value!r>`` (SPEC §2.1)."""
    return rf"\A{re.escape(f'{option} must be {rule}, got {value!r}')}\Z"


class _Callable:
    def __call__(self) -> None:
        """Make instances callable."""


def _function() -> None:
    """Stand in for a user-supplied hook."""


async def _coroutine_function() -> None:
    """Stand in for an async hook; never called."""


async def _async_generator_function() -> AsyncIterator[None]:
    """Stand in for an async generator hook; never called."""
    yield None


class _AsyncCallable:
    async def __call__(self) -> None:
        """Make instances awaitable when called; never called."""


# --------------------------------------------------------------------------------------------
# option_error.


@pytest.mark.parametrize("error", [TypeError, ValueError])
def test_option_error_builds_the_spec_message(error: type[Exception]) -> None:
    """``option_error`` returns an exception of the given type worded as SPEC §2.1 asks."""
    raised = option_error(error, "max_age", "an int >= 0", -1)

    assert type(raised) is error
    assert str(raised) == "max_age must be an int >= 0, got -1"


def test_option_error_appends_the_hint_after_the_value() -> None:
    """A hint follows ``got <value!r>``, so the message still starts in the one shape."""
    raised = option_error(ValueError, "o", "a thing", "x/", "; remove the slash")

    assert str(raised) == "o must be a thing, got 'x/'; remove the slash"


# --------------------------------------------------------------------------------------------
# require_bool.


@pytest.mark.parametrize("value", [True, False], ids=["true", "false"])
def test_require_bool_returns_a_bool(value: bool) -> None:
    """``require_bool`` returns a ``bool`` it accepts, as it was."""
    assert require_bool("allow_credentials", value) is value


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(1, id="int-one"),
        pytest.param(0, id="int-zero"),
        pytest.param("true", id="str"),
        pytest.param(None, id="none"),
    ],
)
def test_require_bool_refuses_other_types_with_type_error(value: object) -> None:
    """``require_bool`` raises ``TypeError`` for truthy or falsy values that are not a ``bool``."""
    with pytest.raises(TypeError, match=message("allow_credentials", "a bool", value)):
        require_bool("allow_credentials", value)


# --------------------------------------------------------------------------------------------
# require_int.


@pytest.mark.parametrize(
    ("value", "minimum", "maximum"),
    [
        pytest.param(-5, None, None, id="unbounded"),
        pytest.param(0, 0, None, id="at-minimum"),
        pytest.param(10**20, 0, None, id="above-minimum"),
        pytest.param(10, None, 10, id="at-maximum"),
        pytest.param(-10, None, 10, id="below-maximum"),
        pytest.param(1, 1, 9, id="range-low-end"),
        pytest.param(9, 1, 9, id="range-high-end"),
        pytest.param(5, 5, 5, id="single-value-range"),
    ],
)
def test_require_int_returns_an_int_within_bounds(
    value: int, minimum: int | None, maximum: int | None
) -> None:
    """``require_int`` returns an ``int`` inside its inclusive bounds unchanged."""
    assert require_int("max_age", value, minimum=minimum, maximum=maximum) == value


@pytest.mark.parametrize(
    ("value", "minimum", "maximum", "rule"),
    [
        pytest.param(-1, 0, None, "an int >= 0", id="below-minimum"),
        pytest.param(11, None, 10, "an int <= 10", id="above-maximum"),
        pytest.param(0, 1, 9, "an int from 1 to 9", id="below-range"),
        pytest.param(10, 1, 9, "an int from 1 to 9", id="above-range"),
    ],
)
def test_require_int_refuses_out_of_range_values_with_value_error(
    value: int, minimum: int | None, maximum: int | None, rule: str
) -> None:
    """``require_int`` raises ``ValueError`` naming the bounds for an ``int`` outside them."""
    with pytest.raises(ValueError, match=message("gzip_level", rule, value)):
        require_int("gzip_level", value, minimum=minimum, maximum=maximum)


@pytest.mark.parametrize("value", [True, False], ids=["true", "false"])
@pytest.mark.parametrize(
    ("minimum", "maximum", "rule"),
    [
        pytest.param(None, None, "an int", id="unbounded"),
        pytest.param(0, None, "an int >= 0", id="minimum"),
        pytest.param(None, 10, "an int <= 10", id="maximum"),
        pytest.param(0, 1, "an int from 0 to 1", id="range"),
    ],
)
def test_require_int_refuses_bool_with_type_error(
    value: bool, minimum: int | None, maximum: int | None, rule: str
) -> None:
    """``require_int`` refuses ``True``/``False`` with ``TypeError``, even when in range."""
    with pytest.raises(TypeError, match=message("max_age", rule, value)):
        require_int("max_age", value, minimum=minimum, maximum=maximum)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(1.0, id="float"),
        pytest.param("1", id="str"),
        pytest.param(None, id="none"),
        pytest.param(b"1", id="bytes"),
    ],
)
def test_require_int_refuses_other_types_with_type_error(value: object) -> None:
    """``require_int`` raises ``TypeError`` for a value that is not an ``int``."""
    with pytest.raises(TypeError, match=message("minimum_size", "an int >= 0", value)):
        require_int("minimum_size", value, minimum=0)


# --------------------------------------------------------------------------------------------
# require_token.


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("X-Request-ID", id="header-name"),
        pytest.param("a", id="one-character"),
        pytest.param(TCHAR, id="every-tchar"),
    ],
)
def test_require_token_returns_a_token(value: str) -> None:
    """``require_token`` returns a valid HTTP token unchanged."""
    assert require_token("header_name", value) == value


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("X Request", id="space"),
        pytest.param("X-Request-ID\n", id="trailing-newline"),
        pytest.param("x:y", id="colon"),
        pytest.param('"x"', id="quotes"),
        pytest.param("x(y)", id="parentheses"),
        pytest.param("caf\u00e9", id="non-ascii-letter"),
        pytest.param("\u0661", id="non-ascii-digit"),
    ],
)
def test_require_token_refuses_non_tokens_with_value_error(value: str) -> None:
    """``require_token`` raises ``ValueError`` for a ``str`` that is not an RFC 9110 token."""
    with pytest.raises(ValueError, match=message("header_name", TCHAR_RULE, value)):
        require_token("header_name", value)


@pytest.mark.parametrize(
    "value", [pytest.param(b"X-Request-ID", id="bytes"), pytest.param(None, id="none")]
)
def test_require_token_refuses_non_str_with_type_error(value: object) -> None:
    """``require_token`` raises ``TypeError`` for a value that is not a ``str``."""
    with pytest.raises(TypeError, match=message("header_name", "a str", value)):
        require_token("header_name", value)


@given(value=st.text(alphabet=TCHAR, min_size=1))
def test_require_token_accepts_any_tchar_string(value: str) -> None:
    """Any non-empty string of RFC 9110 tchar characters is accepted as it is."""
    assert require_token("header_name", value) == value


@given(
    prefix=st.text(),
    bad=st.characters().filter(lambda char: char not in TCHAR),
    suffix=st.text(),
)
def test_require_token_refuses_any_non_tchar_character(prefix: str, bad: str, suffix: str) -> None:
    """A string holding any character outside the tchar alphabet, anywhere, is refused."""
    with pytest.raises(ValueError, match="must be an HTTP token"):
        require_token("header_name", prefix + bad + suffix)


# --------------------------------------------------------------------------------------------
# require_header_value.


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty-field-value-rfc9110-5.5"),
        pytest.param("x", id="one-character"),
        pytest.param("text/plain; charset=utf-8", id="inner-space"),
        pytest.param("a\tb", id="inner-tab"),
        pytest.param("!~", id="visible-ascii-ends"),
    ],
)
def test_require_header_value_returns_a_valid_value(value: str) -> None:
    """``require_header_value`` returns visible ASCII with inner blanks unchanged."""
    assert require_header_value("desc", value) == value


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(" x", id="leading-space"),
        pytest.param("x ", id="trailing-space"),
        pytest.param("\tx", id="leading-tab"),
        pytest.param(" ", id="only-space"),
        pytest.param("a\r\nSet-Cookie: x=1", id="crlf-injection"),
        pytest.param("a\nb", id="lf"),
        pytest.param("a\rb", id="cr"),
        pytest.param("a\x00b", id="nul"),
        pytest.param("a\x7fb", id="del"),
        pytest.param("a\x1bb", id="escape"),
        pytest.param("caf\u00e9", id="non-ascii"),
        pytest.param("x\n", id="trailing-newline"),
    ],
)
def test_require_header_value_refuses_bad_values_with_value_error(value: str) -> None:
    """``require_header_value`` raises ``ValueError`` for controls, padding or non-ASCII."""
    with pytest.raises(ValueError, match=message("desc", VALUE_RULE, value)):
        require_header_value("desc", value)


@pytest.mark.parametrize("value", [pytest.param(b"x", id="bytes"), pytest.param(1, id="int")])
def test_require_header_value_refuses_non_str_with_type_error(value: object) -> None:
    """``require_header_value`` raises ``TypeError`` for a value that is not a ``str``."""
    with pytest.raises(TypeError, match=message("desc", "a str", value)):
        require_header_value("desc", value)


@given(
    value=st.from_regex(r"[!-~]([ \t!-~]*[!-~])?", fullmatch=True),
)
def test_require_header_value_accepts_visible_ascii_with_inner_blanks(value: str) -> None:
    """Any visible-ASCII value with blanks only inside it is accepted as it is."""
    assert require_header_value("desc", value) == value


@given(prefix=st.text(), bad=st.sampled_from("\r\n\x00"), suffix=st.text())
def test_require_header_value_refuses_cr_lf_nul_anywhere(
    prefix: str, bad: str, suffix: str
) -> None:
    """A value holding CR, LF or NUL at any position raises ``ValueError`` (no header injection)."""
    with pytest.raises(ValueError, match="must be a header value"):
        require_header_value("desc", prefix + bad + suffix)


# --------------------------------------------------------------------------------------------
# require_callable.


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(_function, id="function"),
        pytest.param(len, id="builtin"),
        pytest.param(_Callable, id="class"),
        pytest.param(_Callable(), id="instance-with-call"),
    ],
)
def test_require_callable_returns_the_same_object(value: object) -> None:
    """``require_callable`` returns the callable it was given, the very same object."""
    assert require_callable("generator", value) is value


@pytest.mark.parametrize(
    "value",
    [pytest.param(None, id="none"), pytest.param("uuid4", id="str"), pytest.param(1, id="int")],
)
def test_require_callable_refuses_non_callables_with_type_error(value: object) -> None:
    """``require_callable`` raises ``TypeError`` for a value that cannot be called."""
    with pytest.raises(TypeError, match=message("generator", "callable", value)):
        require_callable("generator", value)


# --------------------------------------------------------------------------------------------
# require_sync_callable.


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(_function, id="function"),
        pytest.param(len, id="builtin"),
        pytest.param(_Callable, id="class"),
        pytest.param(_Callable(), id="instance-with-call"),
        pytest.param(_AsyncCallable, id="class-with-async-call"),  # calling it builds an instance
        pytest.param(functools.partial(_function), id="partial"),
        pytest.param(lambda: None, id="lambda"),
    ],
)
def test_require_sync_callable_returns_the_same_object(value: object) -> None:
    """``require_sync_callable`` returns a plain callable it accepts, the very same object."""
    assert require_sync_callable("callback", value) is value


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(_coroutine_function, id="async-def"),
        pytest.param(_AsyncCallable(), id="instance-with-async-call"),
        pytest.param(_async_generator_function, id="async-generator"),
        pytest.param(functools.partial(_coroutine_function), id="partial-of-async-def"),
    ],
)
def test_require_sync_callable_refuses_async_callables(value: object) -> None:
    """An async callable is refused with ``TypeError``: its result would never be awaited."""
    rule = "a plain (not async) callable"
    with pytest.raises(TypeError, match=message("callback", rule, value)):
        require_sync_callable("callback", value)


@pytest.mark.parametrize(
    "value",
    [pytest.param(None, id="none"), pytest.param("print", id="str"), pytest.param(1, id="int")],
)
def test_require_sync_callable_refuses_non_callables_first(value: object) -> None:
    """A value that cannot be called gets the plain "callable" rule, as ``require_callable``."""
    with pytest.raises(TypeError, match=message("callback", "callable", value)):
        require_sync_callable("callback", value)


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    """A placeholder app; these tests only construct middleware."""


_SYNC_HOOKS: list[tuple[Callable[..., ASGIApp], str]] = [
    (CORSMiddleware, "allow_origin_check"),
    (TimingMiddleware, "callback"),
    (RequestIDMiddleware, "generator"),
    (RequestIDMiddleware, "validator"),
    (RequestIDMiddleware, "transformer"),
]


@pytest.mark.parametrize(("middleware", "option"), _SYNC_HOOKS)
@pytest.mark.parametrize("hook", [_coroutine_function, _AsyncCallable()], ids=["def", "call"])
def test_every_hook_called_without_await_refuses_async(
    middleware: Callable[..., ASGIApp], option: str, hook: object
) -> None:
    """Each option the middleware calls synchronously refuses an async callable at start-up.

    An async ``validator`` would otherwise accept every incoming ID (a coroutine is truthy).
    """
    rule = "a plain (not async) callable"
    with pytest.raises(TypeError, match=message(option, rule, hook)):
        middleware(_app, **{option: hook})


# --------------------------------------------------------------------------------------------
# require_strings.


def _one_shot() -> Iterator[str]:
    yield "a"
    yield "b"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(["a", "b"], ("a", "b"), id="list"),
        pytest.param(("a", "b"), ("a", "b"), id="tuple"),
        pytest.param(frozenset({"a"}), ("a",), id="frozenset"),
        pytest.param({"a"}, ("a",), id="set"),
        pytest.param(_one_shot(), ("a", "b"), id="generator"),
        pytest.param([], (), id="empty"),
    ],
)
def test_require_strings_returns_a_tuple(value: object, expected: tuple[str, ...]) -> None:
    """``require_strings`` turns a list, tuple, set or iterator of ``str`` into a tuple."""
    assert require_strings("allow_origins", value) == expected


@given(value=st.lists(st.text()))
def test_require_strings_keeps_every_item_in_order(value: list[str]) -> None:
    """``require_strings`` returns every item of a list of any length, in order."""
    assert require_strings("allow_origins", value) == tuple(value)


def test_require_strings_returns_a_copy_unaffected_by_later_changes() -> None:
    """The tuple ``require_strings`` returns does not follow later changes to the given list."""
    value = ["a"]
    result = require_strings("allow_origins", value)
    value.append("b")
    assert result == ("a",)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("https://a.example", id="bare-str"),
        pytest.param(b"https://a.example", id="bare-bytes"),
        pytest.param(None, id="none"),
        pytest.param(1, id="int"),
    ],
)
def test_require_strings_refuses_str_and_non_iterables_with_type_error(value: object) -> None:
    """``require_strings`` refuses a bare ``str``/``bytes`` or a non-iterable with ``TypeError``."""
    with pytest.raises(TypeError, match=message("allow_origins", "a list or tuple of str", value)):
        require_strings("allow_origins", value)


@pytest.mark.parametrize(
    "item",
    [pytest.param(b"https://b.example", id="bytes"), pytest.param(None, id="none")],
)
def test_require_strings_refuses_a_non_str_item_naming_its_index(item: object) -> None:
    """A non-``str`` item raises ``TypeError`` naming ``option[index]``."""
    with pytest.raises(TypeError, match=message("allow_origins[1]", "a str", item)):
        require_strings("allow_origins", ["https://a.example", item])


def test_require_strings_calls_check_with_indexed_option_names() -> None:
    """``check`` is called once per item, in order, as ``check("option[index]", item)``."""
    calls: list[tuple[str, Any]] = []

    def check(option: str, item: Any) -> str:
        calls.append((option, item))
        return str(item)

    require_strings("expose_headers", ["X-A", "X-B", "X-C"], check)
    assert calls == [
        ("expose_headers[0]", "X-A"),
        ("expose_headers[1]", "X-B"),
        ("expose_headers[2]", "X-C"),
    ]


def test_require_strings_returns_what_check_returns() -> None:
    """The tuple holds each item as ``check`` normalised it, in order."""
    assert require_strings("o", ["A", "b"], lambda _option, item: item.lower()) == ("a", "b")


def test_require_strings_propagates_the_check_error_for_the_bad_item() -> None:
    """An item ``check`` refuses raises its error, naming ``option[index]`` of that item."""
    with pytest.raises(ValueError, match=message("expose_headers[1]", TCHAR_RULE, "X B")):
        require_strings("expose_headers", ["X-A", "X B"], require_token)
