"""Anchored path matching for options such as ``exclude_paths`` (SPEC §2.9)."""

from __future__ import annotations

from asgi_middleware._kit.config import require_strings
from asgi_middleware._kit.types import Scope

__all__ = ["PathMatcher", "relative_path"]

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
