"""Anchored path patterns (SPEC §2.9): sets of them, and options mapping them to values.

``PathMatcher`` answers "does any pattern match" (``exclude_paths``); ``PathTable`` answers "which
value applies here" (``path_limits``, ``path_timeouts``, ``path_overrides``), always by one rule:
the most specific matching pattern wins, whatever the order of the mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from asgi_middleware._kit.config import option_error, require_strings
from asgi_middleware._kit.types import Scope

__all__ = ["PathMatcher", "PathTable", "relative_path"]

_V = TypeVar("_V")

_URL_DELIMITERS = frozenset("?#")


def relative_path(scope: Scope) -> str:
    """Return ``scope["path"]`` relative to ``scope["root_path"]``.

    Servers and frameworks include the mount point in ``path`` (ASGI spec, ``root_path``); a path
    that does not start with the root path on a segment boundary is returned unchanged. The URL is
    never rebuilt from the ``Host`` header, which the client controls.
    """
    path: str = scope.get("path", "") or "/"
    # A root path should not end in "/", but "/api/" must still strip "/api" from "/api/x".
    root: str = scope.get("root_path", "").rstrip("/")
    if root and path.startswith(root):
        rest = path[len(root) :]
        if not rest:
            return "/"
        if rest[0] == "/":
            return rest
    return path


def _require_pattern(option: str, pattern: str) -> str:
    rule = (
        'a path starting with "/", optionally ending in "/*" for a prefix, with no other "*", '
        "no query, fragment, whitespace or control characters"
    )
    body = pattern[:-2] if pattern.endswith("/*") else pattern
    if (
        not pattern.startswith("/")
        or "*" in body
        or _URL_DELIMITERS.intersection(pattern)
        or not pattern.isprintable()  # control characters and every kind of whitespace but " "
        or " " in pattern
    ):
        msg = f"{option} must be {rule}, got {pattern!r}"
        raise ValueError(msg)
    return pattern


class PathMatcher:
    """Exact and prefix path patterns, anchored at the start of the path.

    ``"/health"`` matches that path only (not ``/healthz``, not ``/health/x``); ``"/static/*"``
    matches ``/static`` and everything below ``/static/`` (not ``/static-admin``); ``"/*"`` matches
    every path. Paths are taken relative to ``root_path`` (:func:`relative_path`).
    """

    __slots__ = ("_exact", "_patterns", "_prefixes")

    def __init__(self, option: str, patterns: object) -> None:
        exact: set[str] = set()
        prefixes: list[str] = []
        self._patterns = require_strings(option, patterns, _require_pattern)
        for pattern in self._patterns:
            if pattern.endswith("/*"):
                # "/static/*" -> the prefix "/static/" plus the directory itself, "/static".
                prefixes.append(pattern[:-1])
                exact.add(pattern[:-2] or "/")
            else:
                exact.add(pattern)
        self._exact = frozenset(exact)
        self._prefixes = tuple(prefixes)

    def __bool__(self) -> bool:
        """Whether any pattern is configured, so callers can skip matching altogether."""
        return bool(self._exact)

    def __repr__(self) -> str:
        return f"PathMatcher({list(self._patterns)!r})"

    def matches(self, scope: Scope) -> bool:
        """Whether the request's path (relative to ``root_path``) matches a pattern."""
        path = relative_path(scope)
        return path in self._exact or path.startswith(self._prefixes)


def _specificity(pattern: str) -> tuple[bool, int, str]:
    """Sort key, most specific first: exact patterns, then prefixes from the longest."""
    # The pattern itself only orders ties (which never match the same path), so that
    # ``items()`` and ``repr`` do not depend on the mapping's order either.
    return pattern.endswith("/*"), -len(pattern), pattern


class PathTable(Generic[_V]):
    """Anchored path patterns mapped to values: the most specific matching pattern wins.

    The patterns are :class:`PathMatcher`'s (``"/x"``, ``"/x/*"``, ``"/*"``). For a path, an
    exact pattern wins over every prefix, and a longer prefix over a shorter one, whatever the
    order of the mapping (nginx's ``location`` prefixes, routing by the longest match): no entry
    can hide another, so there is no order to get wrong and nothing to refuse.

    Built from ``(option, mapping, check)``: ``mapping`` must be a ``Mapping``; its patterns are
    checked as ``PathMatcher`` checks them (named ``option[index]``), then each value goes
    through ``check(f"{option}[{pattern!r}]", value)``, a ``require_<rule>`` validator whose
    result is what the table holds. ``values`` describes the values for the message refusing a
    mapping of the wrong type: ``"<option> must be a mapping of path pattern to <values>"``.
    """

    __slots__ = ("_entries", "_exact", "_prefixes")

    def __init__(
        self, option: str, mapping: object, check: Callable[[str, Any], _V], *, values: str
    ) -> None:
        if not isinstance(mapping, Mapping):
            raise option_error(TypeError, option, f"a mapping of path pattern to {values}", mapping)
        patterns = require_strings(option, list(mapping), _require_pattern)
        entries = [
            (pattern, check(f"{option}[{pattern!r}]", mapping[pattern])) for pattern in patterns
        ]
        entries.sort(key=lambda entry: _specificity(entry[0]))
        exact: dict[str, _V] = {}
        prefixes: list[tuple[str, _V]] = []
        for pattern, value in entries:
            if pattern.endswith("/*"):
                prefixes.append((pattern[:-1], value))
                # "/static/*" also matches "/static" itself; an exact "/static" (sorted before it)
                # or a longer prefix with the same directory ("//*" beside "/*") keeps it.
                exact.setdefault(pattern[:-2] or "/", value)
            else:
                exact[pattern] = value
        self._entries = tuple(entries)
        self._exact = exact
        self._prefixes = tuple(prefixes)  # longest first, so the first match is the most specific

    def __bool__(self) -> bool:
        """Whether any pattern is configured, so callers can skip the lookup altogether."""
        return bool(self._entries)

    def __repr__(self) -> str:
        return f"PathTable({dict(self._entries)!r})"

    def items(self) -> tuple[tuple[str, _V], ...]:
        """The ``(pattern, value)`` pairs, most specific pattern first."""
        return self._entries

    def lookup(self, scope: Scope, default: _V) -> _V:
        """Return the value of the most specific pattern matching the path, else ``default``.

        The path is taken relative to ``root_path`` (:func:`relative_path`). A path a pattern
        names (or the directory of a prefix, ``/static`` for ``/static/*``) is found in a
        dictionary; any other is tried against the prefixes, the longest first.
        """
        path = relative_path(scope)
        exact = self._exact
        if path in exact:
            return exact[path]
        for prefix, value in self._prefixes:
            if path.startswith(prefix):
                return value
        return default
