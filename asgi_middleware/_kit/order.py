"""The order our layers belong in (SPEC §9), checked by ``compose`` and by each layer when built.

``ORDER_RULES`` names roles, not classes: a middleware class takes part by setting the class
attribute ``_compose_role`` (for example "cors"), so subclasses are covered and the kit imports no
middleware. ``compose`` checks its list of layers; ``check_position`` checks a layer against the
layers already built inside it, however they were stacked (by hand, by ``compose``, by Starlette's
or Litestar's middleware list), once, when the layer is built: nothing runs per request.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

__all__ = ["ORDER_RULES", "OrderRule", "check_position", "checked_by_compose"]


class OrderRule(NamedTuple):
    """``inner`` belongs inside ``outer``; warn with ``reason`` when it is found outside."""

    outer: str
    inner: str
    reason: str


# The layers that answer a request by themselves, and what they answer. Each belongs inside
# CORS (a browser script reads the answer only with CORS headers), the access log and the metrics
# (the answer is logged, with its request ID, and counted) and the security headers (the answer
# carries them), SPEC §9.
_REFUSALS: tuple[tuple[str, str], ...] = (
    ("trusted_host", "its 400 answers (a bad Host header)"),
    ("body_limit", "its 413 answers"),
    ("timeout", "its 504 answers"),
    ("rate_limit", "its 429 answers"),
)


def _refusal_rules(role: str, answers: str) -> tuple[OrderRule, ...]:
    return (
        OrderRule(
            "cors",
            role,
            f"{answers} would miss CORS headers, so browsers report a CORS error instead",
        ),
        OrderRule("access_log", role, f"{answers} would not be logged"),
        OrderRule("metrics", role, f"{answers} would not be counted"),
        OrderRule("security_headers", role, f"{answers} would leave without the security headers"),
    )


# The ordering mistakes we warn about (SPEC §9). Roles: "proxy_headers", "security_headers",
# "cors", "request_id", "access_log", "trusted_host", "https_redirect", "body_limit", "timeout",
# "rate_limit", "metrics", "timing", "auth", "compression".
ORDER_RULES: tuple[OrderRule, ...] = (
    OrderRule(
        "cors",
        "auth",
        "its 401/403 answers and OPTIONS preflights would miss CORS headers, so browsers "
        "report a CORS error instead of the status",
    ),
    OrderRule(
        "request_id",
        "access_log",
        "the access-log events would be written before a request ID exists, so they lack it",
    ),
    OrderRule(
        "access_log",
        "compression",
        "bytes_sent would count the uncompressed body, not the bytes on the wire",
    ),
    OrderRule(
        "proxy_headers",
        "access_log",
        "the access log would record the proxy's address and scheme, not the client's",
    ),
    OrderRule(
        "proxy_headers",
        "trusted_host",
        "the host check would see the proxy's Host header, not the forwarded host",
    ),
    OrderRule(
        "proxy_headers",
        "https_redirect",
        "requests the proxy received over HTTPS would look like HTTP and be redirected for ever",
    ),
    OrderRule(
        "proxy_headers",
        "security_headers",
        "HSTS would never be sent behind a proxy that terminates TLS: the scheme would still "
        "be http",
    ),
    OrderRule(
        "proxy_headers",
        "metrics",
        "url.scheme would be the proxy's scheme, not the client's",
    ),
    OrderRule(
        "metrics",
        "compression",
        "the response body size would count the uncompressed body, not the bytes on the wire",
    ),
    OrderRule(
        "metrics",
        "auth",
        "its 401 and 403 answers would not be counted",
    ),
    OrderRule(
        "proxy_headers",
        "rate_limit",
        "every client behind the proxy would share the proxy's address, and one bucket",
    ),
    OrderRule(
        "security_headers",
        "https_redirect",
        "its redirects would leave without the security headers",
    ),
    OrderRule(
        "security_headers",
        "auth",
        "its 401 and 403 answers would leave without the security headers",
    ),
    OrderRule(
        "access_log",
        "https_redirect",
        "redirected requests would not be logged",
    ),
    *(rule for role, answers in _REFUSALS for rule in _refusal_rules(role, answers)),
)

#: How many objects ``check_position`` visits below a layer: more than any real stack has.
_MAX_DEPTH = 64

#: The roles of the layers ``compose`` is building: it warns about their order itself.
_COMPOSED: ContextVar[frozenset[str]] = ContextVar(
    "asgi_middleware.order_composed", default=frozenset()
)

# The (outer, inner) pairs already warned about. Process-wide on purpose: a wrong order is a fact
# about the code, and Litestar builds the stack once per route, so the warning is given once. It
# holds at most one entry per rule.
_WARNED: set[tuple[str, str]] = set()


@contextmanager
def checked_by_compose(roles: Iterable[str | None]) -> Iterator[None]:
    """Leave the pairs among ``roles`` to ``compose``'s own warning while it builds its layers."""
    token = _COMPOSED.set(frozenset(role for role in roles if role is not None))
    try:
        yield
    finally:
        _COMPOSED.reset(token)


def check_position(layer: object, app: object) -> None:
    """Warn once per process for each rule broken by ``layer`` being built around ``app``.

    Walks down from ``app`` (see :func:`_below`) and collects the layers with a
    ``_compose_role``. A rule whose ``inner`` role is this layer's and whose ``outer`` role is
    found below is broken: the layer that belongs outside sits inside.
    """
    role = getattr(type(layer), "_compose_role", None)
    composed = _COMPOSED.get()
    below, framework = _below(app)
    for outer, inner, reason in ORDER_RULES:
        pair = (outer, inner)
        if inner != role or outer not in below or pair in _WARNED:
            continue
        if outer in composed and inner in composed:
            continue
        outer_name, listed = below[outer]
        inner_name = type(layer).__qualname__
        fix = _across(outer_name, inner_name) if listed else _fix(framework, outer_name, inner_name)
        msg = (
            f"{inner_name} is built around {outer_name}, so the {inner} layer runs outside the "
            f"{outer} layer: {reason}. {fix}"
        )
        warnings.warn(msg, UserWarning, stacklevel=3)
        # Recorded after the warning: where warnings are errors, every build keeps failing.
        _WARNED.add(pair)


def _below(app: object) -> tuple[dict[str, tuple[str, bool]], str | None]:
    """The roles of our layers below ``app``, and the framework found on the way.

    Each role maps to the class name of the first layer found with it, and whether that layer
    is listed in a framework app object's own middleware list. The walk follows ``.app`` (our
    layers, Starlette's middleware, any wrapper), Channels' ``.inner`` and its routers'
    branches (``ProtocolTypeRouter``'s mapping, ``URLRouter``'s routes), and reads the list of
    a Starlette, FastAPI or Litestar app object (see :func:`_listed`): Starlette builds it on
    its first request, after the layers around the app were built, and Litestar into each
    route's handler. It visits at most
    ``_MAX_DEPTH`` objects and never one twice.
    """
    below: dict[str, tuple[str, bool]] = {}
    framework: str | None = None
    seen: set[int] = set()
    pending: list[object] = [app]
    while pending and len(seen) < _MAX_DEPTH:
        node = pending.pop(0)
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        framework = framework or _framework(node)
        found = getattr(type(node), "_compose_role", None)
        if isinstance(found, str):
            below.setdefault(found, (type(node).__qualname__, False))
        for cls in _listed(node):
            listed = getattr(cls, "_compose_role", None)
            if isinstance(listed, str):
                below.setdefault(listed, (cls.__qualname__, True))
        pending.extend(_children(node))
    return below, framework


def _attribute(node: object, name: str) -> Any:
    try:
        return getattr(node, name, None)
    except Exception:  # A property that fails: no way down there.  # noqa: BLE001
        return None


def _listed(node: object) -> list[type]:
    """The classes in a framework app object's own middleware list.

    Starlette's and FastAPI's ``user_middleware`` (``Middleware(cls, ...)`` entries) and a
    Litestar app's ``middleware`` (``DefineMiddleware(cls, ...)`` entries, or classes).
    """
    entries = _attribute(node, "user_middleware")
    if entries is None and type(node).__module__.startswith("litestar."):
        entries = _attribute(node, "middleware")
    if not isinstance(entries, list):
        return []
    classes = (_entry_class(entry) for entry in entries)
    return [cls for cls in classes if cls is not None]


def _entry_class(entry: object) -> type | None:
    for name in ("cls", "middleware"):  # Starlette's Middleware, Litestar's DefineMiddleware
        value = getattr(entry, name, None)
        if isinstance(value, type):
            return value
    return entry if isinstance(entry, type) else None


def _children(node: object) -> list[object]:
    """The apps below ``node``: its ``.app``, a Channels ``.inner``, a Channels router's apps."""
    children = [_attribute(node, "app"), _attribute(node, "inner")]
    if type(node).__module__.startswith("channels."):
        mapping = _attribute(node, "application_mapping")
        if isinstance(mapping, dict):
            children.extend(mapping.values())
        routes = _attribute(node, "routes")
        if isinstance(routes, list):
            children.extend(_attribute(route, "callback") for route in routes)
    return children


def _framework(node: object) -> str | None:
    """``"starlette"`` or ``"litestar"`` when ``node`` (or a bound method's owner) is theirs."""
    owner = getattr(node, "__self__", node)
    module = type(owner).__module__
    for name, prefixes in (("starlette", ("starlette.", "fastapi.")), ("litestar", ("litestar.",))):
        if module.startswith(prefixes):
            return name
    return None


def _across(outer: str, inner: str) -> str:
    return (
        f"{outer} is in the app's own middleware list, which runs inside every layer wrapped "
        f"around the app object: keep the two on one side, both wrapped around the app with "
        f"compose(app, {outer}, {inner}, ...) or both in the app's list."
    )


def _fix(framework: str | None, outer: str, inner: str) -> str:
    if framework == "starlette":
        return (
            f"With app.add_middleware(), the LAST call is outermost: add {inner} before "
            f"{outer}. With Starlette(middleware=[...]) or FastAPI(middleware=[...]), the FIRST "
            f"item is outermost: list {outer} before {inner}."
        )
    if framework == "litestar":
        return (
            f"In Litestar's middleware list the first item is outermost: list {outer} before "
            f"{inner}."
        )
    return f"Wrap with compose(app, {outer}, {inner}, ...): the first layer is outermost."
