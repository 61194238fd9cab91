"""The OpenTelemetry exporter (extra ``otel``: opentelemetry-api; the app brings the SDK).

opentelemetry-api is imported when an exporter is built, never at import time, so
``import asgi_middleware`` works without the extra.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from asgi_middleware._kit.config import option_error
from asgi_middleware.metrics._instruments import (
    ACTIVE_REQUESTS,
    ACTIVE_REQUESTS_LABELS,
    ACTIVE_SESSIONS,
    ACTIVE_SESSIONS_LABELS,
    DURATION_BUCKETS,
    HTTP_LABELS,
    REQUEST_BODY_SIZE,
    REQUEST_DURATION,
    RESPONSE_BODY_SIZE,
    SESSION_DURATION,
    SIZE_BUCKETS,
    WEBSOCKET_LABELS,
    require_buckets,
)
from asgi_middleware.metrics.middleware import HTTPAttributes, WebSocketAttributes

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation

__all__ = ["METER_NAME", "OpenTelemetryExporter"]

#: The name of the meter (the instrumentation scope) the instruments belong to.
METER_NAME = "asgi_middleware.metrics"
# Attribute dicts kept for the request path; past this, each request builds its own.
_ATTRIBUTES_LIMIT = 10_000


def _api() -> Any:
    try:
        from opentelemetry import metrics  # noqa: PLC0415 - the extra is optional
    except ImportError as exc:  # pragma: no cover - the test environment has the extra
        msg = (
            "the OpenTelemetry exporter needs opentelemetry-api: "
            "pip install 'asgi-middleware[otel]'"
        )
        raise ImportError(msg) from exc
    return metrics


def _attributes(names: tuple[str, ...], values: tuple[Any, ...]) -> dict[str, Any]:
    """The attribute dict of one series; an attribute without a value is left out."""
    return {name: value for name, value in zip(names, values, strict=True) if value is not None}


class _Gauge:
    """Counts by attributes, reported by an observable up-down counter at each collection.

    The conventions' ``http.server.active_requests`` is an up-down counter; this observable one
    reports the same points (a non-monotonic cumulative sum) while the request path only adds
    to an int: the SDK's synchronous ``add`` costs about as much as a histogram record, twice
    per request.
    """

    __slots__ = ("_counts", "_lock", "_names")

    def __init__(self, names: tuple[str, ...]) -> None:
        self._names = names
        self._counts: dict[tuple[str, ...], int] = {}
        self._lock = threading.Lock()  # collections run in the reader's thread

    def add(self, key: tuple[str, ...], amount: int) -> None:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + amount

    def observe(self, options: CallbackOptions) -> Iterator[Observation]:  # noqa: ARG002
        from opentelemetry.metrics import Observation  # noqa: PLC0415 - loaded with the API

        with self._lock:
            counts = tuple(self._counts.items())
        for key, count in counts:
            yield Observation(count, _attributes(self._names, key))


class OpenTelemetryExporter:
    """Record the metrics with the OpenTelemetry metrics API.

    Creates, on a meter named ``asgi_middleware.metrics``, the conventions' histograms
    ``http.server.request.duration`` (``s``), ``http.server.request.body.size`` and
    ``http.server.response.body.size`` (``By``) with their attributes
    (``http.request.method``, ``url.scheme``, ``network.protocol.version``, ``http.route``,
    ``http.response.status_code``, ``error.type``; one without a value is left out), and the
    up-down counter ``http.server.active_requests`` (by method and scheme); for WebSocket
    sessions ``asgi.websocket.session.duration`` and ``asgi.websocket.active_sessions``. The
    duration histograms advise the conventions' boundaries, 0.005 to 10 seconds.

    The active counters are observable up-down counters: the request path counts in process
    and the SDK reads the counts at each collection; the data points are those of a synchronous
    up-down counter. Exemplars are the SDK's: with its default ``trace_based`` filter, a
    duration recorded inside a sampled span carries that span's trace ID.

    The application brings the SDK (``opentelemetry-sdk``) and an exporter, and sets its
    ``MeterProvider`` globally or passes it here. Without one, the API's no-op meter records
    nothing, at almost no cost.

    Args:
        meter_provider: The ``MeterProvider`` to take the meter from; the global one when
            ``None`` (a provider set globally later is used from then on).
        duration_buckets: The boundaries advised for the duration histograms, in seconds.
        size_buckets: The boundaries advised for the body size histograms, in bytes.

    Raises:
        ImportError: opentelemetry-api is not installed (the ``otel`` extra).

    Added in version 0.1.0.
    """

    __slots__ = (
        "_active",
        "_attributes",
        "_duration",
        "_request_size",
        "_response_size",
        "_session_attributes",
        "_session_duration",
        "_sessions",
    )

    def __init__(
        self,
        *,
        meter_provider: MeterProvider | None = None,
        duration_buckets: Sequence[float] = DURATION_BUCKETS,
        size_buckets: Sequence[float] = SIZE_BUCKETS,
    ) -> None:
        metrics = _api()
        durations = list(require_buckets("duration_buckets", duration_buckets))
        sizes = list(require_buckets("size_buckets", size_buckets))
        if meter_provider is not None and not callable(getattr(meter_provider, "get_meter", None)):
            raise option_error(
                TypeError, "meter_provider", "a MeterProvider or None", meter_provider
            )
        version = getattr(sys.modules.get("asgi_middleware"), "__version__", None)
        meter = metrics.get_meter(METER_NAME, version, meter_provider)

        def histogram(instrument: Any, bounds: list[float]) -> Any:
            return meter.create_histogram(
                instrument.name,
                unit=instrument.unit,
                description=instrument.description,
                explicit_bucket_boundaries_advisory=bounds,
            )

        self._duration = histogram(REQUEST_DURATION, durations)
        self._request_size = histogram(REQUEST_BODY_SIZE, sizes)
        self._response_size = histogram(RESPONSE_BODY_SIZE, sizes)
        self._session_duration = histogram(SESSION_DURATION, durations)
        self._active = _Gauge(ACTIVE_REQUESTS_LABELS)
        self._sessions = _Gauge(ACTIVE_SESSIONS_LABELS)
        for instrument, gauge in (
            (ACTIVE_REQUESTS, self._active),
            (ACTIVE_SESSIONS, self._sessions),
        ):
            meter.create_observable_up_down_counter(
                instrument.name,
                callbacks=[gauge.observe],
                unit=instrument.unit,
                description=instrument.description,
            )
        self._attributes: dict[HTTPAttributes, dict[str, Any]] = {}
        self._session_attributes: dict[WebSocketAttributes, dict[str, Any]] = {}

    def request_started(self, method: str, scheme: str) -> None:
        """Count one more active request."""
        self._active.add((method, scheme), 1)

    def request_finished(
        self,
        attributes: HTTPAttributes,
        duration: float,
        request_body_size: int,
        response_body_size: int,
    ) -> None:
        """Count one active request less; record its duration and body sizes."""
        self._active.add(attributes[:2], -1)
        values = self._attributes.get(attributes)
        if values is None:
            values = _attributes(HTTP_LABELS, attributes)
            if len(self._attributes) < _ATTRIBUTES_LIMIT:
                self._attributes[attributes] = values
        self._duration.record(duration, values)
        if request_body_size:  # a request without a body has no body size (see the docs)
            self._request_size.record(request_body_size, values)
        self._response_size.record(response_body_size, values)

    def session_started(self, scheme: str) -> None:
        """Count one more open WebSocket session."""
        self._sessions.add((scheme,), 1)

    def session_finished(self, attributes: WebSocketAttributes, duration: float) -> None:
        """Count one open session less; record its duration."""
        self._sessions.add(attributes[:1], -1)
        values = self._session_attributes.get(attributes)
        if values is None:
            values = _attributes(WEBSOCKET_LABELS, attributes)
            if len(self._session_attributes) < _ATTRIBUTES_LIMIT:
                self._session_attributes[attributes] = values
        self._session_duration.record(duration, values)
