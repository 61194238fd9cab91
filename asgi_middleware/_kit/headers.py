"""Helpers for raw ASGI header lists.

ASGI gives headers as an iterable of ``(name, value)`` byte pairs; servers send lists or tuples and
apps emit names in any case even though the spec asks for lower case. Every helper here:

* matches names case-insensitively and expects the ``name`` argument already lower-cased (callers
  precompute it in ``__init__``),
* accepts a list or a tuple of 2-item lists or tuples,
* never mutates its input: the functions that change something return a new list,
* writes the headers it adds with a lower-case name,
* never joins ``Set-Cookie`` values: only :func:`merge_tokens` joins, only the name it is given.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from asgi_middleware._kit.types import Headers, RawHeaders

__all__ = [
    "append_header",
    "get_all",
    "get_header",
    "merge_tokens",
    "remove_headers",
    "set_header",
    "split_list",
]


def get_header(headers: RawHeaders, name: bytes) -> bytes | None:
    """Return the first value of header ``name`` (lower case), or ``None``."""
    size = len(name)
    for key, value in headers:
        # The length test first (lower() keeps the length), so most names are never lowered;
        # then equality, since almost every name is already lower case.
        if len(key) == size and (key == name or key.lower() == name):
            return value
    return None


def get_all(headers: RawHeaders, name: bytes) -> list[bytes]:
    """Return every value of header ``name`` (lower case), in order."""
    return [value for key, value in headers if key == name or key.lower() == name]


def remove_headers(headers: RawHeaders, names: Collection[bytes]) -> Headers:
    """Return a new list without the headers whose lower-cased name is in ``names``."""
    # The membership test first: almost every name is already lower case, so no copy is made.
    return [(key, value) for key, value in headers if key not in names and key.lower() not in names]


def set_header(headers: RawHeaders, name: bytes, value: bytes) -> Headers:
    """Return a new list where ``name`` (lower case) appears once, with ``value``, at the end."""
    result = [(key, old) for key, old in headers if key != name and key.lower() != name]
    result.append((name, value))
    return result


def append_header(headers: RawHeaders, name: bytes, value: bytes) -> Headers:
    """Return a new list with ``(name, value)`` added after the existing headers."""
    result = [(key, old) for key, old in headers]
    result.append((name, value))
    return result


def split_list(value: bytes) -> list[bytes]:
    """Split a comma-separated field value into its elements.

    Optional whitespace around elements and empty elements are dropped, as recipients must tolerate
    them (RFC 9110 §5.6.1). Quoted strings are not parsed: this is for token lists such as ``Vary``,
    ``Access-Control-Request-Headers`` or ``Accept-Encoding``, not for ``Cache-Control`` arguments.
    """
    return [element for part in value.split(b",") if (element := part.strip(b" \t"))]


def merge_tokens(headers: RawHeaders, name: bytes, tokens: Iterable[bytes]) -> Headers:
    """Merge ``tokens`` into the comma-separated header ``name`` (lower case), such as ``Vary``.

    Every existing occurrence of the header is folded into one, written where the first one stood
    (or at the end when there was none). Tokens are de-duplicated case-insensitively, keeping the
    first spelling seen; existing tokens keep their order and come before the new ones. ``tokens``
    must be single clean tokens (no commas, no surrounding whitespace): callers precompute them.
    """
    result: Headers = []
    merged: list[bytes] = []
    seen: set[bytes] = set()
    position = -1
    for key, value in headers:
        if key == name or key.lower() == name:
            if position < 0:
                position = len(result)
            _add_tokens(split_list(value), merged, seen)
        else:
            result.append((key, value))
    _add_tokens(tokens, merged, seen)
    if not merged:
        return result
    field = (name, b", ".join(merged))
    if position < 0:
        result.append(field)
    else:
        result.insert(position, field)
    return result


def _add_tokens(tokens: Iterable[bytes], merged: list[bytes], seen: set[bytes]) -> None:
    for token in tokens:
        folded = token.lower()
        if token and folded not in seen:
            seen.add(folded)
            merged.append(token)
