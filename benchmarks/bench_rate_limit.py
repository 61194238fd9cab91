"""Rate-limit scenario: an admitted request, in memory; ours next to slowapi, Litestar and a floor.

Every row limits the client ``203.0.113.7`` to the same quota, 6,000,000 a minute (100,000 a
second, our largest rate: the harness sends a few hundred thousand requests, all admitted), in
this process's memory, and sends its rate-limit headers.

* ``slowapi``: ``SlowAPIASGIMiddleware`` with a ``Limiter`` default limit (``limits``' memory
  storage, fixed window), headers on. It reads the Starlette app from ``scope["app"]`` to find
  the limiter and the route, so the scenario's scope carries a small Starlette app with the one
  route (the benchmark's app still answers).
* ``litestar``: Litestar's ``RateLimitMiddleware`` hosted directly, its app in
  ``scope["litestar_app"]`` for the store and ``scope["route_handler"]``, as Litestar's router
  leaves them. It keeps every key's request times in a list, JSON-encoded into its store on each
  request, so its cost grows with the requests a key made in the window (four hundred thousand
  here); the row keys each request afresh, its cheapest path, which flatters it.
* ``asgi-middleware``: ours, one GCRA policy, the default ``MemoryStore`` and key.
* ``asgi-middleware-new-keys``: ours keyed afresh on every request, as the Litestar row is: a new
  key's insert, and the eviction of the oldest once the store holds 100,000.
* ``floor``: the least any in-memory GCRA limiter with these headers can do, written by hand
  (one dict of TATs, the two fields): what is left for ours to remove.
"""

from __future__ import annotations

import itertools
import math
import re
import time
from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.middleware.rate_limit import RateLimitMiddleware as LitestarRateLimitMiddleware
from slowapi import Limiter
from slowapi.middleware import SlowAPIASGIMiddleware
from slowapi.util import get_remote_address
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from asgi_middleware.rate_limit import RateLimit, RateLimitMiddleware
from benchmarks.checks import expect, parse_response
from benchmarks.common import NO_BODY, OK_APP, OK_BODY, http_scope
from benchmarks.model import ASGIApp, Check, Message, Scenario, Scope, Variant

QUOTA = 6_000_000
WINDOW = 60
PATH = "/api/items"
POLICY = b'"api";q=%d;w=%d' % (QUOTA, WINDOW)
LIMIT = re.compile(r'"api";r=\d+;t=\d+')


async def _items(request: Request) -> Response:  # slowapi only reads its name
    return Response()


class _Shared:
    """Kept as it is when the harness deep-copies the scope, as a server shares its app."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self


class _StarletteApp(_Shared, Starlette):
    """The Starlette app in the scope."""


class _LitestarApp(_Shared, Litestar):
    """The Litestar app in the scope."""


def _starlette_app() -> Starlette:
    """The Starlette app slowapi finds in the scope: its limiter and the route it limits."""
    app = _StarletteApp(routes=[Route(PATH, _items)])
    app.state.limiter = Limiter(
        key_func=get_remote_address, default_limits=[f"{QUOTA}/minute"], headers_enabled=True
    )
    return app


class _Handler(_Shared, HTTPRouteHandler):
    """The Litestar route handler in the scope."""


@_Handler(PATH, http_method="GET", sync_to_thread=False)
def _handler() -> None:  # Litestar's middleware only reads the handler
    return None


_LITESTAR = _LitestarApp(route_handlers=[_handler])


def slowapi(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in slowapi's ASGI middleware; its limits come from the scope's app."""
    return SlowAPIASGIMiddleware(app)


def litestar(app: ASGIApp) -> ASGIApp:
    """Litestar's RateLimitMiddleware, keyed afresh on every request (see the module)."""
    counter = itertools.count()
    config = RateLimitConfig(
        rate_limit=("minute", QUOTA), identifier_for_request=lambda _: f"c{next(counter)}"
    )
    return LitestarRateLimitMiddleware(app, config)


def ours(app: ASGIApp) -> ASGIApp:
    """Our middleware: one GCRA policy, the default memory store and client-address key."""
    return RateLimitMiddleware(app, limits=[RateLimit("api", QUOTA, WINDOW)])


def ours_new_keys(app: ASGIApp) -> ASGIApp:
    """Ours keyed afresh on every request, as the Litestar row is."""
    counter = itertools.count()
    return RateLimitMiddleware(
        app, limits=[RateLimit("api", QUOTA, WINDOW)], key=lambda _: f"c{next(counter)}"
    )


class FloorRateLimit:
    """The floor: an in-memory GCRA for one policy, one dict of TATs, the two header fields.

    No options, no validation, no key hashing, no eviction (its dict grows with the keys), no
    refusal path worth the name: not usable middleware, the least one can be.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.interval = WINDOW / QUOTA
        self.span = QUOTA * self.interval
        self.tats: dict[str, float] = {}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Admit the request (the quota is never reached) and add the two fields."""
        key = scope["client"][0]
        now = time.monotonic()
        tat = self.tats.get(key, now)
        tat = (tat if tat > now else now) + self.interval
        if tat - now > self.span:  # never at this quota
            await send({"type": "http.response.start", "status": 429, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        self.tats[key] = tat
        remaining = int((self.span - (tat - now)) / self.interval)
        fields = [
            (b"ratelimit-policy", POLICY),
            (b"ratelimit", b'"api";r=%d;t=%d' % (remaining, math.ceil(tat - now))),
        ]

        def send_wrapper(message: Message) -> Any:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], *fields]}
            return send(message)

        await self.app(scope, receive, send_wrapper)


def fields_check(messages: list[Message]) -> None:
    """Ours and the floors: 200, the app's body, the policy field and one RateLimit item.

    bench_rate_limit_redis checks its rows with it too.
    """
    response = parse_response(messages)
    policy = response.get_all("ratelimit-policy")
    limit = response.get_all("ratelimit")
    if response.status != 200 or response.body != OK_BODY:
        msg = f"expected the app's 200, got {response.status} {response.body!r}"
        raise AssertionError(msg)
    if policy != [POLICY.decode()] or len(limit) != 1 or not LIMIT.fullmatch(limit[0]):
        msg = f"expected the rate-limit fields, got {policy!r} and {limit!r}"
        raise AssertionError(msg)


def _peer_check(header: str) -> Check:
    """A peer: the app's 200 and body, and its remaining-requests header once."""
    answered = expect(body=OK_BODY)

    def check(messages: list[Message]) -> None:
        answered(messages)
        if len(parse_response(messages).get_all(header)) != 1:
            msg = f"expected the peer's {header} header once"
            raise AssertionError(msg)

    return check


def _scope() -> Scope:
    """A GET from 203.0.113.7, carrying the apps the peers read from the scope."""
    scope = http_scope("GET", PATH, ())
    scope["app"] = _starlette_app()
    scope["litestar_app"] = _LITESTAR
    scope["route_handler"] = _handler
    return scope


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="rate-limit-memory",
        description="GET admitted by an in-memory limit of 6,000,000 a minute, with its headers",
        app=OK_APP,
        scope=_scope(),
        request=NO_BODY,
        bare_check=expect(body=OK_BODY, absent=("ratelimit", "x-ratelimit-limit")),
        reference="slowapi",
        variants=(
            Variant("slowapi", slowapi, _peer_check("x-ratelimit-remaining"), "limits, memory"),
            Variant(
                "litestar",
                litestar,
                _peer_check("ratelimit-remaining"),
                "a new key per request",
            ),
            Variant("asgi-middleware", ours, fields_check, "GCRA, MemoryStore"),
            Variant(
                "asgi-middleware-new-keys",
                ours_new_keys,
                fields_check,
                "a new key per request",
            ),
            Variant("floor", FloorRateLimit, fields_check, "hand-written GCRA, one dict"),
        ),
        # slowapi and Litestar build a Request that writes scope["state"].
        fresh_scope=True,
    ),
)
