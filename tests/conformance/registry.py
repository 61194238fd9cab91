"""The middleware the conformance suite runs against (SPEC §10).

Every middleware adds one :class:`Case` here when it lands, configured so that it actually does its
work on the suite's requests (for example CORS with the suite's ``Origin`` allowed), so the checks
exercise its transforming path and not only its pass-through.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from unittest import mock

from prometheus_client import CollectorRegistry

from asgi_middleware import (
    NONCE,
    AccessLogMiddleware,
    ASGIApp,
    AuthenticationMiddleware,
    BearerTokenBackend,
    BodyLimitMiddleware,
    CompressionMiddleware,
    ContentSecurityPolicy,
    CORSMiddleware,
    GZipMiddleware,
    HTTPSRedirectMiddleware,
    Layer,
    MetricsMiddleware,
    PrometheusExporter,
    ProxyHeadersMiddleware,
    RateLimit,
    RateLimitMiddleware,
    Receive,
    RequestIDMiddleware,
    Scope,
    SecurityHeadersMiddleware,
    Send,
    TimeoutMiddleware,
    TimingMiddleware,
    TrustedHostMiddleware,
    compose,
)
from asgi_middleware._kit import tracker
from asgi_middleware.security_headers import middleware as security_headers_middleware
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


def fixed_nonce(app: ASGIApp) -> ASGIApp:
    """Serve ``app`` with the security headers' nonce fixed, so responses repeat exactly."""

    async def fixed(scope: Scope, receive: Receive, send: Send) -> None:
        with mock.patch.object(security_headers_middleware, "token_urlsafe", return_value="n0nce"):
            await app(scope, receive, send)

    return fixed


def _fresh_keys() -> Callable[[Scope], str]:
    """A rate-limit key function that gives every request a key of its own."""
    counter = itertools.count()
    return lambda _scope: f"request-{next(counter)}"


@dataclass(frozen=True)
class Case:
    """One middleware configuration under test.

    Attributes:
        id: The test id.
        factory: Wraps an app in the middleware, configured to do its work.
        request_headers: Extra request headers the middleware needs to act (credentials, say).
        without_headers_status: The status a scope without ``headers`` gets: the app's 200, or
            400 from a layer that must refuse a request without ``Host``.
    """

    id: str
    factory: Callable[[ASGIApp], ASGIApp]
    request_headers: tuple[tuple[bytes, bytes], ...] = ()
    without_headers_status: int = 200


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
    Case(
        "proxy-headers",
        # Every opt-in on, so the checks run the general path that rewrites client, scheme,
        # host header, server and prefix (the suite's peer, 127.0.0.1, is trusted by default).
        lambda app: ProxyHeadersMiddleware(
            app, forwarded_host=True, forwarded_port=True, forwarded_prefix=True
        ),
        (
            (b"X-Forwarded-For", b"203.0.113.9, 127.0.0.1"),
            (b"X-Forwarded-Proto", b"https"),
            (b"X-Forwarded-Host", b"www.example"),
            (b"X-Forwarded-Port", b"8443"),
            (b"X-Forwarded-Prefix", b"/api"),
        ),
    ),
    Case(
        "trusted-host",
        lambda app: TrustedHostMiddleware(app, allowed_hosts=["api.example", "*.example.org"]),
        without_headers_status=400,
    ),
    Case(
        "https-redirect",
        # Behind a proxy that says the request came over HTTPS, so the app runs; without
        # headers the request is plain HTTP and has no Host to redirect to: 400.
        lambda app: compose(app, ProxyHeadersMiddleware, HTTPSRedirectMiddleware),
        ((b"X-Forwarded-Proto", b"https"),),
        without_headers_status=400,
    ),
    Case(
        "security-headers",
        # Over HTTPS (so HSTS is sent) with a nonce'd policy: the per-request path. The nonce
        # is fixed: the suite compares two responses byte for byte.
        lambda app: fixed_nonce(
            compose(
                app,
                ProxyHeadersMiddleware,
                Layer(
                    SecurityHeadersMiddleware,
                    csp=ContentSecurityPolicy(default_src=["'self'"], script_src=["'self'", NONCE]),
                ),
            )
        ),
        ((b"X-Forwarded-Proto", b"https"),),
    ),
    Case(
        "body-limit",
        # The suite's requests carry no Content-Length: every body is counted as the app reads.
        lambda app: BodyLimitMiddleware(app, max_body_size=1024, websocket_max_message_size=1024),
    ),
    Case(
        "metrics",
        # A registry of its own per middleware: the checks build many, and names must not clash.
        lambda app: MetricsMiddleware(
            app, exporters=PrometheusExporter(registry=CollectorRegistry())
        ),
    ),
    Case(
        "timeout",
        # Deadlines far beyond the checks' own: every request runs the armed path to the end.
        lambda app: TimeoutMiddleware(app, timeout=5, total_timeout=10),
    ),
    Case(
        "rate-limit",
        # A fresh key per request: the suite compares two responses byte for byte, and with one
        # key the remaining count would differ between them.
        lambda app: RateLimitMiddleware(
            app,
            limits=[RateLimit("conformance", 100, 60)],
            key=_fresh_keys(),
            legacy_headers=True,
        ),
    ),
)
