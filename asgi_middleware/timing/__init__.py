"""Request timing: ``Server-Timing``, ``X-Process-Time`` and a metrics callback (SPEC §7).

``middleware`` holds the middleware and the metrics API; ``_server_timing`` the header's
grammar.
"""

from __future__ import annotations

from asgi_middleware.timing.middleware import (
    MetricTimer,
    TimingMetric,
    TimingMiddleware,
    TimingResult,
    record_timing,
    timed,
)

__all__ = [
    "MetricTimer",
    "TimingMetric",
    "TimingMiddleware",
    "TimingResult",
    "record_timing",
    "timed",
]
