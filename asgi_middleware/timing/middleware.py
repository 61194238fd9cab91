"""Request timing: ``Server-Timing``, ``X-Process-Time`` and a metrics callback."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from time import perf_counter_ns
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, ParamSpec, TypeVar, cast

from asgi_middleware._kit.config import require_bool, require_callable, require_token
from asgi_middleware._kit.context import CLIENT_CLOSED, is_cancellation
from asgi_middleware._kit.headers import get_header
from asgi_middleware._kit.types import ASGIApp, Headers, Message, RawHeaders, Receive, Scope, Send
from asgi_middleware.timing._server_timing import (
    TimingMetric,
    check_description,
    check_duration,
    check_name,
    check_origins,
    format_entry,
    metric_names,
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
# Messages after which the response is complete unless they announce more (ASGI HTTP spec).
_FINAL = frozenset({"http.response.body", "http.response.zerocopysend"})


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
        check_name(name), check_duration(duration_ms), check_description(description)
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
        self.name = check_name(name)
        self.description = check_description(description)
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
        elapsed = (perf_counter_ns() - self._begin) / 1e6
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
    durations, the same ones the access log reports:

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
        clock: A monotonic clock in integer nanoseconds; replace it only in tests.

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
        "_clock",
        "_metric_name",
        "_only_server_timing",
        "_own_entry",
        "_process_time",
        "_server_timing",
        "_timing_allow_origin",
        "_watched",
        "_watched_lengths",
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
        timing_allow_origin: str | list[str] | tuple[str, ...] | None = None,
        callback: Callable[[TimingResult], object] | None = None,
        clock: Callable[[], int] = perf_counter_ns,
    ) -> None:
        self.app = app
        self._server_timing = require_bool("server_timing", server_timing)
        name = require_token("metric_name", metric_name)
        description = _option("metric_description", check_description, metric_description)
        # The own entry as one %-format, "app;dur=%.3f;desc=...", '%' in the description escaped.
        own = format_entry(name, 0.0, description).replace("%", "%%")
        self._metric_name = name.encode("ascii")
        self._own_entry = own.replace(";dur=0.000", ";dur=%.3f", 1).encode("ascii")
        self._process_time = require_bool("process_time_header", process_time_header)
        self._timing_allow_origin = check_origins("timing_allow_origin", timing_allow_origin)
        if callback is not None and (
            inspect.iscoroutinefunction(callback)
            # An object with an async __call__: iscoroutinefunction(obj) looks at obj only.
            or inspect.iscoroutinefunction(getattr(callback, "__call__", None))  # noqa: B004
        ):
            msg = f"callback must be a plain (not async) callable, got {callback!r}"
            raise TypeError(msg)
        self._callback = None if callback is None else require_callable("callback", callback)
        self._clock = require_callable("clock", clock)
        # The response headers the middleware writes: Server-Timing is merged with the app's,
        # the other two replace the app's. Their lengths make the scan of the app's headers cheap.
        watched = set()
        if self._server_timing:
            watched.add(_SERVER_TIMING)
        if self._process_time:
            watched.add(_PROCESS_TIME)
        if self._timing_allow_origin is not None:
            watched.add(_TIMING_ALLOW_ORIGIN)
        self._watched = frozenset(watched)
        self._only_server_timing = self._watched == {_SERVER_TIMING}
        self._watched_lengths = frozenset(len(name) for name in watched)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection: measure ``http``, pass everything else through."""
        callback = self._callback
        if scope["type"] != "http" or not (callback or self._watched):
            # Nothing to add and nobody to tell: measuring would be wasted work.
            await self.app(scope, receive, send)
            return
        if callback is not None:
            await self._measure(scope, receive, send, callback)
            return
        # The common case, kept lean: no callback, so only the time to first byte is needed.
        clock = self._clock
        begin = clock()
        metrics: list[TimingMetric] = []

        # A plain function returning send's awaitable: no extra coroutine per message.
        def send_wrapper(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                ttfb = clock() - begin
                if self._only_server_timing and not metrics:
                    # Fast path (defaults, nothing recorded): append our one entry
                    # unless the app sent a Server-Timing of its own to merge with.
                    headers: RawHeaders = message.get("headers", ())
                    if get_header(headers, _SERVER_TIMING) is None:
                        decorated = dict(message)
                        own = self._own_entry % (ttfb / 1e6)
                        decorated["headers"] = [*headers, (_SERVER_TIMING, own)]
                        return send(decorated)
                message = self._decorate(message, ttfb, metrics)
            return send(message)

        token = _METRICS.set(metrics)
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            _METRICS.reset(token)

    async def _measure(
        self, scope: Scope, receive: Receive, send: Send, callback: Callable[[TimingResult], object]
    ) -> None:
        clock = self._clock
        begin = clock()
        metrics: list[TimingMetric] = []
        ttfb = total = -1
        status = 500

        def send_wrapper(message: Message) -> Awaitable[None]:
            nonlocal ttfb, total, status
            kind = message["type"]
            if kind == "http.response.start":
                ttfb = clock() - begin
                status = message["status"]
                if self._watched:
                    message = self._decorate(message, ttfb, metrics)
            elif (
                kind in _FINAL and not message.get("more_body", False)
            ) or kind == "http.response.pathsend":
                total = clock() - begin
            return send(message)

        token = _METRICS.set(metrics)
        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException as error:
            # Cancelled before responding: the client closed the request, no server error
            # (the access log says 499 too). The cancellation propagates.
            if ttfb < 0 and is_cancellation(error):
                status = CLIENT_CLOSED
            raise
        finally:
            _METRICS.reset(token)
            completed = total >= 0
            result = TimingResult(
                scope,
                status,
                ttfb / 1e6 if ttfb >= 0 else None,
                (total if completed else clock() - begin) / 1e6,
                completed,
                tuple(metrics),
            )
            try:
                callback(result)
            except Exception:
                # A broken metrics hook must never break a served request; the app's own
                # exceptions still propagate (SPEC §2.7), this one is the middleware's.
                _logger.exception("TimingMiddleware callback %r raised", callback)

    def _decorate(self, message: Message, ttfb: int, metrics: list[TimingMetric]) -> Message:
        headers: RawHeaders = message.get("headers", ())
        lengths, watched = self._watched_lengths, self._watched
        existing: list[bytes] = []
        for key, _ in headers:
            if len(key) in lengths and key.lower() in watched:
                headers, existing = self._split(headers)
                break
        new_headers: Headers
        if self._server_timing:
            value = self._own_entry % (ttfb / 1e6)
            if metrics or existing:
                value = self._merge(existing, metrics, value)
            new_headers = [*headers, (_SERVER_TIMING, value)]  # type: ignore[list-item]
        else:
            new_headers = list(headers)  # type: ignore[arg-type]  # the app's pairs, as given
        if self._process_time:
            new_headers.append((_PROCESS_TIME, b"%.6f" % (ttfb / 1e9)))
        if self._timing_allow_origin is not None:
            new_headers.append((_TIMING_ALLOW_ORIGIN, self._timing_allow_origin))
        decorated = dict(message)
        decorated["headers"] = new_headers
        return decorated

    def _split(self, headers: RawHeaders) -> tuple[Headers, list[bytes]]:
        # The app sent a header we write: drop it, keeping Server-Timing values to merge.
        kept: Headers = []
        existing: list[bytes] = []
        for key, value in headers:
            name = key.lower()
            if name == _SERVER_TIMING and self._server_timing:
                if value.strip(b" \t"):
                    existing.append(value)
            elif name not in self._watched:
                kept.append((key, value))
        return kept, existing

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


def _option(option: str, check: Callable[[object], str | None], value: object) -> str | None:
    # The _server_timing checks name the argument of record_timing; name the option instead.
    try:
        return check(value)
    except (TypeError, ValueError) as error:
        rule = str(error).split(" must be ", 1)[1].rsplit(", got ", 1)[0]
        msg = f"{option} must be {rule}, got {value!r}"
        raise type(error)(msg) from None
