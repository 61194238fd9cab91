"""The route template of a request, read from what the framework's router left in the scope.

Starlette and FastAPI write the matched route object into ``scope["route"]`` and the outermost
router into ``scope["router"]``; Litestar writes ``scope["path_template"]``. They write into the
scope dict *they* were given, after routing. A layer that built a new scope on the way in (most
of ours do, SPEC §2.3) never sees those keys in its own dict, so :func:`capture_route` sits
directly around the framework's app and copies them into ``scope["state"]``, the one dict every
layer shares.

A Starlette route knows only its own path: a route inside ``Mount("/api", ...)`` says
``/items/{id}``, and FastAPI 0.116+ keeps a router's prefix outside the routes it includes.
:class:`RouteTemplates` finds the full template once per route object by walking the routing
tree from the outermost router, and keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any

from asgi_middleware._kit.paths import relative_path
from asgi_middleware._kit.types import ASGIApp, Receive, Scope, Send

__all__ = ["ROUTING_KEY", "RouteTemplates", "capture_route", "routing_view"]

#: The ``scope["state"]`` key under which :func:`capture_route` leaves what the router wrote.
ROUTING_KEY = "asgi_middleware.metrics.routing"

_HANDLED = frozenset({"http", "websocket"})
# What the routers leave in the scope, and what locating a mount's part of the path needs.
_ROUTING_KEYS = ("route", "router", "path_template", "litestar_app", "root_path", "app_root_path")
# Starlette's path parameters, "{name}" or "{name:convertor}", and the convertors' patterns.
_PARAMETER = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z_][a-zA-Z0-9_]*))?}")
_CONVERTORS = {
    "str": "[^/]+",
    "path": ".*",
    "int": "[0-9]+",
    "float": r"[0-9]+(?:\.[0-9]+)?",
    "uuid": "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
}
# Templates kept per middleware: one per route object, which an app creates at start-up. An app
# that makes route objects per request gets its templates found again, never a growing cache.
_CACHE_LIMIT = 4096
# How deep mounts may nest before the walk gives up (a mount of itself would never end).
_DEPTH_LIMIT = 32


def routing_view(scope: Scope) -> dict[str, Any]:
    """Return the routing keys of ``scope``: what a router wrote, and the mount's root path."""
    return {key: scope[key] for key in _ROUTING_KEYS if key in scope}


def capture_route(app: ASGIApp) -> ASGIApp:
    """Wrap a framework's app so that an outer ``MetricsMiddleware`` can read its route.

    Starlette, FastAPI and Litestar write the matched route into the scope they were given.
    Every layer of this package that changes the scope passes a new dict inward, so the metrics
    layer, outside them, would never see it. Put this wrapper directly around the framework's
    app, innermost: it passes the same scope dict to the app and, when the app returns or
    raises, copies the router's keys into ``scope["state"]``, which every layer shares
    (SPEC §2.3). `lifespan` and other scope types pass through untouched, and so does a scope
    without ``state`` (``MetricsMiddleware`` gives every request one).

    Args:
        app: The framework's ASGI application.

    Returns:
        The wrapped application.

    Example:
        ```python
        app = compose(
            capture_route(fastapi_app),
            Layer(MetricsMiddleware, exporters=PrometheusExporter()),
            RequestIDMiddleware,
            AuthenticationMiddleware,
        )
        ```

    Added in version 0.1.0.
    """
    return _RouteCapture(app)


class _RouteCapture:
    """The wrapper :func:`capture_route` returns."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        state = scope.get("state")
        if scope["type"] not in _HANDLED or state is None:
            return self.app(scope, receive, send)
        return self._capture(scope, receive, send, state)

    async def _capture(
        self, scope: Scope, receive: Receive, send: Send, state: dict[str, Any]
    ) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            state[ROUTING_KEY] = routing_view(scope)


class RouteTemplates:
    """Route templates of Starlette, FastAPI and Litestar routing results, kept per route."""

    __slots__ = ("_found",)

    def __init__(self) -> None:
        # id(route) -> (route, its templates with the pattern telling them apart when several).
        self._found: dict[int, tuple[object, tuple[tuple[str, re.Pattern[str]], ...]]] = {}

    def template(self, view: Mapping[str, Any], method: str | None, scope: Scope) -> str | None:
        """Return the route template of a routed request, or ``None`` if no route matched.

        ``view`` is the scope the framework routed (or what :func:`capture_route` kept of it),
        ``method`` the request's method (``None`` for a WebSocket), ``scope`` the scope the
        metrics layer was given, whose path tells apart a route mounted at several places.
        """
        template = view.get("path_template")
        if isinstance(template, str):  # Litestar: the full template, mounts included
            return template
        route = view.get("route")
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            return None
        # A partial match (the path matched, the method did not: 405) matched no route, and a
        # mount whose own router found nothing (404) is no route either.
        methods = getattr(route, "methods", None)
        if (method is not None and methods and method not in methods) or getattr(
            route, "routes", None
        ):
            return None
        entry = self._found.get(id(route))
        if entry is None or entry[0] is not route:
            entry = (route, _templates(view.get("router"), route))
            if len(self._found) < _CACHE_LIMIT:
                self._found[id(route)] = entry
        candidates = entry[1]
        if len(candidates) == 1:
            return candidates[0][0]
        if candidates:  # one route object under several prefixes: the request's path decides
            relative = relative_path(scope)
            for template, pattern in candidates:
                if pattern.fullmatch(relative):
                    return template
        return _mount_prefix(view) + path


def _mount_prefix(view: Mapping[str, Any]) -> str:
    """The part of the root path that mounts added (their values, not their templates)."""
    root: str = view.get("root_path", "")
    top = view.get("app_root_path")
    return root[len(top) :] if isinstance(top, str) and root.startswith(top) else ""


def _templates(router: object, route: object) -> tuple[tuple[str, re.Pattern[str]], ...]:
    found: list[str] = []
    try:
        _search(getattr(router, "routes", ()), route, "", found, 0)
    # A route list is the app's code; whatever it raises, the template falls back to the path.
    except Exception:  # noqa: BLE001
        found = []
    unique = list(dict.fromkeys(found))
    return tuple((template, _pattern(template)) for template in unique)


def _search(
    routes: Iterable[object], target: object, prefix: str, found: list[str], depth: int
) -> None:
    if depth > _DEPTH_LIMIT:
        return
    for node in routes:
        contexts = getattr(node, "effective_route_contexts", None)
        if callable(contexts):  # FastAPI 0.116+: an included router, its prefix in each context
            for context in contexts():
                copy = getattr(context, "starlette_route", None)
                if getattr(context, "original_route", None) is target or copy is target:
                    path = getattr(copy, "path", None) or getattr(context, "path", "")
                    found.append(prefix + (path if isinstance(path, str) else ""))
                elif copy is not None:
                    _descend(copy, target, prefix, found, depth)
        elif node is target:
            path = getattr(node, "path", "")
            found.append(prefix + (path if isinstance(path, str) else ""))
        else:
            _descend(node, target, prefix, found, depth)


def _descend(node: object, target: object, prefix: str, found: list[str], depth: int) -> None:
    """Search below a mount or host: its routes, under its own path."""
    routes = getattr(node, "routes", None)
    if routes:
        path = getattr(node, "path", "")
        _search(routes, target, prefix + (path if isinstance(path, str) else ""), found, depth + 1)


def _pattern(template: str) -> re.Pattern[str]:
    """The paths a Starlette template matches: ``/items/{id:int}`` matches ``/items/42``."""
    parts: list[str] = []
    end = 0
    for match in _PARAMETER.finditer(template):
        parts.append(re.escape(template[end : match.start()]))
        parts.append(f"(?:{_CONVERTORS.get(match.group(2) or 'str', '[^/]+')})")
        end = match.end()
    parts.append(re.escape(template[end:]))
    # A mount's path matches everything below it, as the mount does.
    return re.compile("".join(parts) + "(?:/.*)?")
