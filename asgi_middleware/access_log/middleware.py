"""Access log: one structlog event per HTTP request or WebSocket session (SPEC §6)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping, Sequence
from time import perf_counter_ns
from typing import Any

import structlog
from structlog.typing import BindableLogger

from asgi_middleware._kit.config import option_error, require_bool, require_strings, require_token

# REQUEST_ID is the variable behind get_request_id(), read directly on the request path.
from asgi_middleware._kit.context import (
    CLIENT_CLOSED,
    REQUEST_ID,
    is_cancellation,
    structlog_contextvar,
)
from asgi_middleware._kit.headers import HeaderNames, get_first
from asgi_middleware._kit.order import check_position
from asgi_middleware._kit.paths import PathMatcher
from asgi_middleware._kit.tracker import ResponseTracker, milliseconds
from asgi_middleware._kit.types import ASGIApp, Message, RawHeaders, Receive, Scope, Send
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

_HANDLED = frozenset({"http", "websocket"})
_diagnostics = logging.getLogger("asgi_middleware.access_log")
_LEVELS = frozenset({"debug", "info", "warning", "error", "critical"})
_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
_DEFAULT_LEVELS = {"1xx": "info", "2xx": "info", "3xx": "info", "4xx": "warning", "5xx": "error"}
_USER_AGENT = HeaderNames(b"user-agent")
_SERVER_ERROR = 500
_PATH = structlog_contextvar("path")
_METHOD = structlog_contextvar("method")
_REQUEST_ID = structlog_contextvar("request_id")


def _require_level(option: str, value: str) -> str:
    if value not in _LEVELS:
        raise option_error(ValueError, option, f"one of {sorted(_LEVELS)}", value)
    return value


def _require_logger(option: str, logger: object) -> object:
    if isinstance(logger, (logging.Logger, logging.LoggerAdapter)):
        # A stdlib logger has info() but refuses the event's keyword fields at every request.
        rule = (
            "a structlog logger, not a stdlib one (use structlog.stdlib.get_logger(name) or "
            "structlog.wrap_logger(logger))"
        )
        raise option_error(TypeError, option, rule, logger)
    # Checked on the type: getattr() on structlog's lazy proxy would bind it, and with
    # cache_logger_on_first_use freeze the configuration of the moment, before configure().
    if not isinstance(logger, BindableLogger) and not all(
        callable(getattr(type(logger), name, None)) for name in _LEVELS
    ):
        raise option_error(
            TypeError, option, "a structlog logger with debug() to critical()", logger
        )
    return logger


def _level_table(levels: object) -> tuple[str, ...]:
    table = dict(_DEFAULT_LEVELS)
    if levels is not None:
        if not isinstance(levels, Mapping):
            rule = "a mapping of status class to level name"
            raise option_error(TypeError, "levels", rule, levels)
        for key, value in levels.items():
            if key not in table:
                raise option_error(ValueError, "levels keys", f"one of {list(_CLASSES)}", key)
            if not isinstance(value, str):
                raise option_error(TypeError, f"levels[{key!r}]", "a str", value)
            table[key] = _require_level(f"levels[{key!r}]", value)
    # Indexed by status // 100; index 0 is for a status that was never sent.
    return (table["2xx"], *(table[name] for name in _CLASSES))


def _names(option: str, value: object, *, header: bool) -> frozenset[Any]:
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
    final body message, however long the app runs after that; both in milliseconds rounded to
    the microsecond, the numbers [`TimingMiddleware`][asgi_middleware.TimingMiddleware]
    reports. An exception is logged once, with its traceback (``exc_info``), with status 500
    when no response had started (a started response keeps its status), and then re-raised
    unchanged. A cancelled request (asyncio's
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

    __slots__ = (
        "_exclude",
        "_header_names",
        "_levels",
        "_log_headers",
        "_logger",
        "_redact_query",
        "app",
    )
    _compose_role = "access_log"

    def __init__(
        self,
        app: ASGIApp,
        *,
        logger: Any = None,
        levels: Mapping[str, str] | None = None,
        exclude_paths: Sequence[str] = (),
        log_headers: bool = False,
        redact_headers: Sequence[str] = DEFAULT_REDACT_HEADERS,
        redact_query_params: Sequence[str] = DEFAULT_REDACT_QUERY_PARAMS,
    ) -> None:
        self.app = app
        check_position(self, app)
        if logger is None:
            logger = structlog.get_logger("asgi_middleware.access")
        self._logger = _require_logger("logger", logger)
        self._levels = _level_table(levels)
        matcher = PathMatcher("exclude_paths", exclude_paths)
        # None without patterns: the request path then skips matching with one identity test.
        self._exclude: PathMatcher | None = matcher if matcher else None
        self._log_headers = require_bool("log_headers", log_headers)
        self._header_names: frozenset[bytes] = _names("redact_headers", redact_headers, header=True)
        query_names = _names("redact_query_params", redact_query_params, header=False)
        self._redact_query = query_redactor(query_names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        kind = scope["type"]
        if kind not in _HANDLED:
            await self.app(scope, receive, send)
            return
        if kind == "websocket":
            await self._session(scope, receive, send)
            return
        tracker = ResponseTracker()
        path = safe_text(scope.get("path", ""))
        # The ID a RequestIDMiddleware outside set (never ""), else one in the scope's state.
        request_id = REQUEST_ID.get() or _state_request_id(scope)
        log_headers = self._log_headers
        response_headers: RawHeaders = ()
        send_error: OSError | None = None

        async def receive_wrapper() -> Message:
            message: Message = await receive()
            tracker.received(message)
            return message

        # A coroutine, not a plain function returning send's awaitable: only a frame that awaits
        # send can tell the OSError a server raises for a gone client from the app's own.
        async def send_wrapper(message: Message) -> None:
            nonlocal response_headers, send_error
            tracker.sent(message)
            if log_headers and message["type"] == "http.response.start":
                response_headers = message.get("headers", ())
            try:
                await send(message)
            except OSError as exc:  # ASGI 2.4: send raises OSError once the client has gone
                tracker.disconnected = True
                send_error = exc
                raise

        error: BaseException | None = None
        # structlog contextvars, set directly (see structlog_contextvar) and reset in finally.
        path_token = _PATH.set(path)
        method_token = _METHOD.set(scope.get("method", ""))
        # A RequestIDMiddleware outside has usually bound this very ID: then it is left alone.
        id_token = (
            None
            if request_id is None or _REQUEST_ID.get() is request_id
            else _REQUEST_ID.set(request_id)
        )
        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        except BaseException as exc:
            # A cancelled request (client gone, shutdown, timeout) is recorded as such, and the
            # OSError a server raised for a gone client as a disconnect (send_wrapper), not as
            # failures of the app's; either way the exception propagates.
            if is_cancellation(exc):
                tracker.cancelled = True
            elif exc is not send_error:
                error = exc
            raise
        finally:
            try:
                self._log_request(
                    scope, tracker, error, path, request_id, response_headers=response_headers
                )
            # The logging path never raises into the request (SPEC §6); the failure is reported.
            except Exception:  # noqa: BLE001
                _diagnostics.exception("could not emit the access-log event %s", HTTP_EVENT)
            finally:
                if id_token is not None:
                    _REQUEST_ID.reset(id_token)
                _METHOD.reset(method_token)
                _PATH.reset(path_token)

    async def _session(self, scope: Scope, receive: Receive, send: Send) -> None:
        session = _Session(receive, send)
        path = safe_text(scope.get("path", ""))
        request_id = REQUEST_ID.get() or _state_request_id(scope)
        error: BaseException | None = None
        path_token = _PATH.set(path)
        # A RequestIDMiddleware outside has usually bound this very ID: then it is left alone.
        id_token = (
            None
            if request_id is None or _REQUEST_ID.get() is request_id
            else _REQUEST_ID.set(request_id)
        )
        try:
            await self.app(scope, session.receive_wrapper, session.send_wrapper)
        except BaseException as exc:
            if is_cancellation(exc):
                session.cancelled = True
            else:
                error = exc
            raise
        finally:
            try:
                self._log_session(scope, session, error, path, request_id)
            except Exception:  # noqa: BLE001 - as for a request
                _diagnostics.exception("could not emit the access-log event %s", WEBSOCKET_EVENT)
            finally:
                if id_token is not None:
                    _REQUEST_ID.reset(id_token)
                _PATH.reset(path_token)

    def _log_request(
        self,
        scope: Scope,
        tracker: ResponseTracker,
        error: BaseException | None,
        path: str,
        request_id: str | None,
        *,
        response_headers: RawHeaders,
    ) -> None:
        # The status sent, else the tracker's rule for a response that never started.
        status = tracker.status or tracker.outcome(error)
        exclude = self._exclude
        if exclude is not None and _excluded(exclude, scope, status, error):
            return
        query = scope.get("query_string", b"")
        agent = get_first(scope.get("headers", ()), _USER_AGENT)
        fields = {
            "method": scope.get("method", ""),
            "path": path,
            "query": self._redact_query(query) if query else "",
            "status": status,
            "duration_ms": tracker.total_ms(),
            "ttfb_ms": tracker.ttfb_ms,
            "bytes_sent": tracker.bytes_sent,
            "client": client_text(scope.get("client")),
            "http_version": scope.get("http_version", "1.1"),
            "user_agent": None if agent is None else capped_text(agent),
            "request_id": request_id,
            "disconnected": tracker.disconnected,
            "cancelled": tracker.cancelled,
        }
        if self._log_headers:
            names = self._header_names
            fields["request_headers"] = redact_headers(scope.get("headers", ()), names)
            fields["response_headers"] = redact_headers(response_headers, names)
        cut_short = tracker.cancelled and not tracker.complete
        self._emit(HTTP_EVENT, status, error, fields, cut_short=cut_short)

    def _log_session(
        self,
        scope: Scope,
        session: _Session,
        error: BaseException | None,
        path: str,
        request_id: str | None,
    ) -> None:
        status = session.status
        if status is None:
            if error is not None:
                status = _SERVER_ERROR
            elif session.cancelled:
                status = CLIENT_CLOSED
        exclude = self._exclude
        if exclude is not None and _excluded(exclude, scope, status, error):
            return
        query = scope.get("query_string", b"")
        agent = get_first(scope.get("headers", ()), _USER_AGENT)
        fields = {
            "path": path,
            "query": self._redact_query(query) if query else "",
            "status": status,
            "close_code": session.close_code,
            "duration_ms": milliseconds(perf_counter_ns() - session.begin),
            "client": client_text(scope.get("client")),
            "http_version": scope.get("http_version", "1.1"),
            "user_agent": None if agent is None else capped_text(agent),
            "request_id": request_id,
            "disconnected": session.disconnected,
            "cancelled": session.cancelled,
        }
        if self._log_headers:
            fields["request_headers"] = redact_headers(scope.get("headers", ()), self._header_names)
        cut_short = session.cancelled and session.close_code is None
        self._emit(WEBSOCKET_EVENT, status, error, fields, cut_short=cut_short)

    def _emit(
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
        levels = self._levels
        if error is not None:
            level = levels[5]
            fields["exc_info"] = error
        elif cut_short:
            level = levels[4]
        elif status is not None and 100 <= status < 600:  # noqa: PLR2004 - valid status codes
            level = levels[status // 100]
        else:
            level = levels[0]
        getattr(self._logger, level)(event, **fields)


class _Session:
    """What one WebSocket session did, filled in by its receive and send wrappers."""

    __slots__ = ("begin", "cancelled", "close_code", "disconnected", "receive", "send", "status")

    def __init__(self, receive: Receive, send: Send) -> None:
        self.begin = perf_counter_ns()
        self.receive = receive
        self.send = send
        self.status: int | None = None
        self.close_code: int | None = None
        self.disconnected = False
        self.cancelled = False

    async def receive_wrapper(self) -> Message:
        message: Message = await self.receive()
        if message["type"] == "websocket.disconnect" and self.close_code is None:
            self.close_code = message.get("code", 1005)  # ASGI: 1005 when the client gave none
            self.disconnected = True
        return message

    def send_wrapper(self, message: Message) -> Awaitable[None]:
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
        return self.send(message)


def _excluded(
    exclude: PathMatcher, scope: Scope, status: int | None, error: BaseException | None
) -> bool:
    """Whether an excluded path's event is left out (never for 5xx or an exception)."""
    if error is not None or (status is not None and status >= _SERVER_ERROR):
        return False
    return exclude.matches(scope)


def _state_request_id(scope: Scope) -> str | None:
    """A ``str`` in ``scope["state"]["request_id"]``, for an app without ``get_request_id()``."""
    state = scope.get("state")
    if state is not None and isinstance(state, Mapping):
        value = state.get("request_id")
        if isinstance(value, str):
            return value
    return None
