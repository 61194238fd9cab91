"""Every scenario the driver runs, gathered from the area modules.

Each area (CORS, compression, request ID, access log, timing, authentication, and the whole stack)
lives in its own ``bench_<area>.py`` with its peers, its checks and its scenarios; add a new area's
tuple here. When
one of our middleware lands, it joins its area's scenarios as one ``Variant`` named
"asgi-middleware", with the same options and the same check as the peer (see benchmarks/README.md).
"""

from __future__ import annotations

from benchmarks import (
    bench_access_log,
    bench_auth,
    bench_body_limit,
    bench_compression,
    bench_cors,
    bench_edge_hosts,
    bench_metrics,
    bench_proxy_headers,
    bench_rate_limit,
    bench_rate_limit_redis,
    bench_request_id,
    bench_security_headers,
    bench_stack,
    bench_timeout,
    bench_timing,
)
from benchmarks.common import NO_BODY, http_scope, make_app
from benchmarks.model import Scenario

__all__ = ["NO_BODY", "SCENARIOS", "http_scope", "make_app"]

SCENARIOS: tuple[Scenario, ...] = (
    *bench_cors.SCENARIOS,
    *bench_compression.SCENARIOS,
    *bench_request_id.SCENARIOS,
    *bench_access_log.SCENARIOS,
    *bench_timing.SCENARIOS,
    *bench_auth.SCENARIOS,
    *bench_stack.SCENARIOS,
    *bench_proxy_headers.SCENARIOS,
    *bench_edge_hosts.SCENARIOS,
    *bench_security_headers.SCENARIOS,
    *bench_body_limit.SCENARIOS,
    *bench_timeout.SCENARIOS,
    *bench_metrics.SCENARIOS,
    *bench_rate_limit.SCENARIOS,
    *bench_rate_limit_redis.SCENARIOS,
)
