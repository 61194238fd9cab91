"""Request timing: ``Server-Timing``, ``X-Process-Time`` and a metrics callback."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from time import perf_counter_ns
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, ParamSpec, TypeVar, cast

from asgi_middleware._kit.config import require_bool, require_sync_callable, require_token
from asgi_middleware._kit.context import is_cancellation
from asgi_middleware._kit.headers import (
    HeaderNames,
    add_headers,
    get_all,
    get_first,
    with_headers,
)
from asgi_middleware._kit.order import check_position
from asgi_middleware._kit.tracker import ResponseTracker, milliseconds, now, since_ms
from asgi_middleware._kit.types import ASGIApp, Message, RawHeaders, Receive, Scope, Send
from asgi_middleware.timing._server_timing import (
    format_entry,
    metric_names,
    require_description,
    require_duration,
    require_metric_name,
    require_timing_allow_origin,
)

if TYPE_CHECKING:  # typing.Self is new in 3.11; annotations are never evaluated at run time
    from typing_extensions import Self

__all__ = [
    "MetricTimer",
    "TimingMetric",
    "TimingMiddleware",
    "TimingResult",
    "record_timing",
    "timed",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")

_logger = logging.getLogger("asgi_middleware.timing")

# WebSocket sessions pass through: they have no response header to carry a timing (SPEC §7);
# their duration is in the access log's session event.
_HANDLED = frozenset({"http"})

# The metrics list of the request being served. A list, not a tuple: contexts copied from the
# request's (Starlette's thread pool, task groups) share it, so metrics recorded there count too.
_METRICS: ContextVar[list[TimingMetric] | None] = ContextVar(
    "asgi_middleware.timing.metrics", default=None
)

_SERVER_TIMING = b"server-timing"
# Room in Server-Timing for the metrics the app recorded, in bytes.
_RECORDED_BYTES = 2048
_PROCESS_TIME = b"x-process-time"
_TIMING_ALLOW_ORIGIN = b"timing-allow-origin"


class TimingMetric(NamedTuple):
    """One ``Server-Timing`` metric: a name, a duration in milliseconds and a description.

    What [`record_timing`][asgi_middleware.timing.record_timing] and
    [`timed`][asgi_middleware.timing.timed] record, and what
    [`TimingResult.metrics`][asgi_middleware.timing.TimingResult] holds.

    Attributes:
        name: The metric name, an HTTP token.
        duration_ms: The duration in milliseconds.
        description: The metric's description, or ``None``.

    Added in version 0.1.0.
    """

    name: str
    duration_ms: float
    description: str | None = None


def record_timing(name: str, duration_ms: float, description: str | None = None) -> None:
    """Record a metric of the current request, for ``Server-Timing`` and the callback.

    Metrics recorded before the response starts appear in the ``Server-Timing`` header, in the
    order recorded, before the middleware's own entry, up to 2 KiB of them (so a loop of timed
    queries cannot push the response headers past a proxy's limit); all of them reach the
    callback's [`TimingResult.metrics`][asgi_middleware.timing.TimingResult]. A name may be
    recorded more than once. Outside a request served by `TimingMiddleware` (a WebSocket, a
    script, a test without the middleware) the call checks its arguments and does nothing else.

    Args:
        name: The metric name, an HTTP token such as ``db`` or ``cache.read``.
        duration_ms: How long it took, in milliseconds: a finite number >= 0.
        description: Optional text shown next to the metric (visible ASCII, spaces and tabs);
            it is quoted and escaped as the header needs.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If the name is not a token, the duration is negative or not finite, or the
            description holds control or non-ASCII characters, so no invalid header is ever built.

    Example:
        ```python
        started = time.perf_counter()
        rows = await db.fetch_all(query)
        record_timing("db", (time.perf_counter() - started) * 1000, "orders query")
        ```

    Added in version 0.1.0.
    """
    metric = TimingMetric(
        require_metric_name("name", name),
        require_duration("duration_ms", duration_ms),
        require_description("description", description),
    )
    metrics = _METRICS.get()
    if metrics is not None:
        metrics.append(metric)


class MetricTimer:
    """Times a block or each call of a function and records it as a metric; see `timed`.

    As a context manager one instance times one block at a time: write ``with timed(...)``
    where the block is, rather than sharing one instance between concurrent tasks. As a
    decorator it is safe everywhere: each call gets a fresh timer.

    Added in version 0.1.0.
    """

    __slots__ = ("_begin", "description", "name")

    def __init__(self, name: str, description: str | None = None) -> None:
        self.name = require_metric_name("name", name)
        self.description = require_description("description", description)
        self._begin = 0

    def __enter__(self) -> Self:
        self._begin = perf_counter_ns()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Recorded even when the block raised: a failing query's time is worth seeing too.
        elapsed = milliseconds(perf_counter_ns() - self._begin)
        metrics = _METRICS.get()
        if metrics is not None:
            metrics.append(TimingMetric(self.name, elapsed, self.description))

    def __call__(self, func: Callable[_P, _R]) -> Callable[_P, _R]:
        """Wrap ``func`` (plain or ``async``) so that every call is timed with a fresh timer."""
        name, description = self.name, self.description
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def timed_coroutine(*args: Any, **kwargs: Any) -> Any:
                with MetricTimer(name, description):
                    return await func(*args, **kwargs)

            return cast("Callable[_P, _R]", timed_coroutine)

        @functools.wraps(func)
        def timed_function(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            with MetricTimer(name, description):
                return func(*args, **kwargs)

        return timed_function


def timed(name: str, description: str | None = None) -> MetricTimer:
    """Record how long a ``with`` block, or every call of a decorated function, takes.

    The duration is recorded as with [`record_timing`][asgi_middleware.timing.record_timing],
    also when the block raises. A decorated ``async def`` is timed until it returns.

    Args:
        name: The metric name, an HTTP token.
        description: Optional description, as for `record_timing`.

    Returns:
        A context manager that is also a decorator.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If the name is not a token or the description cannot be sent.

    Example:
        ```python
        with timed("db", "orders query"):
            rows = await db.fetch_all(query)
        ```

    Added in version 0.1.0.
    """
    return MetricTimer(name, description)


class TimingResult(NamedTuple):
    """What the callback of `TimingMiddleware` receives, once per HTTP request.

    Its durations, ``ttfb_ms`` and ``total_ms``, are rounded to the microsecond by the code that
    computes the access log's ``ttfb_ms`` and ``duration_ms``.

    Attributes:
        scope: The request's scope (read it, do not change it).
        status: The status sent; when no response started, 499 if the request was cancelled
            (asyncio's ``CancelledError``, trio's ``Cancelled``: the client left, the server
            shut down, a timeout fired), else 500 (the app raised or returned without one).
        ttfb_ms: Milliseconds from the middleware's call to ``http.response.start``, or ``None``
            when no response started. The value ``Server-Timing`` carries.
        total_ms: Milliseconds from the middleware's call until the app sent the final body
            message (or ``pathsend``); when the response never completed, until the app
            returned or raised.
        completed: Whether the final body message was sent.
        metrics: Everything the app recorded, including after the response started.

    Added in version 0.1.0.
    """

    scope: Scope
    status: int
    ttfb_ms: float | None
    total_ms: float
    completed: bool
    metrics: tuple[TimingMetric, ...]


class TimingMiddleware:
    """Measure each HTTP request and report it in ``Server-Timing`` and to a callback.

    The clock (``time.perf_counter_ns``) starts when the middleware is called and gives two
    durations in milliseconds, rounded to the microsecond, computed by the same code as the
    access log's ``ttfb_ms`` and ``duration_ms``:

    * **time to first byte** (``ttfb``): until the app sends ``http.response.start``. It is the
      only duration a response header can carry, so it is the one ``Server-Timing`` (as the
      ``app`` metric) and ``X-Process-Time`` show, like the FastAPI recipe.
    * **total**: until the app sends the final body message, streaming included. Only the
      callback can carry it.

    Per scope type: ``http`` is measured; ``websocket``, ``lifespan`` and others pass through
    untouched (a WebSocket session has no response header to carry a timing: its duration is in
    the access log's session event), and `record_timing` does nothing there.

    Metrics the app records with [`record_timing`][asgi_middleware.timing.record_timing] or
    [`timed`][asgi_middleware.timing.timed] before its response starts are added to
    ``Server-Timing`` after any value the app set itself, which is kept. If that value already
    has a metric named ``metric_name`` (a second `TimingMiddleware` with the same name, say), the
    middleware's own entry is not added again.

    Security:
        Durations are a side channel: they can tell a cache hit from a miss, or an existing user
        from an unknown one. ``Server-Timing`` is readable by any script of the page's origin and,
        through the Resource Timing API, by other origins listed in ``timing_allow_origin``. Keep
        internal metric names and descriptions free of secrets, and consider
        ``server_timing=False`` for public endpoints where timing differences matter.

    Args:
        app: The ASGI application to wrap.
        server_timing: Add the ``Server-Timing`` header; ``False`` keeps timings internal (the
            callback still gets them).
        metric_name: Name of the middleware's own ``Server-Timing`` metric, an HTTP token.
        metric_description: Optional ``desc`` of that metric, shown in browser devtools.
        process_time_header: Also set ``X-Process-Time`` to the time to first byte in seconds,
            as the FastAPI documentation's recipe does.
        timing_allow_origin: ``"*"`` or a list of origins to send as ``Timing-Allow-Origin``, so
            those origins' pages can read the timings through the Resource Timing API. ``None``
            (the default) sends none.
        callback: Called once per HTTP request, after the app returned or raised, with a
            [`TimingResult`][asgi_middleware.timing.TimingResult]. A plain function: keep it
            quick (hand the numbers to a metrics client). If it raises, the error is logged to
            ``asgi_middleware.timing`` and the request is unaffected.

    Raises:
        TypeError: If an option has the wrong type, or ``callback`` is an ``async`` function.
        ValueError: If ``metric_name`` is not a token, a description cannot be sent, or an
            origin is malformed.

    Example:
        ```python
        app = TimingMiddleware(app, timing_allow_origin=["https://app.example"])
        ```

    Added in version 0.1.0.
    """

    _compose_role = "timing"

    __slots__ = (
        "_callback",
        "_metric_name",
        "_only_server_timing",
        "_own_entry",
        "_process_time",
        "_server_timing",
        "_timing_allow_origin",
        "_written",
        "app",
    )

    def __init__(
        self,
        app: ASGIApp,
        *,
        server_timing: bool = True,
        metric_name: str = "app",
        metric_description: str | None = None,
        process_time_header: bool = False,
        timing_allow_origin: str | Sequence[str] | None = None,
        callback: Callable[[TimingResult], object] | None = None,
    ) -> None:
        self.app = app
        check_position(self, app)
        self._server_timing = require_bool("server_timing", server_timing)
        name = require_token("metric_name", metric_name)
        description = require_description("metric_description", metric_description)
        # The own entry as one %-format, "app;dur=%.3f;desc=...", '%' in the description escaped.
        own = format_entry(name, 0.0, description).replace("%", "%%")
        self._metric_name = name.encode("ascii")
        self._own_entry = own.replace(";dur=0.000", ";dur=%.3f", 1).encode("ascii")
        self._process_time = require_bool("process_time_header", process_time_header)
        self._timing_allow_origin = require_timing_allow_origin(
            "timing_allow_origin", timing_allow_origin
        )
        self._callback = None if callback is None else require_sync_callable("callback", callback)
        # The response headers the middleware writes: Server-Timing is merged with the app's,
        # the other two replace the app's. None when it writes none.
        written = [
            name
            for name, on in (
                (_SERVER_TIMING, self._server_timing),
                (_PROCESS_TIME, self._process_time),
                (_TIMING_ALLOW_ORIGIN, self._timing_allow_origin is not None),
            )
            if on
        ]
        self._written = HeaderNames(*written) if written else None
        self._only_server_timing = written == [_SERVER_TIMING]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection: measure ``http``, pass everything else through."""
        callback, written = self._callback, self._written
        if scope["type"] not in _HANDLED:
            await self.app(scope, receive, send)
            return
        metrics: list[TimingMetric] = []
        if callback is None:
            if written is None:
                # Nothing to add and nobody to tell: measuring would be wasted work.
                await self.app(scope, receive, send)
                return
            # The one fast path: nobody reads how the response ended, only when it started, so
            # a clock reading does instead of a tracker (the tracker's clock and rounding).
            # Benchmark timing-metrics: 0.43x timing-asgi's overhead with a tracker, 0.40x
            # without, 0.36x with _decorate's shortcut below (1.48 µs, CPU time in process).
            begin = now()

            def send_start(message: Message) -> Awaitable[None]:
                if message["type"] == "http.response.start":
                    message = self._decorate(message, since_ms(begin), metrics, written)
                return send(message)

            token = _METRICS.set(metrics)
            try:
                await self.app(scope, receive, send_start)
            finally:
                _METRICS.reset(token)
            return
        # The tracker the access log uses too: the same clock, end of response and rounding.
        tracker = ResponseTracker()

        # A plain function returning send's awaitable: no extra coroutine per message.
        def send_wrapper(message: Message) -> Awaitable[None]:
            ttfb_ms = tracker.sent(message)  # a float for http.response.start only
            if ttfb_ms is not None and written is not None:
                message = self._decorate(message, ttfb_ms, metrics, written)
            return send(message)

        error: BaseException | None = None
        token = _METRICS.set(metrics)
        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException as exc:
            # Cancelled before responding: the client closed the request, no server error
            # (the access log says 499 too). The cancellation propagates.
            if is_cancellation(exc):
                tracker.cancelled = True
            else:
                error = exc
            raise
        finally:
            _METRICS.reset(token)
            result = TimingResult(
                scope,
                tracker.outcome(error),
                tracker.ttfb_ms,
                tracker.total_ms(),
                tracker.end is not None,
                tuple(metrics),
            )
            try:
                callback(result)
            except Exception:
                # A broken metrics hook must never break a served request; the app's own
                # exceptions still propagate (SPEC §2.7), this one is the middleware's.
                _logger.exception("TimingMiddleware callback %r raised", callback)

    def _decorate(
        self, message: Message, ttfb_ms: float, metrics: list[TimingMetric], written: HeaderNames
    ) -> Message:
        headers: RawHeaders = message.get("headers", ())
        # One look for the headers we write: when the app sent none of them (the usual case),
        # ours are added as they are; else its Server-Timing is merged and the others replaced.
        sent_by_app = get_first(headers, written) is not None
        if self._only_server_timing and not (metrics or sent_by_app):
            # The default options and nothing to merge: the one field, appended.
            field = (_SERVER_TIMING, self._own_entry % ttfb_ms)
            return {**message, "headers": [*headers, field]}
        fields: list[tuple[bytes, bytes]] = []
        if self._server_timing:
            value = self._own_entry % ttfb_ms
            if metrics or sent_by_app:
                # The app's own Server-Timing lines (blank ones dropped) come first.
                existing = [line for line in get_all(headers, _SERVER_TIMING) if line.strip(b" \t")]
                value = self._merge(existing, metrics, value)
            fields.append((_SERVER_TIMING, value))
        if self._process_time:
            fields.append((_PROCESS_TIME, b"%.6f" % (ttfb_ms / 1000)))
        if self._timing_allow_origin is not None:
            fields.append((_TIMING_ALLOW_ORIGIN, self._timing_allow_origin))
        if sent_by_app:
            return {**message, "headers": with_headers(headers, fields, written)}
        return {**message, "headers": add_headers(headers, fields)}

    def _merge(self, existing: list[bytes], metrics: list[TimingMetric], own: bytes) -> bytes:
        entries = list(existing)
        room = _RECORDED_BYTES
        for metric in metrics:
            entry = format_entry(*metric).encode("ascii")
            room -= len(entry) + 2
            if room < 0:
                # A loop of timed queries must not grow a header past proxies' limits (often
                # 4-8 KiB for all response headers): later metrics reach the callback only.
                break
            entries.append(entry)
        if not existing or self._metric_name not in metric_names(b",".join(existing)):
            entries.append(own)
        return b", ".join(entries)
