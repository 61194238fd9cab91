"""Request-ID scenarios: our RequestIDMiddleware next to asgi-correlation-id, same header name."""

from __future__ import annotations

import re
from typing import Any

from asgi_correlation_id import CorrelationIdMiddleware

from asgi_middleware import RequestIDMiddleware
from benchmarks.checks import parse_response
from benchmarks.common import NO_BODY, OK_APP, OK_BODY, http_scope
from benchmarks.model import ASGIApp, Check, Message, Scenario, Scope, Variant

HEADER = "X-Request-ID"
#: A valid incoming ID, as a proxy or client sends it: a UUID4 without hyphens.
INCOMING = "4f6c1e9a0b2d4c8e9f7a6b5c4d3e2f10"
_HEX32 = re.compile(r"[0-9a-f]{32}")


def _fresh_scope(middleware: ASGIApp) -> ASGIApp:
    """Hand ``middleware`` a new scope dict per request, as a server does.

    asgi-correlation-id writes a generated ID into ``scope["headers"]`` of the scope it is
    given; with the harness's shared scope, every request after the first would then arrive
    with an ID and take the echo path. Both rows of the generated scenario get this wrapper, so
    both pay its dict copy and its extra call. The echoed scenario needs no wrapper (the ID is
    already there), so there both run as a server would call them, and the harness's scope check
    reports asgi-correlation-id's in-place edit of ``scope["headers"]``.
    """

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await middleware(dict(scope), receive, send)

    return app


def correlation_id(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in asgi-correlation-id's middleware with its defaults (uuid4().hex IDs)."""
    return CorrelationIdMiddleware(app, header_name=HEADER)


def ours(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in our RequestIDMiddleware with its defaults."""
    return RequestIDMiddleware(app, header_name=HEADER)


def correlation_id_fresh(app: ASGIApp) -> ASGIApp:
    """:func:`correlation_id`, handed a new scope dict per request."""
    return _fresh_scope(correlation_id(app))


def ours_fresh(app: ASGIApp) -> ASGIApp:
    """:func:`ours`, handed a new scope dict per request."""
    return _fresh_scope(ours(app))


def _expect_id(*, echoed: str | None) -> Check:
    """Check the app's body and exactly one request-ID header: fresh 32-hex, or the incoming one."""

    def check(messages: list[Message]) -> None:
        response = parse_response(messages)
        if response.status != 200 or response.body != OK_BODY:
            msg = f"status {response.status} or body changed"
            raise AssertionError(msg)
        found = response.get_all(HEADER)
        if len(found) != 1:
            msg = f"expected one {HEADER} header, got {found!r}"
            raise AssertionError(msg)
        if echoed is not None and found[0] != echoed:
            msg = f"{HEADER} {found[0]!r} is not the incoming {echoed!r}"
            raise AssertionError(msg)
        if echoed is None and not _HEX32.fullmatch(found[0]):
            msg = f"{HEADER} {found[0]!r} is not a generated 32-hex ID"
            raise AssertionError(msg)

    return check


def _bare_check(messages: list[Message]) -> None:
    response = parse_response(messages)
    if response.body != OK_BODY or response.get_all(HEADER):
        msg = "the bare app must answer its body without a request ID"
        raise AssertionError(msg)


GENERATED = _expect_id(echoed=None)
ECHOED = _expect_id(echoed=INCOMING)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="request-id-generated",
        description="GET without a request ID: one is generated, stored and sent back",
        app=OK_APP,
        scope=http_scope("GET", "/api/items", ()),
        request=NO_BODY,
        bare_check=_bare_check,
        reference="asgi-correlation-id",
        variants=(
            Variant("asgi-correlation-id", correlation_id_fresh, GENERATED, "fresh scope each"),
            Variant("asgi-middleware", ours_fresh, GENERATED, "fresh scope each"),
        ),
    ),
    Scenario(
        name="request-id-echoed",
        description="GET with a valid X-Request-ID: validated, stored and echoed",
        app=OK_APP,
        scope=http_scope("GET", "/api/items", ((b"x-request-id", INCOMING.encode()),)),
        request=NO_BODY,
        bare_check=_bare_check,
        reference="asgi-correlation-id",
        variants=(
            Variant("asgi-correlation-id", correlation_id, ECHOED),
            Variant("asgi-middleware", ours, ECHOED),
        ),
    ),
)
