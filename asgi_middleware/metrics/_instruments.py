"""The instruments both exporters create: names, units, descriptions and bucket boundaries.

HTTP: the stable OpenTelemetry HTTP server semantic conventions (``http.server.*``). WebSocket
sessions have no convention; theirs are this package's own, under ``asgi.websocket.*``. The
Prometheus names are the conventional translation of the OpenTelemetry ones (dots to
underscores, the unit as a suffix): ``http.server.request.duration`` in ``s`` becomes
``http_server_request_duration_seconds``.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from asgi_middleware._kit.config import option_error

__all__ = [
    "ACTIVE_REQUESTS",
    "ACTIVE_REQUESTS_LABELS",
    "ACTIVE_SESSIONS",
    "ACTIVE_SESSIONS_LABELS",
    "DURATION_BUCKETS",
    "HTTP_LABELS",
    "KNOWN_METHODS",
    "OTHER_METHOD",
    "REQUEST_BODY_SIZE",
    "REQUEST_DURATION",
    "RESPONSE_BODY_SIZE",
    "SESSION_DURATION",
    "SIZE_BUCKETS",
    "WEBSOCKET_LABELS",
    "Instrument",
    "require_buckets",
]

#: The conventions' methods (RFC 9110 and PATCH); any other is recorded as ``_OTHER``.
KNOWN_METHODS = ("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE")
OTHER_METHOD = "_OTHER"

#: ``http.server.request.duration``'s boundaries in seconds, as the conventions advise.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
#: Body sizes in bytes: none, then powers of 4 from 256 B to 16 MiB. The conventions advise none;
#: the SDK's default (0 to 10,000) would put every body over 10 kB in one bucket.
SIZE_BUCKETS = (0, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216)


class Instrument:
    """One instrument's OpenTelemetry name, unit and description, and its Prometheus name."""

    __slots__ = ("description", "name", "prometheus", "unit")

    def __init__(self, name: str, unit: str, description: str, prometheus: str) -> None:
        self.name = name
        self.unit = unit
        self.description = description
        self.prometheus = prometheus


REQUEST_DURATION = Instrument(
    "http.server.request.duration",
    "s",
    "Duration of HTTP server requests.",
    "http_server_request_duration_seconds",
)
ACTIVE_REQUESTS = Instrument(
    "http.server.active_requests",
    "{request}",
    "Number of active HTTP server requests.",
    "http_server_active_requests",
)
REQUEST_BODY_SIZE = Instrument(
    "http.server.request.body.size",
    "By",
    "Size of HTTP server request bodies (the bytes the application read).",
    "http_server_request_body_size_bytes",
)
RESPONSE_BODY_SIZE = Instrument(
    "http.server.response.body.size",
    "By",
    "Size of HTTP server response bodies (the bytes the application sent).",
    "http_server_response_body_size_bytes",
)
SESSION_DURATION = Instrument(
    "asgi.websocket.session.duration",
    "s",
    "Duration of WebSocket sessions, from the handshake to the end of the application's handler.",
    "asgi_websocket_session_duration_seconds",
)
ACTIVE_SESSIONS = Instrument(
    "asgi.websocket.active_sessions",
    "{session}",
    "Number of open WebSocket sessions.",
    "asgi_websocket_active_sessions",
)

#: The attribute names of an HTTP request, in the order of ``HTTPAttributes``.
HTTP_LABELS = (
    "http.request.method",
    "url.scheme",
    "network.protocol.version",
    "http.route",
    "http.response.status_code",
    "error.type",
)
#: The attribute names of a WebSocket session, in the order of ``WebSocketAttributes``.
WEBSOCKET_LABELS = ("url.scheme", "http.route", "http.response.status_code", "error.type")
#: What the active gauges are counted by (the conventions' required attributes).
ACTIVE_REQUESTS_LABELS = HTTP_LABELS[:2]
ACTIVE_SESSIONS_LABELS = WEBSOCKET_LABELS[:1]


def require_buckets(option: str, value: object) -> tuple[float, ...]:
    """Return ``value`` as a tuple of floats if it is a non-empty increasing list of numbers."""
    rule = "a non-empty increasing list of numbers"
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise option_error(TypeError, option, rule, value)
    if not all(isinstance(item, (int, float)) and not isinstance(item, bool) for item in value):
        raise option_error(TypeError, option, rule, value)
    bounds = tuple(float(item) for item in value)
    if not bounds or any(low >= high for low, high in pairwise(bounds)):
        raise option_error(ValueError, option, rule, value)
    return bounds
