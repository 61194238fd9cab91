"""Access log: one structlog event per HTTP request or WebSocket session (SPEC §6)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from time import perf_counter_ns
from typing import Any

import structlog
from structlog.typing import BindableLogger

from asgi_middleware._kit.config import require_bool, require_strings, require_token

# The variable behind get_request_id(), read directly on the request path.
from asgi_middleware._kit.context import (
    CLIENT_CLOSED,
    REQUEST_ID,
    is_cancellation,
    structlog_contextvar,
)
from asgi_middleware._kit.headers import get_header
from asgi_middleware._kit.paths import PathMatcher
from asgi_middleware._kit.types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware.access_log._redact import (
    DEFAULT_REDACT_HEADERS,
    DEFAULT_REDACT_QUERY_PARAMS,
    capped_text,
    client_text,
    query_redactor,
    redact_headers,
    safe_text,
)

__all__ = [
    "DEFAULT_REDACT_HEADERS",
    "DEFAULT_REDACT_QUERY_PARAMS",
    "HTTP_EVENT",
    "WEBSOCKET_EVENT",
    "AccessLogMiddleware",
]

#: The event name of an HTTP request's access-log event.
HTTP_EVENT = "http_request"
#: The event name of a WebSocket session's access-log event.
WEBSOCKET_EVENT = "websocket_session"

_diagnostics = logging.getLogger("asgi_middleware.access_log")
_LEVELS = frozenset({"debug", "info", "warning", "error", "critical"})
_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
_DEFAULT_LEVELS = {"1xx": "info", "2xx": "info", "3xx": "info", "4xx": "warning", "5xx": "error"}
_USER_AGENT = b"user-agent"
_SERVER_ERROR = 500
_PATH = structlog_contextvar("path")
_METHOD = structlog_contextvar("method")
_REQUEST_ID = structlog_contextvar("request_id")
_FINAL_TYPES = frozenset({"http.response.pathsend", "http.response.zerocopysend"})


def _check_level(option: str, value: str) -> str:
    if value not in _LEVELS:
        msg = f"{option} must be one of {sorted(_LEVELS)}, got {value!r}"
        raise ValueError(msg)
    return value


def _check_logger(logger: object) -> None:
    if isinstance(logger, (logging.Logger, logging.LoggerAdapter)):
        # A stdlib logger has info() but refuses the event's keyword fields at every request.
        msg = (
            "logger must be a structlog logger, not a stdlib one (use "
            f"structlog.stdlib.get_logger(name) or structlog.wrap_logger(logger)), got {logger!r}"
        )
        raise TypeError(msg)
    # Checked on the type: getattr() on structlog's lazy proxy would bind it, and with
    # cache_logger_on_first_use freeze the configuration of the moment, before configure().
    if not isinstance(logger, BindableLogger) and not all(
        callable(getattr(type(logger), name, None)) for name in _LEVELS
    ):
        msg = f"logger must be a structlog logger with debug() to critical(), got {logger!r}"
        raise TypeError(msg)


def _level_table(levels: object) -> tuple[str, ...]:
    table = dict(_DEFAULT_LEVELS)
    if levels is not None:
        if not isinstance(levels, Mapping):
            msg = f"levels must be a mapping of status class to level name, got {levels!r}"
            raise TypeError(msg)
        for key, value in levels.items():
            if key not in table:
                msg = f"levels keys must be one of {list(_CLASSES)}, got {key!r}"
                raise ValueError(msg)
            if not isinstance(value, str):
                msg = f"levels[{key!r}] must be a str, got {value!r}"
                raise TypeError(msg)
            table[key] = _check_level(f"levels[{key!r}]", value)
    # Indexed by status // 100; index 0 is for a status that was never sent.
    return (table["2xx"], *(table[name] for name in _CLASSES))


def _names(option: str, value: Iterable[str], *, header: bool) -> frozenset[Any]:
    check = require_token if header else None
    names = [name.lower() for name in require_strings(option, value, check)]
    return frozenset(name.encode("ascii") for name in names) if header else frozenset(names)


class AccessLogMiddleware:
    """Emit one structured (structlog) event per HTTP request and per WebSocket session.

    For `http` scopes, the event ``http_request`` is emitted when the app returns or raises:
    after the final body byte (or a client disconnect), and after whatever the app still does
    once the response is out, so that an exception raised then is in the event too (Starlette's
    error middleware sends its 500 first and re-raises afterwards). For `websocket` scopes, the
    event ``websocket_session`` is emitted when the app's handler returns. `lifespan` and other
    scope types pass through. Field names are stable; the docs list them with their types.

    While the request runs, ``method``, ``path`` and ``request_id`` are bound in structlog's
    contextvars (reset afterwards), so the app's own structlog events carry them when the
    configuration merges contextvars. The request ID comes from
    [`RequestIDMiddleware`][asgi_middleware.RequestIDMiddleware] placed outside this one
    (``get_request_id()``, else ``scope["state"]["request_id"]``).

    Durations use ``time.perf_counter_ns()`` from the moment this middleware is called:
    ``ttfb_ms`` when the app sends ``http.response.start``, ``duration_ms`` when it sends the
    final body message, however long the app runs after that. An exception is logged once,
    with its traceback (``exc_info``), with status 500 when no response had started (a started
    response keeps its status), and then re-raised unchanged. A cancelled request (asyncio's
    ``CancelledError``, trio's ``Cancelled``: a server cancelling on disconnect or at shutdown,
    a timeout) is no error: the event has ``cancelled=True``, status 499 when no response had
    started, and the ``"4xx"`` level unless the response had completed; the cancellation
    propagates. Emitting the event never raises into the request: a failing logger is reported
    to ``logging.getLogger("asgi_middleware.access_log")``.

    Args:
        app: The ASGI application to wrap.
        logger: The structlog logger to emit with. Default:
            ``structlog.get_logger("asgi_middleware.access")``, configured however the
            application configured structlog; this package never configures it. A stdlib
            ``logging.Logger`` is refused: route it through ``structlog.stdlib`` instead.
        levels: Log level per status class, merged over the default
            ``{"4xx": "warning", "5xx": "error"}`` (everything else ``"info"``); keys
            ``"1xx"`` to ``"5xx"``, values ``"debug"``, ``"info"``, ``"warning"``, ``"error"`` or
            ``"critical"``. An exception is always logged at the ``"5xx"`` level.
        exclude_paths: Paths not logged unless the status is 500 or more or the app raised:
            ``"/health"`` exact, ``"/static/*"`` a prefix, relative to ``root_path``.
        log_headers: Whether to add ``request_headers`` and ``response_headers`` to the event.
        redact_headers: Header names whose values are logged as ``"[redacted]"``. Default:
            ``authorization``, ``proxy-authorization``, ``cookie``, ``set-cookie``,
            ``x-api-key``, ``x-amz-security-token`` and other credential names (see the docs).
        redact_query_params: Query parameter names (case-insensitive, percent-decoded) whose
            values are logged as ``"[redacted]"``. Default: ``token``, ``password``,
            ``api_key``, ``secret`` and other common credential names (see the docs). Both
            defaults come from one list of names, each in its ``_`` and ``-`` spelling.

    Security:
        Credentials stay out of logs by default: headers are not logged unless asked, and
        then with the sensitive ones redacted; sensitive query parameters are always
        redacted. Client-controlled text (path, query, user agent, headers) has control
        characters escaped, so a percent-encoded newline cannot forge a log line even with a
        plain-text renderer. The user agent and every logged header value are cut at 512
        characters, marked ``[truncated]``.

    Example:
        ```python
        app = compose(
            app, RequestIDMiddleware, Layer(AccessLogMiddleware, exclude_paths=["/health"])
        )
        ```

    Added in version 0.1.0.
    """

    __slots__ = ("_settings", "app")
    _compose_role = "access_log"

    def __init__(
        self,
        app: ASGIApp,
        *,
        logger: Any = None,
        levels: Mapping[str, str] | None = None,
        exclude_paths: Iterable[str] = (),
        log_headers: bool = False,
        redact_headers: Iterable[str] = DEFAULT_REDACT_HEADERS,
        redact_query_params: Iterable[str] = DEFAULT_REDACT_QUERY_PARAMS,
    ) -> None:
        self.app = app
        if logger is None:
            logger = structlog.get_logger("asgi_middleware.access")
        else:
            _check_logger(logger)
        self._settings = _Settings(
            logger=logger,
            levels=_level_table(levels),
            exclude=PathMatcher("exclude_paths", exclude_paths),
            log_headers=require_bool("log_headers", log_headers),
            header_names=_names("redact_headers", redact_headers, header=True),
            query_names=_names("redact_query_params", redact_query_params, header=False),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        kind = scope["type"]
        if kind == "http":
            record: _HTTPRecord | _WebSocketRecord = _HTTPRecord(
                self._settings, scope, receive, send
            )
        elif kind == "websocket":
            record = _WebSocketRecord(self._settings, scope, receive, send)
        else:
            await self.app(scope, receive, send)
            return
        # structlog contextvars, set directly (see structlog_contextvar) and reset in finally.
        path_token = _PATH.set(record.path)
        method_token = _METHOD.set(scope.get("method", "")) if kind == "http" else None
        id_token = None if record.request_id is None else _REQUEST_ID.set(record.request_id)
        try:
            await self.app(scope, record.receive, record.send)
        except BaseException as exc:
            # A cancelled request (client gone, shutdown, timeout) is recorded as such, not as
            # a failure of the app's; either way the exception propagates.
            if is_cancellation(exc):
                record.cancelled = True
            else:
                record.failed(exc)
            raise
        finally:
            try:
                record.finish()
            finally:
                if id_token is not None:
                    _REQUEST_ID.reset(id_token)
                if method_token is not None:
                    _METHOD.reset(method_token)
                _PATH.reset(path_token)


class _Settings:
    """The middleware's precomputed options, shared by the per-request records."""

    __slots__ = (
        "exclude",
        "header_names",
        "levels",
        "log_headers",
        "logger",
        "query_names",
        "redact_query",
    )

    def __init__(
        self,
        *,
        logger: Any,
        levels: tuple[str, ...],
        exclude: PathMatcher,
        log_headers: bool,
        header_names: frozenset[bytes],
        query_names: frozenset[str],
    ) -> None:
        self.logger = logger
        self.levels = levels
        self.exclude = exclude
        self.log_headers = log_headers
        self.header_names = header_names
        self.query_names = query_names
        self.redact_query = query_redactor(query_names)

    def skip(self, scope: Scope, status: int | None, error: BaseException | None) -> bool:
        """Whether an excluded path's event is left out (never for 5xx or an exception)."""
        if error is not None or (status is not None and status >= _SERVER_ERROR):
            return False
        return self.exclude.matches(scope)

    def user_agent(self, scope: Scope) -> str | None:
        """The ``User-Agent`` request header as escaped text, cut to a sane length."""
        raw = get_header(scope.get("headers", ()), _USER_AGENT)
        return None if raw is None else capped_text(raw)

    def log(
        self,
        event: str,
        status: int | None,
        error: BaseException | None,
        fields: dict[str, Any],
        *,
        cut_short: bool,
    ) -> None:
        """Emit the event at the level its outcome calls for.

        ``cut_short``: cancelled before the response or session was over. That is the client
        closing the request (499), not a server error, so it takes the 4xx level whatever status
        had been sent.
        """
        if error is not None:
            level = self.levels[5]
            fields["exc_info"] = error
        elif cut_short:
            level = self.levels[4]
        elif status is not None and 100 <= status < 600:  # noqa: PLR2004 - valid status codes
            level = self.levels[status // 100]
        else:
            level = self.levels[0]
        getattr(self.logger, level)(event, **fields)


class _Record:
    """What every record holds: when it started, where it goes, and how it ended."""

    __slots__ = (
        "cancelled",
        "disconnected",
        "error",
        "path",
        "receive_from",
        "request_id",
        "scope",
        "send_to",
        "settings",
        "started",
    )
    event: str  # the event name, set by each subclass

    def __init__(self, settings: _Settings, scope: Scope, receive: Receive, send: Send) -> None:
        self.started = perf_counter_ns()
        self.settings = settings
        self.scope = scope
        self.receive_from = receive
        self.send_to = send
        self.request_id = _request_id(scope)
        self.path = safe_text(scope.get("path", ""))
        self.disconnected = False
        self.cancelled = False
        self.error: BaseException | None = None

    def failed(self, error: BaseException) -> None:
        self.error = error

    def finish(self) -> None:
        try:
            self._emit()
        # The logging path never raises into the request (SPEC §6); the failure is reported.
        except Exception:  # noqa: BLE001
            _diagnostics.exception("could not emit the access-log event %s", self.event)

    def _emit(self) -> None:
        raise NotImplementedError  # pragma: no cover - every subclass defines it


class _HTTPRecord(_Record):
    """What one HTTP request did, filled in by its receive and send wrappers."""

    __slots__ = (
        "bytes_sent",
        "complete",
        "finished",
        "response_headers",
        "send_error",
        "status",
        "trailers",
        "ttfb",
    )
    event = HTTP_EVENT

    def __init__(self, settings: _Settings, scope: Scope, receive: Receive, send: Send) -> None:
        super().__init__(settings, scope, receive, send)
        self.status = 0
        self.ttfb: int | None = None
        self.finished: int | None = None
        self.bytes_sent = 0
        self.trailers = False
        self.complete = False
        self.response_headers: Any = ()
        self.send_error: OSError | None = None

    async def receive(self) -> Message:
        message = await self.receive_from()
        # After the response, a disconnect is how every server ends the exchange.
        if message["type"] == "http.disconnect" and not self.complete:
            self.disconnected = True
        return message

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            self.bytes_sent += len(message.get("body", b""))
            if not message.get("more_body", False):
                self.finished = perf_counter_ns()
                self.complete = not self.trailers
        elif kind == "http.response.start":
            self.ttfb = perf_counter_ns()
            self.status = message["status"]
            self.trailers = message.get("trailers", False) is True
            self.response_headers = message.get("headers", ())
        elif kind == "http.response.trailers":
            self.complete = not message.get("more_trailers", False)
        elif kind in _FINAL_TYPES and not message.get("more_body", False):
            self.finished = perf_counter_ns()
            self.complete = not self.trailers
        try:
            await self.send_to(message)
        except OSError as exc:  # ASGI 2.4: send raises OSError once the client has gone
            self.disconnected = True
            self.send_error = exc
            raise

    def failed(self, error: BaseException) -> None:
        # The OSError a server raised for a gone client is a disconnect, not an app error.
        if error is not self.send_error:
            self.error = error

    def _emit(self) -> None:
        if not self.status:
            closed = self.cancelled or (self.disconnected and self.error is None)
            self.status = CLIENT_CLOSED if closed else _SERVER_ERROR
        settings, scope, status, started = self.settings, self.scope, self.status, self.started
        if settings.exclude and settings.skip(scope, status, self.error):
            return
        end = perf_counter_ns() if self.finished is None else self.finished
        ttfb = self.ttfb
        query = scope.get("query_string", b"")
        fields = {
            "method": scope.get("method", ""),
            "path": self.path,
            "query": settings.redact_query(query) if query else "",
            "status": status,
            "duration_ms": _milliseconds(end - started),
            "ttfb_ms": None if ttfb is None else _milliseconds(ttfb - started),
            "bytes_sent": self.bytes_sent,
            "client": client_text(scope.get("client")),
            "http_version": scope.get("http_version", "1.1"),
            "user_agent": settings.user_agent(scope),
            "request_id": self.request_id,
            "disconnected": self.disconnected,
            "cancelled": self.cancelled,
        }
        if settings.log_headers:
            fields["request_headers"] = redact_headers(
                scope.get("headers", ()), settings.header_names
            )
            fields["response_headers"] = redact_headers(
                self.response_headers, settings.header_names
            )
        cut_short = self.cancelled and not self.complete
        settings.log(HTTP_EVENT, status, self.error, fields, cut_short=cut_short)


class _WebSocketRecord(_Record):
    """What one WebSocket session did, filled in by its receive and send wrappers."""

    __slots__ = ("close_code", "status")
    event = WEBSOCKET_EVENT

    def __init__(self, settings: _Settings, scope: Scope, receive: Receive, send: Send) -> None:
        super().__init__(settings, scope, receive, send)
        self.status: int | None = None
        self.close_code: int | None = None

    async def receive(self) -> Message:
        message = await self.receive_from()
        if message["type"] == "websocket.disconnect" and self.close_code is None:
            self.close_code = message.get("code", 1005)  # ASGI: 1005 when the client gave none
            self.disconnected = True
        return message

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.accept":
            self.status = 101
        elif kind == "websocket.close":
            if self.close_code is None:
                self.close_code = message.get("code", 1000)
            if self.status is None:
                self.status = 403  # closed before accepting: the server answers 403
        elif kind == "websocket.http.response.start":
            self.status = message["status"]
        await self.send_to(message)

    def _emit(self) -> None:
        settings, scope = self.settings, self.scope
        if self.status is None:
            if self.error is not None:
                self.status = _SERVER_ERROR
            elif self.cancelled:
                self.status = CLIENT_CLOSED
        if settings.exclude and settings.skip(scope, self.status, self.error):
            return
        query = scope.get("query_string", b"")
        fields = {
            "path": self.path,
            "query": settings.redact_query(query) if query else "",
            "status": self.status,
            "close_code": self.close_code,
            "duration_ms": _milliseconds(perf_counter_ns() - self.started),
            "client": client_text(scope.get("client")),
            "http_version": scope.get("http_version", "1.1"),
            "user_agent": settings.user_agent(scope),
            "request_id": self.request_id,
            "disconnected": self.disconnected,
            "cancelled": self.cancelled,
        }
        if settings.log_headers:
            fields["request_headers"] = redact_headers(
                scope.get("headers", ()), settings.header_names
            )
        cut_short = self.cancelled and self.close_code is None
        settings.log(WEBSOCKET_EVENT, self.status, self.error, fields, cut_short=cut_short)


def _milliseconds(nanoseconds: int) -> float:
    # Microsecond resolution, as a float of milliseconds: 1234567 ns -> 1.234.
    return nanoseconds // 1000 / 1000


def _request_id(scope: Scope) -> str | None:
    request_id = REQUEST_ID.get()
    if request_id is None:
        state = scope.get("state")
        value = state.get("request_id") if isinstance(state, Mapping) else None
        request_id = value if isinstance(value, str) else None
    return request_id
