"""Pure-ASGI middleware that is correct to the spec and secure by default.

Every middleware here is a plain ASGI 3 class, ``Middleware(app, **options)``, so it wraps any ASGI
application and fits Starlette's, FastAPI's and Litestar's middleware lists.
[`compose`][asgi_middleware.compose] stacks them, first layer outermost.
"""

from __future__ import annotations

from asgi_middleware._kit.types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware.access_log import AccessLogMiddleware
from asgi_middleware.auth import (
    APIKeyBackend,
    AuthenticationMiddleware,
    BasicAuthBackend,
    BearerTokenBackend,
    JWTBackend,
    requires,
)
from asgi_middleware.body_limit import BodyLimitMiddleware, RequestBodyTooLargeError
from asgi_middleware.compose import Layer, LayerLike, compose
from asgi_middleware.compression import CompressionMiddleware, GZipMiddleware
from asgi_middleware.cors import CORSMiddleware
from asgi_middleware.https_redirect import HTTPSRedirectMiddleware
from asgi_middleware.metrics import (
    MetricsMiddleware,
    OpenTelemetryExporter,
    PrometheusExporter,
    metrics_app,
)
from asgi_middleware.proxy_headers import ProxyHeadersMiddleware
from asgi_middleware.rate_limit import MemoryStore, RateLimit, RateLimitMiddleware, RedisStore
from asgi_middleware.request_id import RequestIDLogFilter, RequestIDMiddleware, get_request_id
from asgi_middleware.security_headers import NONCE, ContentSecurityPolicy, SecurityHeadersMiddleware
from asgi_middleware.timeout import TimeoutMiddleware
from asgi_middleware.timing import TimingMiddleware, record_timing
from asgi_middleware.trusted_host import TrustedHostMiddleware

__all__ = [
    "NONCE",
    "APIKeyBackend",
    "ASGIApp",
    "AccessLogMiddleware",
    "AuthenticationMiddleware",
    "BasicAuthBackend",
    "BearerTokenBackend",
    "BodyLimitMiddleware",
    "CORSMiddleware",
    "CompressionMiddleware",
    "ContentSecurityPolicy",
    "GZipMiddleware",
    "HTTPSRedirectMiddleware",
    "JWTBackend",
    "Layer",
    "LayerLike",
    "MemoryStore",
    "Message",
    "MetricsMiddleware",
    "OpenTelemetryExporter",
    "PrometheusExporter",
    "ProxyHeadersMiddleware",
    "RateLimit",
    "RateLimitMiddleware",
    "Receive",
    "RedisStore",
    "RequestBodyTooLargeError",
    "RequestIDLogFilter",
    "RequestIDMiddleware",
    "Scope",
    "SecurityHeadersMiddleware",
    "Send",
    "TimeoutMiddleware",
    "TimingMiddleware",
    "TrustedHostMiddleware",
    "compose",
    "get_request_id",
    "metrics_app",
    "record_timing",
    "requires",
]

__version__ = "0.1.0.dev0"
