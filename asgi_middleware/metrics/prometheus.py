"""The Prometheus exporter and the ``/metrics`` endpoint (extra ``prometheus``: prometheus-client).

prometheus-client is imported when an exporter or an endpoint is built, never at import time,
so ``import asgi_middleware`` works without the extra.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from asgi_middleware._kit.config import option_error
from asgi_middleware._kit.context import REQUEST_ID
from asgi_middleware._kit.headers import HeaderNames, get_first
from asgi_middleware._kit.responses import content_headers, deny_websocket, respond
from asgi_middleware._kit.threads import run_sync
from asgi_middleware._kit.types import Receive, Scope, Send
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
    Instrument,
    require_buckets,
)
from asgi_middleware.metrics.middleware import HTTPAttributes, WebSocketAttributes

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["PrometheusExporter", "metrics_app"]

_MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Series whose children are kept for the request path; past this, each request looks them up.
_CHILDREN_LIMIT = 10_000
# OpenMetrics: an exemplar's label names and values, together, hold at most 128 characters.
_EXEMPLAR_LIMIT = 128
_TRACE_LABELS = len("trace_id") + 32 + len("span_id") + 16
_REQUEST_ID_LABEL = "request_id"
_ACCEPT = HeaderNames(b"accept")
_ALLOW = ((b"allow", b"GET, HEAD"),)
_TEXT = b"text/plain; charset=utf-8"


def _client() -> Any:
    try:
        import prometheus_client  # noqa: PLC0415 - the extra is optional; imported when used
    except ImportError as exc:  # pragma: no cover - the test environment has the extra
        msg = (
            "the Prometheus exporter needs prometheus-client: "
            "pip install 'asgi-middleware[prometheus]'"
        )
        raise ImportError(msg) from exc
    return prometheus_client


def _label(name: str) -> str:
    return name.replace(".", "_")


def _require_name_prefix(value: object) -> str:
    if not isinstance(value, str):
        raise option_error(TypeError, "namespace", "a str", value)
    if value and not (value.replace("_", "a").isalnum() and value.isascii() and value[0].isalpha()):
        rule = "empty or a Prometheus name (ASCII letters, digits and _, starting with a letter)"
        raise option_error(ValueError, "namespace", rule, value)
    return f"{value}_" if value else ""


def _exemplar() -> dict[str, str] | None:
    """The current trace's and request's IDs, to tie a duration to its trace and log lines."""
    labels: dict[str, str] = {}
    used = 0
    trace = sys.modules.get("opentelemetry.trace")  # looked up: a traced app has imported it
    if trace is not None:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            labels["trace_id"] = format(context.trace_id, "032x")
            labels["span_id"] = format(context.span_id, "016x")
            used = _TRACE_LABELS
    request_id = REQUEST_ID.get()
    if (
        request_id is not None
        and used + len(_REQUEST_ID_LABEL) + len(request_id) <= _EXEMPLAR_LIMIT
    ):
        labels[_REQUEST_ID_LABEL] = request_id
    return labels or None


class PrometheusExporter:
    """Record the metrics with prometheus-client, in a registry of your choice.

    Creates, in ``registry``, the histograms ``http_server_request_duration_seconds``,
    ``http_server_request_body_size_bytes``, ``http_server_response_body_size_bytes`` and
    ``asgi_websocket_session_duration_seconds``, and the gauges
    ``http_server_active_requests`` and ``asgi_websocket_active_sessions`` (each name after
    ``namespace``), labelled ``http_request_method``, ``url_scheme``,
    ``network_protocol_version``, ``http_route``, ``http_response_status_code`` and
    ``error_type`` (the gauges by method and scheme only). A label with no value is empty.

    The instruments belong to this exporter: two exporters never share them, whatever their
    settings, and a second exporter with the same names in the same registry is refused (give
    it another ``registry`` or ``namespace``, or share the first exporter). Expose the registry
    with [`metrics_app`][asgi_middleware.metrics.metrics_app].

    Multiprocess mode (several workers, ``PROMETHEUS_MULTIPROC_DIR`` set before
    prometheus-client is imported) is prometheus-client's own: values go to files in that
    directory, the active gauges are summed over live processes, and ``metrics_app`` reads
    every worker's files. Exemplars are not kept in that mode (prometheus-client has none).

    Args:
        registry: The ``CollectorRegistry`` to register in; prometheus-client's default
            ``REGISTRY`` when ``None``.
        namespace: A prefix for every name, ``"shop"`` giving
            ``shop_http_server_request_duration_seconds``.
        duration_buckets: Upper bounds of the duration histograms, in seconds. Default: the
            conventions' 0.005 to 10.
        size_buckets: Upper bounds of the body size histograms, in bytes. Default: 0, then
            powers of 4 from 256 B to 16 MiB.
        exemplars: Whether durations carry an exemplar: the current OpenTelemetry trace's
            ``trace_id`` and ``span_id`` and the request ID of
            [`RequestIDMiddleware`][asgi_middleware.RequestIDMiddleware], each when present.
            Prometheus sees them when it scrapes OpenMetrics, which ``metrics_app`` serves to
            clients asking for it.

    Raises:
        ImportError: prometheus-client is not installed (the ``prometheus`` extra).
        ValueError: the registry already holds one of the names.

    Added in version 0.1.0.
    """

    __slots__ = (
        "_active",
        "_active_children",
        "_children",
        "_duration",
        "_exemplars",
        "_request_size",
        "_response_size",
        "_session_children",
        "_session_duration",
        "_sessions",
        "_sessions_children",
        "registry",
    )

    def __init__(
        self,
        *,
        registry: CollectorRegistry | None = None,
        namespace: str = "",
        duration_buckets: Sequence[float] = DURATION_BUCKETS,
        size_buckets: Sequence[float] = SIZE_BUCKETS,
        exemplars: bool = True,
    ) -> None:
        client = _client()
        prefix = _require_name_prefix(namespace)
        durations = require_buckets("duration_buckets", duration_buckets)
        sizes = require_buckets("size_buckets", size_buckets)
        if not isinstance(exemplars, bool):
            raise option_error(TypeError, "exemplars", "a bool", exemplars)
        if registry is None:
            registry = client.REGISTRY
        elif not isinstance(registry, client.CollectorRegistry):
            raise option_error(
                TypeError, "registry", "a prometheus_client.CollectorRegistry", registry
            )
        self.registry = registry
        self._exemplars = exemplars and not os.environ.get(_MULTIPROCESS_ENV)
        http = tuple(_label(name) for name in HTTP_LABELS)
        websocket = tuple(_label(name) for name in WEBSOCKET_LABELS)

        def create(
            kind: Callable[..., Any],
            instrument: Instrument,
            labels: tuple[str, ...],
            **options: Any,
        ) -> Any:
            name = prefix + instrument.prometheus
            try:
                return kind(name, instrument.description, labels, registry=registry, **options)
            except ValueError as exc:  # "Duplicated timeseries in CollectorRegistry"
                msg = (
                    f"the registry already has a metric named {name}: give this "
                    "PrometheusExporter its own registry= or namespace=, or share one exporter"
                )
                raise ValueError(msg) from exc

        live = {"multiprocess_mode": "livesum"}
        self._duration = create(client.Histogram, REQUEST_DURATION, http, buckets=durations)
        self._request_size = create(client.Histogram, REQUEST_BODY_SIZE, http, buckets=sizes)
        self._response_size = create(client.Histogram, RESPONSE_BODY_SIZE, http, buckets=sizes)
        active_labels = tuple(_label(name) for name in ACTIVE_REQUESTS_LABELS)
        self._active = create(client.Gauge, ACTIVE_REQUESTS, active_labels, **live)
        self._session_duration = create(
            client.Histogram, SESSION_DURATION, websocket, buckets=durations
        )
        session_labels = tuple(_label(name) for name in ACTIVE_SESSIONS_LABELS)
        self._sessions = create(client.Gauge, ACTIVE_SESSIONS, session_labels, **live)
        # The request path's children, by attributes: a label lookup costs more than a record.
        self._children: dict[HTTPAttributes, tuple[Any, Any, Any]] = {}
        self._active_children: dict[tuple[str, str], Any] = {}
        self._session_children: dict[WebSocketAttributes, Any] = {}
        self._sessions_children: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"PrometheusExporter(registry={self.registry!r})"

    def _active_child(self, method: str, scheme: str) -> Any:
        key = (method, scheme)
        child = self._active_children.get(key)
        if child is None:
            child = self._active.labels(method, scheme)
            if len(self._active_children) < _CHILDREN_LIMIT:
                self._active_children[key] = child
        return child

    def request_started(self, method: str, scheme: str) -> None:
        """Count one more active request."""
        self._active_child(method, scheme).inc()

    def request_finished(
        self,
        attributes: HTTPAttributes,
        duration: float,
        request_body_size: int,
        response_body_size: int,
    ) -> None:
        """Count one active request less; record its duration and body sizes."""
        self._active_child(attributes[0], attributes[1]).dec()
        children = self._children.get(attributes)
        if children is None:
            values = tuple("" if value is None else str(value) for value in attributes)
            children = (
                self._duration.labels(*values),
                self._request_size.labels(*values),
                self._response_size.labels(*values),
            )
            if len(self._children) < _CHILDREN_LIMIT:
                self._children[attributes] = children
        exemplar = _exemplar() if self._exemplars else None
        if exemplar is None:
            children[0].observe(duration)
        else:
            children[0].observe(duration, exemplar)
        if request_body_size:  # a request without a body has no body size (see the docs)
            children[1].observe(request_body_size)
        children[2].observe(response_body_size)

    def session_started(self, scheme: str) -> None:
        """Count one more open WebSocket session."""
        child = self._sessions_children.get(scheme)
        if child is None:
            child = self._sessions_children[scheme] = self._sessions.labels(scheme)
        child.inc()

    def session_finished(self, attributes: WebSocketAttributes, duration: float) -> None:
        """Count one open session less; record its duration."""
        self._sessions_children[attributes[0]].dec()
        child = self._session_children.get(attributes)
        if child is None:
            values = tuple("" if value is None else str(value) for value in attributes)
            child = self._session_duration.labels(*values)
            if len(self._session_children) < _CHILDREN_LIMIT:
                self._session_children[attributes] = child
        child.observe(duration)


def metrics_app(registry: CollectorRegistry | None = None) -> _MetricsApp:
    """Build a raw ASGI app serving a registry in the Prometheus exposition formats.

    Route ``/metrics`` to it in any framework (a Starlette or FastAPI ``Route``, as below,
    serves ``/metrics`` itself; a ``Mount`` serves ``/metrics/`` and redirects ``/metrics``
    there); ``MetricsMiddleware`` leaves ``/metrics`` and ``/metrics/`` out of its own
    measurements by default. ``GET`` and ``HEAD`` get the Prometheus text format, or
    OpenMetrics (with exemplars) when the ``Accept`` header asks for it, as Prometheus does;
    other methods get a 405. WebSocket handshakes are refused with a 404; `lifespan` is
    answered.

    When ``PROMETHEUS_MULTIPROC_DIR`` is set, the app serves the files of every worker through
    prometheus-client's ``MultiProcessCollector``, registered in ``registry`` or in a new
    registry (not the default one, whose own values would be counted twice). Collecting runs in
    a worker thread, so reading the files never blocks the event loop.

    Args:
        registry: The registry to serve; prometheus-client's default ``REGISTRY`` when
            ``None`` (a new one in multiprocess mode).

    Returns:
        The ASGI app.

    Example:
        ```python
        app = Starlette(routes=[Route("/metrics", metrics_app())])
        ```

    Added in version 0.1.0.
    """
    client = _client()
    if registry is not None and not isinstance(registry, client.CollectorRegistry):
        raise option_error(TypeError, "registry", "a prometheus_client.CollectorRegistry", registry)
    if os.environ.get(_MULTIPROCESS_ENV):
        from prometheus_client.multiprocess import MultiProcessCollector  # noqa: PLC0415

        if registry is None:
            registry = client.CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
    elif registry is None:
        registry = client.REGISTRY
    return _MetricsApp(registry)


class _MetricsApp:
    """What :func:`metrics_app` returns."""

    __slots__ = ("registry",)

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def __repr__(self) -> str:
        return f"metrics_app({self.registry!r})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._serve(scope, send)
        elif kind == "websocket":
            body = b"Not Found"
            await deny_websocket(scope, send, 404, content_headers(body, _TEXT), body)
        elif kind == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})

    async def _serve(self, scope: Scope, send: Send) -> None:
        method = scope.get("method")
        if method not in ("GET", "HEAD"):
            body = b"Method Not Allowed"
            await respond(send, 405, [*content_headers(body, _TEXT), *_ALLOW], body)
            return
        from prometheus_client.exposition import choose_encoder  # noqa: PLC0415 - as _client

        accept = get_first(scope.get("headers", ()), _ACCEPT)
        try:
            encoder, content_type = choose_encoder(accept.decode("latin-1") if accept else "")
        # A malformed Accept (version=x) makes prometheus-client raise: client input, never a 500.
        except Exception:  # noqa: BLE001
            encoder, content_type = choose_encoder("")
        body = await run_sync(encoder, self.registry)
        headers = content_headers(body, content_type.encode("latin-1"))
        await respond(send, 200, headers, b"" if method == "HEAD" else body)
