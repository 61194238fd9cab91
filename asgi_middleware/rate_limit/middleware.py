"""Rate limiting per key, in this process or shared through a store (SPEC §14)."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

from asgi_middleware._kit.config import (
    is_async_callable,
    option_error,
    require_bool,
    require_sync_callable,
)
from asgi_middleware._kit.headers import HeaderNames, add_headers, with_headers
from asgi_middleware._kit.order import check_position
from asgi_middleware._kit.paths import PathMatcher
from asgi_middleware._kit.responses import content_headers, deny_websocket, respond
from asgi_middleware._kit.types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware.rate_limit._deadline import within
from asgi_middleware.rate_limit._headers import (
    legacy_fields,
    policy_item,
    retry_after,
    service_items,
)
from asgi_middleware.rate_limit.keys import CLIENT_ADDRESS, KeyFunction, checked
from asgi_middleware.rate_limit.policies import Decision, RateLimit
from asgi_middleware.rate_limit.stores import MemoryStore, Store

__all__ = ["RateLimitMiddleware"]

_logger = logging.getLogger("asgi_middleware.rate_limit")
_HANDLED = frozenset({"http", "websocket"})
# The messages that open a response: the RateLimit fields go on each.
_RESPONSE_STARTS = frozenset(
    {"http.response.start", "websocket.accept", "websocket.http.response.start"}
)
_LEGACY = HeaderNames(b"x-ratelimit-limit", b"x-ratelimit-remaining", b"x-ratelimit-reset")
_JSON = b"application/json"
_TOO_MANY = "Too many requests"
_UNAVAILABLE = b'{"detail":"Rate limit unavailable"}'
# A 503 says when to come back; the store's recovery time is unknown, so soon.
_UNAVAILABLE_RETRY = b"1"


def _require_limits(value: object) -> tuple[RateLimit, ...]:
    if isinstance(value, (str, bytes, RateLimit)) or not isinstance(value, (list, tuple)):
        hint = "; wrap a single policy in a list: limits=[RateLimit(...)]"
        raise option_error(TypeError, "limits", "a list or tuple of RateLimit", value, hint)
    for index, item in enumerate(value):
        if not isinstance(item, RateLimit):
            raise option_error(TypeError, f"limits[{index}]", "a RateLimit", item)
    if not value:
        raise option_error(ValueError, "limits", "a non-empty list of RateLimit", value)
    names = [policy.name for policy in value]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        hint = f"; {repeated!r} names more than one: a name identifies a policy's state"
        raise option_error(ValueError, "limits", "policies with distinct names", value, hint)
    return tuple(value)


def _require_store(value: object) -> Store:
    acquire = getattr(value, "acquire", None)
    if not callable(acquire):
        rule = "a rate-limit Store (with an async acquire method) or None"
        raise option_error(TypeError, "store", rule, value)
    # The middleware awaits what acquire returns: a plain method would fail every call, and
    # with on_store_error="open" nothing would ever be limited.
    if not is_async_callable(acquire):
        rule = "a Store whose acquire is async"
        hint = "; make acquire an `async def` method: the middleware awaits it on every request"
        raise option_error(TypeError, "store", rule, value, hint)
    return value  # type: ignore[return-value]  # acquire checked above


def _require_timeout(value: object) -> float:
    rule = "a positive, finite number of seconds"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise option_error(TypeError, "store_timeout", rule, value)
    if not (math.isfinite(value) and value > 0):
        raise option_error(ValueError, "store_timeout", rule, value)
    return float(value)


class RateLimitMiddleware:
    """Limit how often each client may call the app: ``429`` with ``Retry-After`` past the limit.

    For `http` and `websocket` scopes, the policies in ``limits`` that apply to the request
    (their ``methods`` and ``paths``) are checked for its key, ``key(scope)``, in one atomic
    step of the ``store``: when every one admits the request it goes on and each consumes;
    when one refuses, none consumes and the request gets a complete ``429`` with
    ``Retry-After`` (the seconds until it would be admitted, rounded up), a small JSON body and
    the rate-limit fields. A refused WebSocket handshake gets that response through the denial
    extension when the server offers it, else a close with code 1008. An admitted response
    carries the fields of draft-ietf-httpapi-ratelimit-headers-11, one item per policy::

        RateLimit-Policy: "per-minute";q=100;w=60
        RateLimit: "per-minute";r=42;t=17

    ``r`` is what is left, ``t`` the seconds until the quota is full again (a delay, never a
    timestamp); all of it comes from the same atomic step as the decision. The fields are
    added after the app's own, which are kept (a list field may be split over several fields).
    `lifespan` and other scope types pass through, as do requests on ``exempt_paths``, requests
    no policy applies to and requests whose key is ``None``.

    Args:
        app: The ASGI application to wrap.
        limits: The policies, [`RateLimit`][asgi_middleware.rate_limit.RateLimit] values
            with distinct names; several may apply to one request (say per second and per
            day), and a request must pass them all.
        key: Which bucket a request counts against: a plain function ``(scope) -> str | None``
            (``None`` exempts the request) or one of the built-ins in ``keys``: the client
            address (the default, IPv6 grouped by /64), the authenticated user, an API key,
            the route. A key with characters a store key may not hold is hashed.
        store: Where the state lives: a new [`MemoryStore`][asgi_middleware.rate_limit.MemoryStore]
            (the default: this process only) or any store with the
            [`Store`][asgi_middleware.rate_limit.Store] interface (a shared one such as Redis
            makes the limit hold across workers and hosts).
        exempt_paths: Paths never limited (health checks), anchored: ``"/health"`` exactly,
            ``"/static/*"`` for ``/static`` and below; relative to ``root_path``.
        headers: Whether responses carry ``RateLimit-Policy`` and ``RateLimit``.
        legacy_headers: Also send ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` (a
            delay in seconds) for the most restrictive policy, for clients that read only
            those. They replace any the app set.
        on_store_error: What happens when the store fails or does not answer within
            ``store_timeout``: ``"open"`` (the default) lets the request through unlimited
            and without rate-limit fields; ``"closed"`` answers ``503`` with
            ``Retry-After: 1``. Either way a warning is logged once per outage (with the
            error) and once when the store answers again; never a 500.
        store_timeout: The longest wait for the store, in seconds. A ``MemoryStore`` answers
            without waiting and is never timed.
        on_error_callback: Called as ``on_error_callback(error)`` on every store failure (a
            plain function: count it in your metrics); an exception it raises is logged.

    Security:
        Key on the client only as a trusted proxy reported it: put
        [`ProxyHeadersMiddleware`][asgi_middleware.ProxyHeadersMiddleware] outside this layer.
        The left-most ``X-Forwarded-For`` entry is whatever the client wrote, so a limiter
        keyed on it is one header away from a fresh bucket per request. A request without a
        client address is exempt rather than put in one bucket shared by every such request.
        Each worker process has its own ``MemoryStore``: with four workers, four times the
        limit. ``"open"`` keeps the service up when the store is down, at the price of no
        limit until it is back; choose ``"closed"`` where the limit protects something that
        must not be overrun.

    Example:
        ```python
        app = RateLimitMiddleware(
            app, limits=[RateLimit("per-second", 10, 1), RateLimit("per-day", 10_000, 86_400)]
        )
        ```

    Added in version 0.1.0.
    """

    __slots__ = (
        "_callback",
        "_closed",
        "_direct",
        "_entries",
        "_every",
        "_exempt",
        "_headers",
        "_key",
        "_legacy",
        "_outage",
        "_store",
        "_timeout",
        "app",
    )
    _compose_role = "rate_limit"

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: Sequence[RateLimit],
        key: KeyFunction = CLIENT_ADDRESS,
        store: Store | None = None,
        exempt_paths: Sequence[str] = (),
        headers: bool = True,
        legacy_headers: bool = False,
        on_store_error: Literal["open", "closed"] = "open",
        store_timeout: float = 0.25,
        on_error_callback: Callable[[Exception], object] | None = None,
    ) -> None:
        self.app = app
        check_position(self, app)
        policies = _require_limits(limits)
        self._key = checked("key", key)
        store = MemoryStore() if store is None else _require_store(store)
        self._store = store
        # The one fast path (benchmark row rate-limit-memory): a MemoryStore never waits, so its
        # decision is a plain call, without an await or a deadline. Only the class itself: a
        # subclass may override acquire.
        self._direct = store.decide if type(store) is MemoryStore else None
        exempt = PathMatcher("exempt_paths", exempt_paths)
        self._exempt = exempt if exempt else None
        self._headers = require_bool("headers", headers)
        self._legacy = require_bool("legacy_headers", legacy_headers)
        if not isinstance(on_store_error, str):
            raise option_error(TypeError, "on_store_error", "a str", on_store_error)
        if on_store_error not in ("open", "closed"):
            raise option_error(ValueError, "on_store_error", "'open' or 'closed'", on_store_error)
        self._closed = on_store_error == "closed"
        self._timeout = _require_timeout(store_timeout)
        self._callback = (
            None
            if on_error_callback is None
            else require_sync_callable("on_error_callback", on_error_callback)
        )
        self._outage = False
        # Per policy: the policy, its quoted name for RateLimit, its RateLimit-Policy item.
        self._entries = tuple(
            (policy, b'"%s"' % policy.name.encode("ascii"), policy_item(policy))
            for policy in policies
        )
        # When every policy applies everywhere, what a request needs is known now.
        self._every = None
        if all(policy.methods is None and policy.paths is None for policy in policies):
            self._every = self._prepared(self._entries)

    @staticmethod
    def _prepared(
        entries: Sequence[tuple[RateLimit, bytes, bytes]],
    ) -> tuple[tuple[RateLimit, ...], tuple[bytes, ...], bytes]:
        """The policies of ``entries``, their quoted names and the ``RateLimit-Policy`` value."""
        return (
            tuple(entry[0] for entry in entries),
            tuple(entry[1] for entry in entries),
            b", ".join(entry[2] for entry in entries),
        )

    def _select(
        self, scope: Scope
    ) -> tuple[str, tuple[RateLimit, ...], tuple[bytes, ...], bytes] | None:
        """The request's key, its policies, their quoted names and RateLimit-Policy value.

        ``None`` when the request is not limited: an exempt path, no policy, no key.
        """
        if self._exempt is not None and self._exempt.matches(scope):
            return None
        selected = self._every
        if selected is None:
            applying = [entry for entry in self._entries if entry[0].applies(scope)]
            if not applying:
                return None
            selected = self._prepared(applying)
        key = self._key(scope)
        return None if key is None else (key, *selected)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        selected = self._select(scope) if scope["type"] in _HANDLED else None
        if selected is None:
            await self.app(scope, receive, send)
            return
        key, limits, names, policy_value = selected
        decisions: Sequence[Decision] | None = None
        try:
            if self._direct is not None:
                decisions = self._direct(key, limits)
            else:
                decisions = await within(self._store.acquire(key, limits), self._timeout)
        except Exception as error:  # noqa: BLE001 - any store failure is an outage (SPEC §14)
            self._failed(error)
        if decisions is None:  # the store failed: open or closed
            if self._closed:
                await self._refuse(scope, send, 503, [(b"retry-after", _UNAVAILABLE_RETRY)])
            else:
                await self.app(scope, receive, send)
            return
        if self._outage:
            self._recovered()
        fields = (
            [(b"ratelimit-policy", policy_value), (b"ratelimit", service_items(names, decisions))]
            if self._headers
            else []
        )
        legacy = legacy_fields(limits, decisions) if self._legacy else None
        for decision in decisions:
            if not decision.allowed:
                seconds = b"%d" % retry_after(decisions)
                extra = [(b"retry-after", seconds), *fields, *(legacy or ())]
                await self._refuse(scope, send, 429, extra, seconds)
                return
        if not fields and legacy is None:
            await self.app(scope, receive, send)
            return

        # A plain function returning send's awaitable, as in RequestIDMiddleware: no coroutine
        # per message.
        def send_wrapper(message: Message) -> Awaitable[None]:
            if message["type"] in _RESPONSE_STARTS:
                headers = message.get("headers", ())
                if legacy is not None:
                    headers = with_headers(headers, legacy, _LEGACY)
                message = {**message, "headers": add_headers(headers, fields)}
            return send(message)

        await self.app(scope, receive, send_wrapper)

    def _recovered(self) -> None:
        """Log the first answer after an outage."""
        self._outage = False
        _logger.warning(
            "the rate-limit store (%s) answers again: requests are limited again",
            type(self._store).__name__,
        )

    def _failed(self, error: Exception) -> None:
        """Log the first failure of an outage and tell the callback about every one."""
        if not self._outage:
            self._outage = True
            _logger.warning(
                "the rate-limit store (%s) failed: %s: %s; %s until it answers again",
                type(self._store).__name__,
                type(error).__name__,
                error,
                "requests get 503" if self._closed else "requests pass without a limit",
            )
        if self._callback is not None:
            try:
                self._callback(error)
            except Exception:  # a broken metrics hook must not fail requests: logged
                _logger.exception("on_error_callback raised")

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        status: int,
        fields: list[tuple[bytes, bytes]],
        seconds: bytes | None = None,
    ) -> None:
        """Answer ``status`` (429 or 503) with a JSON body and ``fields``, HTTP or WebSocket."""
        if seconds is None:
            body = _UNAVAILABLE
            reason = "Rate limit unavailable"
        else:
            body = b'{"detail":"%s","retry_after":%s}' % (_TOO_MANY.encode("ascii"), seconds)
            reason = _TOO_MANY
        headers = content_headers(body, _JSON) + fields
        if scope["type"] == "http":
            await respond(send, status, headers, body)
        else:
            await deny_websocket(scope, send, status, headers, body, reason=reason)
