"""Metrics: HTTP server metrics by route template, for Prometheus and OpenTelemetry (SPEC §15)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from asgi_middleware._kit.config import option_error, require_strings, require_sync_callable
from asgi_middleware._kit.config import require_token as _require_token
from asgi_middleware._kit.context import CLIENT_CLOSED, is_cancellation
from asgi_middleware._kit.order import check_position
from asgi_middleware._kit.paths import PathMatcher
from asgi_middleware._kit.tracker import ResponseTracker, now, since_ms
from asgi_middleware._kit.types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware.metrics._instruments import KNOWN_METHODS, OTHER_METHOD
from asgi_middleware.metrics._route import ROUTING_KEY, RouteTemplates, capture_route

__all__ = [
    "CANCELLED",
    "DISCONNECTED",
    "UNMATCHED_ROUTE",
    "Exporter",
    "HTTPAttributes",
    "MetricsMiddleware",
    "WebSocketAttributes",
]

#: ``error.type`` of a request whose task was cancelled (a server shutting down, a timeout).
CANCELLED = "cancelled"
#: ``error.type`` of a request whose client went away before the response was complete.
DISCONNECTED = "disconnected"
#: The default ``http.route`` of a request no route matched (404, 405 and the like).
UNMATCHED_ROUTE = "_unmatched"

_HANDLED = frozenset({"http", "websocket"})
_diagnostics = logging.getLogger("asgi_middleware.metrics")
_OK = 200
_REDIRECT = 300
_SERVER_ERROR = 500
_ACCEPTED = 101  # what the handshake's HTTP response is once the app accepts
_REFUSED = 403  # what servers answer when the app closes before accepting
_EXPORTER_METHODS = ("request_started", "request_finished", "session_started", "session_finished")
# Keys a router leaves in the scope: when none is there, nothing routed the request.
_ROUTER_KEYS = ("router", "litestar_app", "path_template")


class HTTPAttributes(NamedTuple):
    """The attributes of one HTTP request, as the exporters record them.

    A tuple, so an exporter can key its per-series objects on it.

    Attributes:
        method: ``http.request.method``: a known method, else ``"_OTHER"``.
        scheme: ``url.scheme``: ``"http"`` or ``"https"``.
        protocol_version: ``network.protocol.version``: ``"1.1"``, ``"2"``...
        route: ``http.route``: the route template, or the fixed unmatched value; ``None``
            when ``unmatched_route=None`` and no route matched (the attribute is then left out).
        status_code: ``http.response.status_code``; 499 when the client went away or the
            request was cancelled before a response started.
        error_type: ``error.type``, or ``None`` for a request that ended without error.

    Added in version 0.1.0.
    """

    method: str
    scheme: str
    protocol_version: str
    route: str | None
    status_code: int
    error_type: str | None


class WebSocketAttributes(NamedTuple):
    """The attributes of one WebSocket session, as the exporters record them.

    Attributes:
        scheme: ``url.scheme``: ``"ws"`` or ``"wss"``.
        route: ``http.route``, as for HTTP.
        status_code: ``http.response.status_code`` of the handshake: 101 once accepted, the
            denial response's status, 403 when the app closed before accepting, 500 when it
            raised before, 499 when the session was cancelled before.
        error_type: the exception's class name, ``"cancelled"``, or ``None``.

    Added in version 0.1.0.
    """

    scheme: str
    route: str | None
    status_code: int
    error_type: str | None


class Exporter(Protocol):
    """What [`MetricsMiddleware`][asgi_middleware.metrics.MetricsMiddleware] reports to.

    [`PrometheusExporter`][asgi_middleware.metrics.PrometheusExporter] and
    [`OpenTelemetryExporter`][asgi_middleware.metrics.OpenTelemetryExporter] implement it; an
    object with these four plain methods is an exporter too (a statsd client's adapter, a test
    double). They are called on the request path, so they must be quick, and must not block.

    Added in version 0.1.0.
    """

    def request_started(self, method: str, scheme: str) -> None:
        """An HTTP request came in: one more active request for ``(method, scheme)``."""

    def request_finished(
        self,
        attributes: HTTPAttributes,
        duration: float,
        request_body_size: int,
        response_body_size: int,
    ) -> None:
        """An HTTP request ended: one active request less, and its duration (s) and sizes (B)."""

    def session_started(self, scheme: str) -> None:
        """A WebSocket session began: one more open session for ``scheme``."""

    def session_finished(self, attributes: WebSocketAttributes, duration: float) -> None:
        """A WebSocket session ended, after ``duration`` seconds."""


def _require_exporters(value: object) -> tuple[Exporter, ...]:
    rule = (
        "an exporter (PrometheusExporter, OpenTelemetryExporter or an object with "
        f"{', '.join(_EXPORTER_METHODS)}) or a non-empty list of them"
    )
    items: Iterable[object] = (
        (value,)
        if _is_exporter(value)
        else value
        if isinstance(value, Iterable) and not isinstance(value, (str, bytes, Mapping))
        else ()
    )
    exporters = tuple(items)
    for index, exporter in enumerate(exporters):
        if not _is_exporter(exporter):
            raise option_error(TypeError, f"exporters[{index}]", rule, exporter)
    if not exporters:
        kind = (
            ValueError if isinstance(value, Iterable) and not isinstance(value, str) else TypeError
        )
        raise option_error(kind, "exporters", rule, value)
    return exporters  # type: ignore[return-value]  # each one checked by _is_exporter


def _is_exporter(value: object) -> bool:
    return all(callable(getattr(value, name, None)) for name in _EXPORTER_METHODS)


def _require_unmatched(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise option_error(TypeError, "unmatched_route", "a str or None", value)
    if not value or not value.isprintable():
        raise option_error(ValueError, "unmatched_route", "a non-empty printable str", value)
    return value


class MetricsMiddleware:
    """Record HTTP server metrics per route template and hand them to one or more exporters.

    For `http` scopes it records the instruments of the OpenTelemetry HTTP server conventions:
    ``http.server.request.duration`` (seconds, from the call of this layer to the final body
    message), ``http.server.active_requests``, ``http.server.request.body.size`` (the bytes the
    app read, counted from its ``http.request`` messages) and ``http.server.response.body.size``
    (counted from ``http.response.body`` messages): nothing is buffered, the body is never read
    for the app. For `websocket` scopes it records ``asgi.websocket.session.duration`` and
    ``asgi.websocket.active_sessions``. `lifespan` and other scope types pass through.

    ``http.route`` is the route template (``/items/{item_id}``), never the raw path: read from
    what Starlette, FastAPI (``scope["route"]``, mounts and router prefixes included) and
    Litestar (``scope["path_template"]``) leave in the scope after routing, or from ``route``.
    When other layers that build a new scope sit between this one and the framework's app,
    [`capture_route`][asgi_middleware.metrics.capture_route] must be around the app:
    [`compose`][asgi_middleware.compose] puts it there by itself. A request no
    route matched (a 404, a 405) is recorded under ``unmatched_route``, never dropped and never
    by its path.

    Errors: an exception before the response started is status 500 with ``error.type`` the
    exception's class name, and propagates; a 5xx response has ``error.type`` its status; a
    cancelled request is recorded with ``error.type`` ``"cancelled"`` and a client that left
    before the response was complete with ``"disconnected"``, both with status 499 when no
    response had started (never as a 500). Recording never raises into the request: a failing
    exporter is reported to ``logging.getLogger("asgi_middleware.metrics")``.

    Args:
        app: The ASGI application to wrap.
        exporters: A [`PrometheusExporter`][asgi_middleware.metrics.PrometheusExporter], an
            [`OpenTelemetryExporter`][asgi_middleware.metrics.OpenTelemetryExporter], or a list
            of exporters; each gets every measurement.
        route: A plain function ``(scope) -> str | None`` giving the route template, for
            frameworks whose router leaves nothing in the scope (Django, Quart: see the docs).
            It is called after the app returned, with the scope the app was given; ``None``
            falls back to what the router left.
        unmatched_route: The ``http.route`` of a request no route matched. ``None`` leaves the
            attribute out (an empty label in Prometheus).
        exclude_paths: Paths not measured at all: ``"/metrics"`` exact, ``"/static/*"`` a
            prefix, relative to ``root_path``. Default: ``("/metrics", "/metrics/")``, so
            scrapes stay out of the metrics they read, also when ``metrics_app`` is mounted
            (a Starlette ``Mount("/metrics", ...)`` serves ``/metrics/`` and redirects
            ``/metrics`` there).
        known_methods: The methods recorded as themselves; any other is ``"_OTHER"``, so a
            client cannot make a series per made-up method. Default: the conventions' nine.

    Example:
        ```python
        exporter = PrometheusExporter()
        app = MetricsMiddleware(app, exporters=exporter)
        ```

    Added in version 0.1.0.
    """

    __slots__ = (
        "_exclude",
        "_exporters",
        "_methods",
        "_route",
        "_templates",
        "_unmatched",
        "_warned",
        "app",
    )
    _compose_role = "metrics"
    # compose() wraps the app in capture_route once, innermost, when this layer is in the stack.
    _compose_app_wrapper = staticmethod(capture_route)

    def __init__(
        self,
        app: ASGIApp,
        *,
        exporters: Exporter | Sequence[Exporter],
        route: Callable[[Scope], str | None] | None = None,
        unmatched_route: str | None = UNMATCHED_ROUTE,
        exclude_paths: Sequence[str] = ("/metrics", "/metrics/"),
        known_methods: Sequence[str] = KNOWN_METHODS,
    ) -> None:
        self.app = app
        check_position(self, app)
        self._exporters = _require_exporters(exporters)
        self._route = None if route is None else require_sync_callable("route", route)
        self._unmatched = _require_unmatched(unmatched_route)
        matcher = PathMatcher("exclude_paths", exclude_paths)
        self._exclude: PathMatcher | None = matcher if matcher else None
        methods = require_strings("known_methods", known_methods, _require_token)
        self._methods = {method: method for method in methods}
        self._templates = RouteTemplates()
        self._warned = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        kind = scope["type"]
        exclude = self._exclude
        if kind not in _HANDLED or (exclude is not None and exclude.matches(scope)):
            await self.app(scope, receive, send)
            return
        # The state dict capture_route writes into: the server's, or one made for this request.
        inner = scope if scope.get("state") is not None else {**scope, "state": {}}
        if kind == "websocket":
            await self._session(scope, inner, receive, send)
            return
        method = self._methods.get(scope.get("method", ""), OTHER_METHOD)
        scheme = scope.get("scheme", "http")
        self._started(method, scheme)
        tracker = ResponseTracker()
        received = 0
        send_error: OSError | None = None

        async def receive_wrapper() -> Message:
            nonlocal received
            message: Message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            else:
                tracker.received(message)
            return message

        async def send_wrapper(message: Message) -> None:
            nonlocal send_error
            tracker.sent(message)
            try:
                await send(message)
            except OSError as exc:  # ASGI 2.4: send raises OSError once the client has gone
                tracker.disconnected = True
                send_error = exc
                raise

        error: BaseException | None = None
        try:
            await self.app(inner, receive_wrapper, send_wrapper)
        except BaseException as exc:
            if is_cancellation(exc):
                tracker.cancelled = True
            elif exc is not send_error:
                error = exc
            raise
        finally:
            attributes = self._attributes(scope, inner, tracker, error)
            duration = tracker.total_ms() / 1000
            sent = tracker.bytes_sent
            for exporter in self._exporters:
                # One exporter's failure never breaks the request nor the next exporter.
                try:
                    exporter.request_finished(attributes, duration, received, sent)
                # Free in 3.11+ without an exception, and one failure must not skip the rest.
                except Exception:  # noqa: BLE001, PERF203
                    _diagnostics.exception("a metrics exporter failed in request_finished")

    def _started(self, method: str, scheme: str) -> None:
        for exporter in self._exporters:
            try:
                exporter.request_started(method, scheme)
            except Exception:  # noqa: BLE001, PERF203 - as in request_finished
                _diagnostics.exception("a metrics exporter failed in request_started")

    def _attributes(
        self,
        scope: Scope,
        inner: Scope,
        tracker: ResponseTracker,
        error: BaseException | None,
    ) -> HTTPAttributes:
        """What a finished request is recorded under."""
        raw_method = scope.get("method", "")
        method = self._methods.get(raw_method, OTHER_METHOD)
        status = tracker.outcome(error)
        if error is not None:
            error_type: str | None = type(error).__qualname__
        elif tracker.cancelled:
            error_type = CANCELLED
        elif tracker.disconnected:
            error_type = DISCONNECTED
        else:
            error_type = str(status) if status >= _SERVER_ERROR else None
        route = self._template(scope, inner, raw_method, answered=_OK <= status < _REDIRECT)
        scheme = scope.get("scheme", "http")
        version = scope.get("http_version", "1.1")
        return HTTPAttributes(method, scheme, version, route, status, error_type)

    async def _session(self, scope: Scope, inner: Scope, receive: Receive, send: Send) -> None:
        scheme = scope.get("scheme", "ws")
        for exporter in self._exporters:
            _report(exporter.session_started, scheme)
        begin = now()
        status = 0

        def send_wrapper(message: Message) -> Awaitable[None]:
            nonlocal status
            if not status:
                kind = message["type"]
                if kind == "websocket.accept":
                    status = _ACCEPTED
                elif kind == "websocket.close":
                    status = _REFUSED
                elif kind == "websocket.http.response.start":
                    status = message["status"]
            return send(message)

        error_type: str | None = None
        try:
            await self.app(inner, receive, send_wrapper)
        except BaseException as exc:
            cancelled = is_cancellation(exc)
            error_type = CANCELLED if cancelled else type(exc).__qualname__
            if not status:
                status = CLIENT_CLOSED if cancelled else _SERVER_ERROR
            raise
        finally:
            # An app that returned without accepting is refused by the server, with a 403.
            attributes = WebSocketAttributes(
                scheme,
                self._template(scope, inner, None, answered=status == _ACCEPTED),
                status or _REFUSED,
                error_type,
            )
            duration = since_ms(begin) / 1000
            for exporter in self._exporters:
                _report(exporter.session_finished, attributes, duration)

    def _template(
        self, scope: Scope, inner: Scope, method: str | None, *, answered: bool
    ) -> str | None:
        """The request's ``http.route``: the user's function, else what the router left.

        ``answered``: the app answered with success (2xx, or an accepted WebSocket), so a router,
        if there is one, ran; only then does a missing router key say that ``capture_route``
        is missing (a refusal by an outer layer never reaches the router).
        """
        template = None
        if self._route is not None:
            try:
                answer: object = self._route(inner)
            except Exception:  # noqa: BLE001 - never into the request; the router may know
                _diagnostics.exception("the route function of MetricsMiddleware raised")
            else:
                template = answer if isinstance(answer, str) else None
        if template is None:
            view: Mapping[str, Any] = inner["state"].get(ROUTING_KEY) or inner
            try:
                template = self._templates.template(view, method, scope)
            except Exception:  # noqa: BLE001 - a router's object we could not read
                _diagnostics.exception("could not read the route template of a request")
            if template is None:
                if answered and not self._warned and self._route is None and not _routed(view):
                    self._warned = True
                    _diagnostics.warning(
                        "MetricsMiddleware found no router's keys in the scope, so every "
                        "request is recorded as http.route=%r: put capture_route() around the "
                        "framework's app when other layers sit between them, or pass route=",
                        self._unmatched,
                    )
                template = self._unmatched
        return template


def _routed(view: Mapping[str, Any]) -> bool:
    return any(key in view for key in _ROUTER_KEYS)


def _report(method: Callable[..., None], *args: Any) -> None:
    """Call an exporter; a failure is logged, never raised into the request."""
    try:
        method(*args)
    except Exception:  # noqa: BLE001 - recording never breaks a request (SPEC §15)
        _diagnostics.exception("a metrics exporter failed in %s", method.__name__)
