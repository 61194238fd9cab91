"""A small RFC 8941 Structured Fields parser, for checking the syntax of the fields we send.

It follows the parsing algorithms of RFC 8941 §4.2 for Lists, Dictionaries and Items (with
Inner Lists and Parameters) and refuses anything else with ``ValueError``: a test that parses a
field with it proves the field is valid, not merely that it looks right.

Values come back as Python values: Integer -> ``int``, Decimal -> :class:`Decimal`, String ->
``str``, Token -> :class:`Token` (a ``str``), Byte Sequence -> ``bytes``, Boolean -> ``bool``.
An Item is ``(value, parameters)`` and an Inner List ``(list of items, parameters)``, where
parameters are a ``dict`` in order.
"""

from __future__ import annotations

import base64
import binascii
import decimal
import string
from typing import Any, TypeAlias

__all__ = [
    "BareItem",
    "Decimal",
    "InnerList",
    "Item",
    "Parameters",
    "Token",
    "parse_dictionary",
    "parse_item",
    "parse_list",
]


class Token(str):
    """An sf-token, told apart from an sf-string."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Token({str(self)!r})"


class Decimal(decimal.Decimal):
    """An sf-decimal (at most 12 integer and 3 fractional digits)."""


BareItem: TypeAlias = "int | Decimal | str | Token | bytes | bool"
Parameters: TypeAlias = dict[str, Any]
Item: TypeAlias = tuple[Any, Parameters]
InnerList: TypeAlias = tuple[list[Item], Parameters]

_LCALPHA = frozenset(string.ascii_lowercase)
_DIGITS = frozenset(string.digits)
_KEY_CHARS = _LCALPHA | _DIGITS | frozenset("_-.*")
# RFC 9110 tchar, plus ":" and "/" (RFC 8941 §3.3.4).
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~:/")
_BASE64 = frozenset(string.ascii_letters + string.digits + "+/=")
_OWS = " \t"


class _Input:
    """The field value being parsed, consumed from the left."""

    __slots__ = ("position", "text")

    def __init__(self, value: str | bytes) -> None:
        text = value.decode("ascii") if isinstance(value, bytes) else value
        if any(not (" " <= char <= "~") and char != "\t" for char in text):
            msg = f"a field value must be visible ASCII, SP or HTAB, got {text!r}"
            raise ValueError(msg)
        # §4.2: discard leading SP characters (and trailing ones, which may not be there).
        self.text = text.lstrip(" ").rstrip(" ")
        self.position = 0

    def peek(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else ""

    def take(self) -> str:
        char = self.peek()
        self.position += 1
        return char

    def done(self) -> bool:
        return self.position >= len(self.text)

    def skip(self, chars: str) -> None:
        while not self.done() and self.peek() in chars:
            self.position += 1

    def fail(self, what: str) -> ValueError:
        return ValueError(f"{what} at {self.position} of {self.text!r}")


def parse_list(value: str | bytes) -> list[Item | InnerList]:
    """Parse a List field value (RFC 8941 §4.2.1)."""
    source = _Input(value)
    members: list[Item | InnerList] = []
    while not source.done():
        members.append(_item_or_inner_list(source))
        source.skip(_OWS)
        if source.done():
            return members
        if source.take() != ",":
            raise source.fail("expected ',' between list members")
        source.skip(_OWS)
        if source.done():
            raise source.fail("a trailing ','")
    return members


def parse_dictionary(value: str | bytes) -> dict[str, Item | InnerList]:
    """Parse a Dictionary field value (RFC 8941 §4.2.2)."""
    source = _Input(value)
    members: dict[str, Item | InnerList] = {}
    while not source.done():
        key = _key(source)
        if source.peek() == "=":
            source.take()
            members[key] = _item_or_inner_list(source)
        else:
            members[key] = (True, _parameters(source))
        source.skip(_OWS)
        if source.done():
            return members
        if source.take() != ",":
            raise source.fail("expected ',' between dictionary members")
        source.skip(_OWS)
        if source.done():
            raise source.fail("a trailing ','")
    return members


def parse_item(value: str | bytes) -> Item:
    """Parse an Item field value (RFC 8941 §4.2.3)."""
    source = _Input(value)
    item = _item(source)
    if not source.done():
        raise source.fail("characters after the item")
    return item


def _item_or_inner_list(source: _Input) -> Item | InnerList:
    if source.peek() == "(":
        return _inner_list(source)
    return _item(source)


def _inner_list(source: _Input) -> InnerList:
    source.take()  # "("
    items: list[Item] = []
    while not source.done():
        source.skip(" ")
        if source.peek() == ")":
            source.take()
            return items, _parameters(source)
        items.append(_item(source))
        if source.peek() not in (" ", ")"):
            raise source.fail("expected SP or ')' in an inner list")
    raise source.fail("an inner list without ')'")


def _item(source: _Input) -> Item:
    return _bare_item(source), _parameters(source)


def _parameters(source: _Input) -> Parameters:
    parameters: Parameters = {}
    while source.peek() == ";":
        source.take()
        source.skip(" ")
        key = _key(source)
        value: Any = True
        if source.peek() == "=":
            source.take()
            value = _bare_item(source)
        parameters[key] = value
    return parameters


def _key(source: _Input) -> str:
    first = source.peek()
    if first not in _LCALPHA and first != "*":
        raise source.fail("a key must start with a lower-case letter or '*'")
    start = source.position
    while not source.done() and source.peek() in _KEY_CHARS:
        source.take()
    return source.text[start : source.position]


def _bare_item(source: _Input) -> Any:
    first = source.peek()
    if first == "-" or first in _DIGITS:
        return _number(source)
    if first == '"':
        return _string(source)
    if first == ":":
        return _bytes(source)
    if first == "?":
        return _boolean(source)
    if first.isascii() and (first.isalpha() or first == "*"):
        return _token(source)
    raise source.fail("expected a bare item")


def _number(source: _Input) -> int | Decimal:
    start = source.position
    sign = 1
    if source.peek() == "-":
        source.take()
        sign = -1
    if source.peek() not in _DIGITS:
        raise source.fail("a number without digits")
    digits = ""
    is_decimal = False
    while not source.done() and (source.peek() in _DIGITS or source.peek() == "."):
        char = source.take()
        if char == ".":
            if is_decimal or len(digits) > 12:
                raise source.fail("a decimal with more than one '.' or 12 integer digits")
            is_decimal = True
        digits += char
        if (not is_decimal and len(digits) > 15) or len(digits) > 16:
            raise source.fail("a number too long")
    if not is_decimal:
        return sign * int(digits)
    if digits.endswith(".") or len(digits.split(".")[1]) > 3:
        raise source.fail(f"a decimal needs 1 to 3 fractional digits, got {source.text[start:]!r}")
    return Decimal(digits if sign > 0 else "-" + digits)


def _string(source: _Input) -> str:
    source.take()  # '"'
    chars: list[str] = []
    while not source.done():
        char = source.take()
        if char == "\\":
            escaped = source.take()
            if escaped not in ('"', "\\"):
                raise source.fail("only '\"' and '\\' may be escaped in a string")
            chars.append(escaped)
        elif char == '"':
            return "".join(chars)
        elif not (" " <= char <= "~"):
            raise source.fail("a string holds printable ASCII only")
        else:
            chars.append(char)
    raise source.fail("a string without its closing '\"'")


def _token(source: _Input) -> Token:
    start = source.position
    source.take()
    while not source.done() and source.peek() in _TOKEN_CHARS:
        source.take()
    return Token(source.text[start : source.position])


def _bytes(source: _Input) -> bytes:
    source.take()  # ":"
    start = source.position
    while not source.done() and source.peek() != ":":
        if source.take() not in _BASE64:
            raise source.fail("a byte sequence holds base64 only")
    if source.done():
        raise source.fail("a byte sequence without its closing ':'")
    encoded = source.text[start : source.position]
    source.take()
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise source.fail("a byte sequence that is not valid base64") from None


def _boolean(source: _Input) -> bool:
    source.take()  # "?"
    char = source.take()
    if char not in ("0", "1"):
        raise source.fail("a boolean is ?0 or ?1")
    return char == "1"
