"""The middleware the conformance suite runs against (SPEC §10).

Every middleware adds one :class:`Case` here when it lands, configured so that it actually does its
work on the suite's requests (for example CORS with the suite's ``Origin`` allowed), so the checks
exercise its transforming path and not only its pass-through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from unittest import mock

from asgi_middleware import (
    AccessLogMiddleware,
    ASGIApp,
    AuthenticationMiddleware,
    BearerTokenBackend,
    CompressionMiddleware,
    CORSMiddleware,
    GZipMiddleware,
    Layer,
    Receive,
    RequestIDMiddleware,
    Scope,
    Send,
    TimingMiddleware,
    compose,
)
from asgi_middleware._kit import tracker
from tests.conformance.reference import ReferenceMiddleware

#: Request headers every conformance request carries, in mixed case as clients send them.
SUITE_REQUEST_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"Host", b"api.example"),
    (b"Origin", b"https://app.example"),
    (b"Accept-Encoding", b"gzip, br, zstd"),
    (b"X-Request-ID", b"0f2d6c1a9b8e4d7c"),
    (b"User-Agent", b"conformance/1"),
)


def frozen_clock(app: ASGIApp) -> ASGIApp:
    """Serve ``app`` with the response tracker's clock frozen at 0, so durations repeat exactly.

    The timing middleware has no clock option: it reads the tracker's ``perf_counter_ns``.
    """

    async def frozen(scope: Scope, receive: Receive, send: Send) -> None:
        with mock.patch.object(tracker, "perf_counter_ns", int):
            await app(scope, receive, send)

    return frozen


@dataclass(frozen=True)
class Case:
    """One middleware configuration under test.

    Attributes:
        id: The test id.
        factory: Wraps an app in the middleware, configured to do its work.
        request_headers: Extra request headers the middleware needs to act (credentials, say).
    """

    id: str
    factory: Callable[[ASGIApp], ASGIApp]
    request_headers: tuple[tuple[bytes, bytes], ...] = ()


CASES: tuple[Case, ...] = (
    Case("compose-no-layers", compose),
    Case(
        "compose-every-layer-form",
        lambda app: compose(
            app,
            ReferenceMiddleware,
            Layer(ReferenceMiddleware, header="x-layer"),
            lambda inner: ReferenceMiddleware(inner, header="x-callable"),
        ),
    ),
    Case(
        "cors",
        lambda app: CORSMiddleware(
            app,
            allow_origins=["https://app.example"],
            allow_credentials=True,
            expose_headers=["X-Total"],
        ),
    ),
    Case("compression", CompressionMiddleware),
    Case("gzip", GZipMiddleware),
    Case("request-id", RequestIDMiddleware),
    Case("access-log", AccessLogMiddleware),
    Case(
        "timing",
        # A frozen clock (int() == 0): the suite compares two responses byte for byte.
        lambda app: frozen_clock(
            TimingMiddleware(app, process_time_header=True, timing_allow_origin="*")
        ),
    ),
    Case(
        "auth-bearer",
        # Anonymous mode only for the check that sends no headers at all (it expects a 200);
        # every other check presents the token and runs the authenticating path.
        lambda app: AuthenticationMiddleware(
            app, backend=BearerTokenBackend(tokens=["conformance-token"]), allow_anonymous=True
        ),
        ((b"Authorization", b"Bearer conformance-token"),),
    ),
)
