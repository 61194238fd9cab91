"""Reading and writing raw ASGI header lists: the one way every middleware here does it.

ASGI gives headers as an iterable of ``(name, value)`` byte pairs; servers send lists or tuples and
apps emit names in any case even though the spec asks for lower case. Every helper here:

* matches names case-insensitively; the names it is given are lower case, precomputed by the
  caller in ``__init__`` (as bytes, or prepared once as :class:`HeaderNames` for the hot paths),
* accepts a list or a tuple of 2-item lists or tuples,
* never mutates its input: the functions that change something return a new list,
* writes the headers it adds with a lower-case name,
* never joins ``Set-Cookie`` values: only list fields named by the caller are joined.

Reading: :func:`get_header` (the first value), :func:`get_all` (every value),
:func:`get_single` (a field that must not repeat, such as ``Authorization``) and
:func:`group_by_name` (every field, by name); for hot paths, with names prepared as
:class:`HeaderNames`, :func:`get_first` and ``HeaderNames.scan`` (several names in one pass).
Writing: :func:`with_headers` (the fields a middleware owns or merges into, in one pass),
:func:`add_headers` (fields known to be new), :func:`set_header`, :func:`merge_tokens` and
:func:`replace_values`.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from asgi_middleware._kit.types import Headers, RawHeaders

__all__ = [
    "REPEATED",
    "HeaderNames",
    "Repeated",
    "add_headers",
    "get_all",
    "get_first",
    "get_header",
    "get_single",
    "group_by_name",
    "merge_tokens",
    "replace_values",
    "set_header",
    "split_list",
    "with_headers",
]

# Names of at most this many letters are looked up in a table of their every spelling (at most
# 2**10 entries each), so a header costs one dict lookup and never a lower(); a set of names with
# a longer one is screened by length first (lower() keeps the length) and lowered only when the
# length fits.
_MAX_SPELLED_LETTERS = 10


class Repeated(enum.Enum):
    """The type of :data:`REPEATED`."""

    REPEATED = "repeated"


REPEATED: Final = Repeated.REPEATED
"""What :func:`get_single` returns for a field that occurs more than once."""


def _spellings(name: bytes) -> list[bytes]:
    """Every way of writing ``name`` with its ASCII letters in either case."""
    choices = [(byte, byte ^ 0x20) if bytes((byte,)).isalpha() else (byte,) for byte in name]
    return [bytes(spelling) for spelling in itertools.product(*choices)]


class HeaderNames:
    """Header names prepared once, in a middleware's ``__init__``, for the hot paths.

    :meth:`scan` and :func:`get_first` read them and :func:`with_headers` writes them; each
    header of a request or response then costs a length test or a dict lookup, rarely a
    ``lower()``.

    Args:
        names: The names, in any case; they are lower-cased. Their order is the order of
            :func:`scan`'s result.
        lists: Which of ``names`` are comma-separated list fields (RFC 9110 §5.6.1), such as
            ``Vary`` or ``Access-Control-Request-Headers``: :func:`scan` joins their repeated
            fields and :func:`with_headers` merges into them. Never name ``Set-Cookie`` here.

    Attributes:
        names: The names, lower case, in the order given.
        scan: ``scan(headers) -> tuple``: read every name in one pass over ``headers``. Each
            item is the value of the first field of that name, or ``None`` when there is none;
            for a name in ``lists``, every field's value joined with ``","`` (RFC 9110 §5.3:
            several fields of a list are one list).

    Raises:
        ValueError: No names, a name given twice, or one in ``lists`` but not in ``names``.
    """

    __slots__ = ("_lists", "_sizes", "_table", "names", "scan")

    def __init__(self, *names: bytes | str, lists: Iterable[bytes | str] = ()) -> None:
        lowered = tuple(_lower(name) for name in names)
        if not lowered or len(set(lowered)) != len(lowered):
            msg = f"names must be distinct header names, at least one, got {names!r}"
            raise ValueError(msg)
        listed = {_lower(name) for name in lists}
        if not listed <= set(lowered):
            msg = f"lists must name some of {lowered!r}, got {sorted(listed)!r}"
            raise ValueError(msg)
        self.names = lowered
        self._lists = frozenset(lowered.index(name) for name in listed)
        self.scan = _compile_scan(lowered, self._lists)
        letters = max(sum(chr(byte).isalpha() for byte in name) for name in lowered)
        # None: every spelling is in the table, so a name not in it is not one of ours.
        self._sizes = None if letters <= _MAX_SPELLED_LETTERS else frozenset(map(len, lowered))
        self._table: dict[bytes, int] = {}
        for slot, name in enumerate(lowered):
            for spelling in _spellings(name) if self._sizes is None else (name,):
                self._table[spelling] = slot

    def __repr__(self) -> str:
        lists = [self.names[slot] for slot in sorted(self._lists)]
        return f"HeaderNames(*{self.names!r}, lists={lists!r})"

    def slot(self, key: bytes) -> int | None:
        """Return the position of header name ``key`` (any case) in :attr:`names`, or ``None``."""
        table = self._table
        if key in table:
            return table[key]
        if self._sizes is not None and len(key) in self._sizes:
            return table.get(key.lower())
        return None


def _lower(name: bytes | str) -> bytes:
    return (name.encode("latin-1") if isinstance(name, str) else name).lower()


def _compile_scan(
    names: tuple[bytes, ...], lists: frozenset[int]
) -> Callable[[RawHeaders], tuple[bytes | None, ...]]:
    """Generate the one-pass reader of ``names``, as ``namedtuple`` and ``dataclasses`` do.

    A loop written for one set of names (a local per name, an ``if`` chain on the length, a
    ``lower()`` only when the length fits) costs what the hand-written loops it replaces did, a
    generic loop over a table half as much again (benchmark row cors-preflight). The source
    holds only slot numbers and lengths; the names are passed in as the constants ``n0``, ...
    """
    slots_by_size: dict[int, list[int]] = {}
    for slot, name in enumerate(names):
        slots_by_size.setdefault(len(name), []).append(slot)
    found = ", ".join(f"v{slot}" for slot in range(len(names)))
    lines = [
        "def scan(headers):",
        f"    {found.replace(', ', ' = ')} = None",
        "    for key, value in headers:",
        "        size = len(key)",
    ]
    for index, (size, slots) in enumerate(slots_by_size.items()):
        lines.append(f"        {'elif' if index else 'if'} size == {size}:")
        if len(slots) > 1:  # several names of this length: lower the name once
            spellings = ", ".join(f"n{slot}" for slot in slots)
            lines += [
                f"            if key not in ({spellings}):",
                "                key = key.lower()",
            ]
        for number, slot in enumerate(slots):
            keyword = "elif" if number else "if"
            if len(slots) > 1:
                lines.append(f"            {keyword} key == n{slot}:")
            else:
                lines.append(f"            {keyword} key == n{slot} or key.lower() == n{slot}:")
            if slot in lists:
                joined = f'v{slot} + b"," + value'
                lines.append(f"                v{slot} = value if v{slot} is None else {joined}")
            else:
                lines += [
                    f"                if v{slot} is None:",
                    f"                    v{slot} = value",
                ]
    lines.append(f"    return ({found},)")
    namespace: dict[str, Any] = {f"n{slot}": name for slot, name in enumerate(names)}
    exec(compile("\n".join(lines), f"<scan of {names!r}>", "exec"), namespace)  # noqa: S102
    scan: Callable[[RawHeaders], tuple[bytes | None, ...]] = namespace["scan"]
    return scan


def get_header(headers: RawHeaders, name: bytes) -> bytes | None:
    """Return the first value of header ``name`` (lower case), or ``None`` if it is absent."""
    size = len(name)
    for key, value in headers:
        # The length test first (lower() keeps the length), so most names are never lowered;
        # then equality, since almost every name is already lower case.
        if len(key) == size and (key == name or key.lower() == name):
            return value
    return None


def get_first(headers: RawHeaders, names: HeaderNames) -> bytes | None:
    """Return the value of the first field named one of ``names``, or ``None``.

    :func:`get_header` for a hot path: ``names`` (usually one) are prepared once.
    """
    table = names._table  # noqa: SLF001 - the kit's own prepared table
    sizes = names._sizes  # noqa: SLF001
    if sizes is None:
        for key, value in headers:
            if key in table:
                return value
        return None
    for key, value in headers:
        # The length test first: a request's other headers are settled by it alone.
        if len(key) in sizes and (key in table or key.lower() in table):
            return value
    return None


def get_all(headers: RawHeaders, name: bytes) -> list[bytes]:
    """Return every value of header ``name`` (lower case), in order; ``[]`` if it is absent.

    Repeated fields stay separate values, never joined (``Set-Cookie`` included).
    """
    size = len(name)
    values: list[bytes] = []
    for key, value in headers:
        if len(key) == size and (key == name or key.lower() == name):
            values.append(value)
    return values


def get_single(headers: RawHeaders, name: bytes) -> bytes | Repeated | None:
    """Return the one value of a field that must not repeat, such as ``Authorization``.

    RFC 9110 §5.3 allows repeating only list fields: for any other, two fields make the
    request ambiguous, and the caller refuses it.

    Returns:
        The value, ``None`` if the header ``name`` (lower case) is absent, or :data:`REPEATED`
        if it occurs more than once.
    """
    found: bytes | None = None
    size = len(name)
    for key, value in headers:
        if len(key) == size and (key == name or key.lower() == name):
            if found is not None:
                return REPEATED
            found = value
    return found


def group_by_name(headers: RawHeaders) -> dict[bytes, list[bytes]]:
    """Return every field's values under its lower-case name, as ``bytes``.

    Names come in the order of their first field, values in the order sent. Repeated fields
    stay separate values, never joined (``Set-Cookie`` included): how to show them is the
    caller's choice. Names and values of another bytes-like type (``bytearray``) are copied to
    ``bytes``, so the result is always hashable and comparable.
    """
    grouped: dict[bytes, list[bytes]] = {}
    for key, value in headers:
        grouped.setdefault(bytes(key).lower(), []).append(bytes(value))
    return grouped


def with_headers(
    headers: RawHeaders, fields: Sequence[tuple[bytes, bytes]], names: HeaderNames
) -> Headers:
    """Return a new list: ``headers`` with the ``fields`` a middleware writes, after them.

    ``names`` are the names the middleware writes (those of ``fields``, and any it removes
    without replacing). A field of ``headers`` with such a name is dropped, so each of ours is
    set, never doubled; a field named in ``lists`` (such as ``Vary``) is kept instead, and
    every field of that name, ours included, is merged into the first one as
    :func:`merge_tokens` does. The other pairs are passed on as they came, in order; ``fields``
    must be lower-case tuples.
    """
    table = names._table  # noqa: SLF001 - the kit's own prepared table
    sizes = names._sizes  # noqa: SLF001
    if sizes is None:
        for pair in headers:
            if pair[0] in table:
                break
        else:  # The usual case: the app wrote none of these, nothing to drop or merge.
            return [*headers, *fields]
    else:
        for pair in headers:
            key = pair[0]
            if len(key) in sizes and (key in table or key.lower() in table):
                break
        else:
            return [*headers, *fields]
    return _rewrite(headers, fields, names)


def _rewrite(
    headers: RawHeaders, fields: Sequence[tuple[bytes, bytes]], names: HeaderNames
) -> Headers:
    """:func:`with_headers` when the app wrote a field we write.

    A list field (Vary) of the app's is kept where its first field stood, and its values and
    ours become that one field's value (benchmark row stack-json-16k: compression's Vary meets
    CORS's).
    """
    lists = names._lists  # noqa: SLF001
    table = names._table  # noqa: SLF001
    sizes = names._sizes  # noqa: SLF001
    result: Headers = []
    merged: dict[int, tuple[int, list[bytes]]] = {}  # slot: (position, values)
    for pair in headers:
        # HeaderNames.slot, inlined: one call less per header of every rewritten response.
        key = pair[0]
        if key in table:
            slot = table[key]
        elif sizes is not None and len(key) in sizes and key.lower() in table:
            slot = table[key.lower()]
        else:
            result.append(pair)
            continue
        if slot in lists:
            if slot in merged:
                merged[slot][1].append(pair[1])
            else:
                merged[slot] = (len(result), [pair[1]])
                result.append(pair)
    if not merged:  # nothing to merge into (compression's Content-Length, say): ours go last
        result += fields
        return result
    return _merge(result, merged, fields, names)


def _merge(
    result: Headers,
    merged: dict[int, tuple[int, list[bytes]]],
    fields: Sequence[tuple[bytes, bytes]],
    names: HeaderNames,
) -> Headers:
    """The end of :func:`_rewrite` when the app wrote a list field: ours are merged into it.

    ``merged`` maps a slot to the position of the app's first such field in ``result`` and the
    values of all of them.
    """
    table = names._table  # noqa: SLF001
    # Fields are lower case: no lower() to try.
    for pair in fields:
        slot = table.get(pair[0])
        if slot in merged:
            merged[slot][1].append(pair[1])
        else:
            result.append(pair)
    # Slots come in the order of their positions: from the last back, so that dropping an
    # empty field moves none still to come.
    for slot, (position, values) in reversed(merged.items()):
        value = _join_tokens(values)
        if value:
            result[position] = (names.names[slot], value)
        else:
            del result[position]
    return result


def add_headers(headers: RawHeaders, fields: Sequence[tuple[bytes, bytes]]) -> Headers:
    """Return a new list: ``headers`` as they came, then ``fields`` (lower-case tuples).

    For names the caller has just looked for and not found; otherwise :func:`with_headers`.
    """
    return [*headers, *fields]


def replace_values(headers: RawHeaders, name: bytes, change: Callable[[bytes], bytes]) -> Headers:
    """Return a new list where each field ``name`` (lower case) has the value ``change(value)``.

    The fields keep their name as sent and their position, as when a validator is weakened in
    place; the other pairs are passed on as they came.
    """
    size = len(name)
    result: Headers = []
    for pair in headers:
        key = pair[0]
        if len(key) == size and (key == name or key.lower() == name):
            result.append((key, change(pair[1])))
        else:
            result.append(pair)
    return result


def set_header(headers: RawHeaders, name: bytes, value: bytes) -> Headers:
    """Return a new list of tuples where ``name`` (lower case) appears once, with ``value``, last.

    For a hot path, :func:`with_headers` does the same and passes the other pairs on as they
    came, without copying each one into a tuple.
    """
    result: Headers = [(key, old) for key, old in headers if key != name and key.lower() != name]
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
    Returns a new list of tuples.
    """
    result: Headers = []
    values: list[bytes] = []
    position = -1
    size = len(name)
    for key, value in headers:
        if len(key) == size and (key == name or key.lower() == name):
            if position < 0:
                position = len(result)
            values.append(value)
        else:
            result.append((key, value))
    values += tokens
    value = _join_tokens(values)
    if not value:
        return result
    if position < 0:
        result.append((name, value))
    else:
        result.insert(position, (name, value))
    return result


def _join_tokens(values: list[bytes]) -> bytes:
    """The values of a list field's fields (and tokens to add) as one value, ``b""`` if empty.

    Tokens are de-duplicated case-insensitively, the first spelling kept, in order.
    """
    if len(values) == 2 and b"," not in values[0] and b"," not in values[1]:  # noqa: PLR2004
        # The usual merge, one token of the app's and one of ours (benchmark row stack-json-16k).
        first = values[0].strip(b" \t")
        second = values[1].strip(b" \t")
        if first and second:
            return first if first.lower() == second.lower() else first + b", " + second
    tokens = split_list(b",".join(values))
    folded = [token.lower() for token in tokens]
    if len(set(folded)) == len(folded):  # The usual case: no token twice, nothing to drop.
        return b", ".join(tokens)
    merged: dict[bytes, bytes] = {}
    for key, token in zip(folded, tokens, strict=True):
        merged.setdefault(key, token)
    return b", ".join(merged.values())
