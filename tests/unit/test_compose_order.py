"""compose()'s order warnings over the real middleware classes (SPEC §9).

The rule machinery itself is tested in ``test_compose.py`` with rules of the test's own; these
tests pin the shipped rules to the shipped classes, so a renamed role or a dropped rule fails here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from asgi_middleware import (
    AccessLogMiddleware,
    AuthenticationMiddleware,
    BearerTokenBackend,
    BodyLimitMiddleware,
    CompressionMiddleware,
    CORSMiddleware,
    GZipMiddleware,
    HTTPSRedirectMiddleware,
    Layer,
    LayerLike,
    MetricsMiddleware,
    PrometheusExporter,
    ProxyHeadersMiddleware,
    RateLimit,
    RateLimitMiddleware,
    RequestIDMiddleware,
    SecurityHeadersMiddleware,
    TimeoutMiddleware,
    TimingMiddleware,
    TrustedHostMiddleware,
    compose,
)
from tests.support.server_apps import app

_CORS = Layer(CORSMiddleware, allow_origins=["https://app.example"])
_AUTH = Layer(AuthenticationMiddleware, backend=BearerTokenBackend(tokens=["t0ken"]))
_HOSTS = Layer(TrustedHostMiddleware, allowed_hosts=["api.example"])
_BODY = Layer(BodyLimitMiddleware, max_body_size=1024)
_LIMIT = Layer(RateLimitMiddleware, limits=[RateLimit("api", 100, 60)])
_TIMEOUT = Layer(TimeoutMiddleware, timeout=30)
_METRICS = Layer(MetricsMiddleware, exporters=PrometheusExporter(registry=CollectorRegistry()))


def _quiet(layers: Sequence[LayerLike]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compose(app, *layers)


@pytest.mark.parametrize(
    ("layers", "match"),
    [
        pytest.param(
            (_AUTH, _CORS),
            r"the auth layer \(layers\[0\]\) is outside the cors layer \(layers\[1\]\)",
            id="auth-outside-cors",
        ),
        pytest.param(
            (AccessLogMiddleware, RequestIDMiddleware),
            r"the access_log layer \(layers\[0\]\) is outside the request_id layer",
            id="access-log-outside-request-id",
        ),
        pytest.param(
            (CompressionMiddleware, AccessLogMiddleware),
            r"the compression layer \(layers\[0\]\) is outside the access_log layer",
            id="compression-outside-access-log",
        ),
        pytest.param(
            (GZipMiddleware, TimingMiddleware, AccessLogMiddleware),
            r"the compression layer \(layers\[0\]\) is outside the access_log layer \(layers\[2",
            id="gzip-outside-access-log",
        ),
        pytest.param(
            (AccessLogMiddleware, ProxyHeadersMiddleware),
            r"the access_log layer \(layers\[0\]\) is outside the proxy_headers layer.*"
            r"proxy's address",
            id="access-log-outside-proxy-headers",
        ),
        pytest.param(
            (_HOSTS, ProxyHeadersMiddleware),
            r"the trusted_host layer \(layers\[0\]\) is outside the proxy_headers layer",
            id="trusted-host-outside-proxy-headers",
        ),
        pytest.param(
            (HTTPSRedirectMiddleware, ProxyHeadersMiddleware),
            r"the https_redirect layer \(layers\[0\]\) is outside the proxy_headers layer.*"
            r"redirected for ever",
            id="https-redirect-outside-proxy-headers",
        ),
        pytest.param(
            (SecurityHeadersMiddleware, ProxyHeadersMiddleware),
            r"the security_headers layer \(layers\[0\]\) is outside the proxy_headers layer.*"
            r"HSTS",
            id="security-headers-outside-proxy-headers",
        ),
        pytest.param(
            (_HOSTS, SecurityHeadersMiddleware),
            r"the trusted_host layer \(layers\[0\]\) is outside the security_headers layer",
            id="trusted-host-outside-security-headers",
        ),
        pytest.param(
            (HTTPSRedirectMiddleware, SecurityHeadersMiddleware),
            r"the https_redirect layer \(layers\[0\]\) is outside the security_headers layer",
            id="https-redirect-outside-security-headers",
        ),
        pytest.param(
            (_AUTH, SecurityHeadersMiddleware),
            r"the auth layer \(layers\[0\]\) is outside the security_headers layer",
            id="auth-outside-security-headers",
        ),
        pytest.param(
            (_HOSTS, AccessLogMiddleware),
            r"the trusted_host layer \(layers\[0\]\) is outside the access_log layer.*not be "
            r"logged",
            id="trusted-host-outside-access-log",
        ),
        pytest.param(
            (HTTPSRedirectMiddleware, AccessLogMiddleware),
            r"the https_redirect layer \(layers\[0\]\) is outside the access_log layer",
            id="https-redirect-outside-access-log",
        ),
        pytest.param(
            (_BODY, AccessLogMiddleware),
            r"the body_limit layer \(layers\[0\]\) is outside the access_log layer.*413",
            id="body-limit-outside-access-log",
        ),
        pytest.param(
            (_BODY, _CORS),
            r"the body_limit layer \(layers\[0\]\) is outside the cors layer",
            id="body-limit-outside-cors",
        ),
        pytest.param(
            (_BODY, SecurityHeadersMiddleware),
            r"the body_limit layer \(layers\[0\]\) is outside the security_headers layer",
            id="body-limit-outside-security-headers",
        ),
        pytest.param(
            (_BODY, _METRICS),
            r"the body_limit layer \(layers\[0\]\) is outside the metrics layer.*not be counted",
            id="body-limit-outside-metrics",
        ),
        pytest.param(
            (_AUTH, _METRICS),
            r"the auth layer \(layers\[0\]\) is outside the metrics layer",
            id="auth-outside-metrics",
        ),
        pytest.param(
            (CompressionMiddleware, _METRICS),
            r"the compression layer \(layers\[0\]\) is outside the metrics layer.*uncompressed",
            id="compression-outside-metrics",
        ),
        pytest.param(
            (_METRICS, ProxyHeadersMiddleware),
            r"the metrics layer \(layers\[0\]\) is outside the proxy_headers layer",
            id="metrics-outside-proxy-headers",
        ),
        pytest.param(
            (_TIMEOUT, AccessLogMiddleware),
            r"the timeout layer \(layers\[0\]\) is outside the access_log layer.*504",
            id="timeout-outside-access-log",
        ),
        pytest.param(
            (_TIMEOUT, _CORS),
            r"the timeout layer \(layers\[0\]\) is outside the cors layer",
            id="timeout-outside-cors",
        ),
        pytest.param(
            (_LIMIT, AccessLogMiddleware),
            r"the rate_limit layer \(layers\[0\]\) is outside the access_log layer.*429",
            id="rate-limit-outside-access-log",
        ),
        pytest.param(
            (_LIMIT, ProxyHeadersMiddleware),
            r"the rate_limit layer \(layers\[0\]\) is outside the proxy_headers layer.*one "
            r"bucket",
            id="rate-limit-outside-proxy-headers",
        ),
        pytest.param(
            (_HOSTS, _CORS),
            r"the trusted_host layer \(layers\[0\]\) is outside the cors layer",
            id="trusted-host-outside-cors",
        ),
    ],
)
def test_almost_always_wrong_orders_warn(layers: Sequence[LayerLike], match: str) -> None:
    """Each order SPEC §9 names as almost always wrong warns at compose time, naming positions."""
    with pytest.warns(UserWarning, match=match):
        compose(app, *layers)


def test_recommended_order_is_quiet() -> None:
    """The documented order (docs/composition.md, Recommended order) gives no warning."""
    _quiet(
        (
            ProxyHeadersMiddleware,
            SecurityHeadersMiddleware,
            _CORS,
            RequestIDMiddleware,
            AccessLogMiddleware,
            _METRICS,
            _HOSTS,
            HTTPSRedirectMiddleware,
            _BODY,
            TimingMiddleware,
            _TIMEOUT,
            _AUTH,
            _LIMIT,
            CompressionMiddleware,
        )
    )


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: (_CORS, _AUTH), id="auth-inside-cors"),
        pytest.param(lambda: (RequestIDMiddleware, AccessLogMiddleware), id="id-outside-log"),
        pytest.param(lambda: (AccessLogMiddleware, GZipMiddleware), id="gzip-inside-log"),
        pytest.param(lambda: (CompressionMiddleware, _AUTH), id="unrelated-roles"),
    ],
)
def test_right_orders_are_quiet(build: Callable[[], Sequence[Any]]) -> None:
    """A pair in the right order, or a pair no rule relates, gives no warning."""
    _quiet(build())


@pytest.mark.parametrize(
    ("cls", "role"),
    [
        (ProxyHeadersMiddleware, "proxy_headers"),
        (SecurityHeadersMiddleware, "security_headers"),
        (TrustedHostMiddleware, "trusted_host"),
        (HTTPSRedirectMiddleware, "https_redirect"),
        (BodyLimitMiddleware, "body_limit"),
        (MetricsMiddleware, "metrics"),
        (TimeoutMiddleware, "timeout"),
        (RateLimitMiddleware, "rate_limit"),
        (CORSMiddleware, "cors"),
        (RequestIDMiddleware, "request_id"),
        (AccessLogMiddleware, "access_log"),
        (TimingMiddleware, "timing"),
        (AuthenticationMiddleware, "auth"),
        (CompressionMiddleware, "compression"),
        (GZipMiddleware, "compression"),
    ],
)
def test_every_middleware_declares_its_role(cls: type, role: str) -> None:
    """Each middleware class names the role the order rules refer to."""
    assert getattr(cls, "_compose_role", None) == role
