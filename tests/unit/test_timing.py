"""Raw ASGI unit tests for ``TimingMiddleware``, ``record_timing`` and ``timed``."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import pytest

from asgi_middleware import ASGIApp, Receive, Scope, Send, TimingMiddleware, record_timing
from asgi_middleware._kit import tracker as tracker_module
from asgi_middleware.timing import MetricTimer, TimingMetric, TimingResult, timed
from asgi_middleware.timing import middleware as timing_module
from tests.support.asgi import body, http_scope, lifespan_scope, run, start, websocket_scope

pytestmark = pytest.mark.anyio


class Clock:
    """A fake ``perf_counter_ns``: returns the given readings in order, then repeats the last."""

    def __init__(self, *readings: int) -> None:
        self.readings = list(readings)

    def __call__(self) -> int:
        return self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]


class Boom(Exception):  # noqa: N818 - a test exception, named for what it does
    """Raised by test apps."""


def script_app(*messages: Mapping[str, Any], before: Callable[[], None] | None = None) -> ASGIApp:
    """An app that calls ``before`` (if any) and then sends ``messages`` as given."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if before is not None:
            before()
        for message in messages:
            await send(message)

    return app


def ok_app(headers: Iterable[tuple[str, str]] = (("content-type", "text/plain"),)) -> ASGIApp:
    """An app answering 200 ``ok`` with ``headers``."""
    return script_app(start(200, headers), body(b"ok"))


SetClock = Callable[..., None]


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> SetClock:
    """Fake the response tracker's clock; call the fixture to give other readings.

    By default the request starts at 0, the response at 1.5 ms and ends at 4 ms: a 1.5 ms time
    to first byte. The middleware has no clock option: it reads the tracker's, as the access
    log does.
    """

    def set_readings(*readings: int) -> None:
        monkeypatch.setattr(tracker_module, "perf_counter_ns", Clock(*readings))

    set_readings(0, 1_500_000, 4_000_000)
    return set_readings


def timing_of(**options: Any) -> Callable[[ASGIApp], TimingMiddleware]:
    """A factory wrapping an app in the middleware with the given options."""
    return lambda app: TimingMiddleware(app, **options)


# --- Server-Timing --------------------------------------------------------------------------


async def test_server_timing_added_with_time_to_first_byte() -> None:
    """The response gets ``server-timing: app;dur=<ttfb ms>`` after the app's headers."""
    messages = await run(timing_of()(ok_app()), http_scope())
    assert messages == [
        start(200, [("content-type", "text/plain"), ("server-timing", "app;dur=1.500")]),
        body(b"ok"),
    ]


async def test_body_messages_are_forwarded_as_the_same_objects() -> None:
    """Only the start message is rebuilt; body messages reach the server as the app sent them."""
    chunks = [body(b"a", more_body=True), body(b"b")]
    messages = await run(timing_of()(script_app(start(200), *chunks)), http_scope())
    assert messages[1] is chunks[0]
    assert messages[2] is chunks[1]


async def test_metric_name_and_description_options() -> None:
    """``metric_name`` and ``metric_description`` shape the middleware's own entry."""
    wrap = timing_of(metric_name="origin", metric_description="origin server")
    messages = await run(wrap(ok_app()), http_scope())
    assert messages[0]["headers"][-1] == (
        b"server-timing",
        b'origin;dur=1.500;desc="origin server"',
    )


async def test_percent_in_description_is_sent_as_is() -> None:
    """A ``%`` in ``metric_description`` is sent literally (it is a valid qdtext character)."""
    wrap = timing_of(metric_description="100% app")
    messages = await run(wrap(ok_app()), http_scope())
    assert messages[0]["headers"][-1] == (b"server-timing", b'app;dur=1.500;desc="100% app"')


async def test_token_description_is_sent_unquoted() -> None:
    """A description that is a token is sent as a token, as the grammar allows."""
    wrap = timing_of(metric_description="total")
    messages = await run(wrap(ok_app()), http_scope())
    assert messages[0]["headers"][-1] == (b"server-timing", b"app;dur=1.500;desc=total")


async def test_app_server_timing_value_is_kept_and_appended_to() -> None:
    """An app's Server-Timing lines (any case) are folded, in order, before our entry."""
    headers = [
        (b"Server-Timing", b"cdn;dur=3"),
        (b"content-type", b"text/plain"),
        (b"server-timing", b'edge;desc="a, b"'),
    ]
    messages = await run(timing_of()(script_app(start(200, headers), body())), http_scope())
    assert messages[0]["headers"] == [
        (b"content-type", b"text/plain"),
        (b"server-timing", b'cdn;dur=3, edge;desc="a, b", app;dur=1.500'),
    ]
    assert headers[0] == (b"Server-Timing", b"cdn;dur=3")
    assert len(headers) == 3


async def test_blank_app_server_timing_is_dropped() -> None:
    """An empty Server-Timing line from the app does not leave an empty list element."""
    headers = [(b"server-timing", b" ")]
    messages = await run(timing_of()(script_app(start(200, headers), body())), http_scope())
    assert messages[0]["headers"] == [(b"server-timing", b"app;dur=1.500")]


@pytest.mark.parametrize(
    ("app_value", "added"),
    [
        (b"app;dur=9", False),
        (b"cdn, app;desc=inner", False),
        (b'cdn;desc="app, app", App', True),
        (b"application;dur=1", True),
    ],
    ids=["same-name", "same-name-second", "quoted-and-other-case", "longer-name"],
)
async def test_own_entry_never_duplicated(app_value: bytes, added: bool) -> None:
    """Our entry is left out when the app's value already names our metric, and only then."""
    app = script_app(start(200, [(b"server-timing", app_value)]), body())
    messages = await run(timing_of()(app), http_scope())
    expected = app_value + b", app;dur=1.500" if added else app_value
    assert messages[0]["headers"] == [(b"server-timing", expected)]


async def test_nested_middleware_with_one_name_reports_once(clock: SetClock) -> None:
    """Two layers with the same metric name: the inner entry stays, the outer one is not added."""
    # Both layers read one clock: outer call, inner call, inner start, outer start.
    clock(0, 0, 2_000_000, 2_500_000)
    inner = timing_of()(ok_app())
    messages = await run(timing_of()(inner), http_scope())
    assert messages[0]["headers"][-1] == (b"server-timing", b"app;dur=2.000")


async def test_recorded_metrics_come_before_our_entry() -> None:
    """Metrics recorded before the start are listed in order, then the middleware's entry."""

    def record() -> None:
        record_timing("db", 12.25, "orders query")
        record_timing("cache", 0)
        record_timing("db", 3, 'say "hi" \\ bye')

    app = script_app(start(200), body(), before=record)
    messages = await run(timing_of()(app), http_scope())
    assert messages[0]["headers"] == [
        (
            b"server-timing",
            (
                b'db;dur=12.250;desc="orders query", cache;dur=0.000, '
                b'db;dur=3.000;desc="say \\"hi\\" \\\\ bye", app;dur=1.500'
            ),
        )
    ]


async def test_recorded_metrics_in_the_header_are_capped() -> None:
    """Recorded metrics fill at most 2 KiB of the header; the rest reach the callback only."""
    results: list[TimingResult] = []

    def record() -> None:
        for _ in range(500):
            record_timing("query", 1.25, "SELECT")

    app = script_app(start(200), body(), before=record)
    messages = await run(timing_of(callback=results.append)(app), http_scope())
    [(_, value)] = messages[0]["headers"]
    entry = b"query;dur=1.250;desc=SELECT"
    kept = 2048 // (len(entry) + 2)
    assert value == b", ".join([entry] * kept + [b"app;dur=1.500"])
    assert len(results[0].metrics) == 500


async def test_metrics_recorded_after_start_reach_only_the_callback() -> None:
    """A metric recorded while streaming is too late for the header but is in the result."""
    results: list[TimingResult] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        record_timing("before", 1)
        await send(start(200))
        record_timing("after", 2)
        await send(body(b"x"))

    messages = await run(timing_of(callback=results.append)(app), http_scope())
    assert messages[0]["headers"] == [(b"server-timing", b"before;dur=1.000, app;dur=1.500")]
    assert results[0].metrics == (TimingMetric("before", 1.0), TimingMetric("after", 2.0))


async def test_start_without_headers_gets_server_timing() -> None:
    """A start message without ``headers`` (allowed by ASGI) still gets the header."""
    app = script_app({"type": "http.response.start", "status": 204}, body())
    messages = await run(timing_of()(app), http_scope())
    assert messages[0] == start(204, [("server-timing", "app;dur=1.500")])


@pytest.mark.parametrize(
    ("ttfb_ns", "server_timing", "process_time"),
    [
        (0, b"app;dur=0.000", b"0.000000"),
        (1_234_567, b"app;dur=1.235", b"0.001235"),
        (2_500_000_000, b"app;dur=2500.000", b"2.500000"),
    ],
    ids=["zero", "sub-millisecond-digits", "seconds"],
)
async def test_duration_formats(
    ttfb_ns: int, server_timing: bytes, process_time: bytes, clock: SetClock
) -> None:
    """Server-Timing carries milliseconds with 3 decimals; X-Process-Time seconds with 6."""
    clock(0, ttfb_ns)
    wrap = timing_of(process_time_header=True)
    messages = await run(wrap(script_app(start(200), body())), http_scope())
    assert messages[0]["headers"] == [
        (b"server-timing", server_timing),
        (b"x-process-time", process_time),
    ]


# --- Options that change the headers ---------------------------------------------------------


async def test_server_timing_false_sends_no_header_and_keeps_the_apps() -> None:
    """``server_timing=False``: no entry of ours; an app's own Server-Timing passes untouched."""
    start_message = start(200, [("Server-Timing", "cdn;dur=1")])
    app = script_app(start_message, body())
    # Not validated: the pass-through keeps the app's mixed-case name, which the kit flags.
    messages = await run(timing_of(server_timing=False)(app), http_scope(), validate=False)
    assert messages[0] is start_message


async def test_process_time_header_replaces_the_apps() -> None:
    """``process_time_header=True`` sets X-Process-Time once, replacing an app value in any case."""
    app = ok_app([("X-Process-Time", "99"), ("content-type", "text/plain")])
    messages = await run(
        timing_of(server_timing=False, process_time_header=True)(app), http_scope()
    )
    assert messages[0]["headers"] == [
        (b"content-type", b"text/plain"),
        (b"x-process-time", b"0.001500"),
    ]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("*", b"*"),
        (["*"], b"*"),
        (
            ["https://App.Example:443", "http://localhost:8080"],
            b"https://app.example, http://localhost:8080",
        ),
        (("null", "http://a.example:80", "http://a.example"), b"null, http://a.example"),
        (["https://[::1]:8443"], b"https://[::1]:8443"),
    ],
    ids=["star", "star-in-list", "normalised", "null-and-duplicates", "ipv6"],
)
async def test_timing_allow_origin_values(option: Any, value: bytes) -> None:
    """Timing-Allow-Origin is sent as configured, origins serialised as browsers do."""
    app = ok_app([("Timing-Allow-Origin", "https://old.example")])
    messages = await run(timing_of(timing_allow_origin=option)(app), http_scope())
    assert messages[0]["headers"] == [
        (b"server-timing", b"app;dur=1.500"),
        (b"timing-allow-origin", value),
    ]


async def test_app_timing_allow_origin_kept_when_not_configured() -> None:
    """Without ``timing_allow_origin`` the app's own Timing-Allow-Origin is left alone."""
    app = ok_app([("timing-allow-origin", "*")])
    messages = await run(timing_of()(app), http_scope())
    assert messages[0]["headers"] == [
        (b"timing-allow-origin", b"*"),
        (b"server-timing", b"app;dur=1.500"),
    ]


async def test_nothing_to_add_forwards_the_start_message_itself() -> None:
    """With every header off the start message is forwarded as the very object."""
    start_message = start(200)
    app = script_app(start_message, body())
    messages = await run(timing_of(server_timing=False)(app), http_scope())
    assert messages[0] is start_message


# --- The callback ----------------------------------------------------------------------------


async def test_callback_receives_ttfb_and_total_after_the_final_body(clock: SetClock) -> None:
    """The result holds status, ttfb at the start and total when the final body was sent."""
    results: list[TimingResult] = []
    clock(10_000_000, 12_000_000, 25_000_000, 99_000_000)
    app = script_app(start(201), body(b"a", more_body=True), body(b"b"))
    scope = http_scope()
    await run(timing_of(callback=results.append)(app), scope)
    assert results == [
        TimingResult(
            scope=scope, status=201, ttfb_ms=2.0, total_ms=15.0, completed=True, metrics=()
        )
    ]


async def test_callback_is_called_once_after_the_app_returns() -> None:
    """The callback runs after the app returned, once, even with work after the response."""
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200))
        await send(body(b"done"))
        events.append("background task")

    wrap = timing_of(callback=lambda result: events.append(f"callback {result.status}"))
    await run(wrap(app), http_scope())
    assert events == ["background task", "callback 200"]


@pytest.mark.parametrize(
    ("final", "extensions"),
    [
        ({"type": "http.response.pathsend", "path": "/srv/a.bin"}, {"http.response.pathsend": {}}),
        (
            {"type": "http.response.zerocopysend", "file": 3, "more_body": False},
            {"http.response.zerocopysend": {}},
        ),
    ],
    ids=["pathsend", "zerocopysend"],
)
async def test_file_responses_complete_the_timing(
    final: dict[str, Any], extensions: dict[str, Any], clock: SetClock
) -> None:
    """``pathsend`` and a final ``zerocopysend`` end the total like a final body."""
    results: list[TimingResult] = []
    clock(0, 1_000_000, 3_000_000, 50_000_000)
    app = script_app(start(200), final)
    messages = await run(timing_of(callback=results.append)(app), http_scope(extensions=extensions))
    assert messages[1] is final
    assert (results[0].total_ms, results[0].completed) == (3.0, True)


async def test_more_body_chunks_do_not_end_the_total(clock: SetClock) -> None:
    """A streamed chunk or a ``zerocopysend`` with ``more_body`` does not complete the response."""
    results: list[TimingResult] = []
    clock(0, 1_000_000, 2_000_000, 3_000_000, 4_000_000)
    zerocopy = {"type": "http.response.zerocopysend", "file": 3, "more_body": True}
    app = script_app(start(200), zerocopy, body(b"a", more_body=True), body(b""))
    extensions: dict[str, Any] = {"http.response.zerocopysend": {}}
    await run(timing_of(callback=results.append)(app), http_scope(extensions=extensions))
    assert (results[0].total_ms, results[0].completed) == (2.0, True)


async def test_extension_messages_do_not_end_the_total(clock: SetClock) -> None:
    """Trailers after the final body are forwarded and leave the total where the body ended."""
    results: list[TimingResult] = []
    trailers = {"type": "http.response.trailers", "headers": [], "more_trailers": False}
    clock(0, 1_000_000, 2_000_000, 7_000_000)
    app = script_app(start(200, trailers=True), body(b"x"), trailers)
    messages = await run(timing_of(callback=results.append)(app), http_scope())
    assert messages[-1] is trailers
    assert results[0].total_ms == 2.0


async def test_exception_before_start_reports_500_and_propagates(clock: SetClock) -> None:
    """The app raises before responding: the callback sees 500, the same exception comes out."""
    results: list[TimingResult] = []
    error = Boom("no response")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise error

    clock(0, 5_000_000)
    with pytest.raises(Boom) as caught:
        await run(timing_of(callback=results.append)(app), http_scope())
    assert caught.value is error
    assert [(r.status, r.ttfb_ms, r.total_ms, r.completed) for r in results] == [
        (500, None, 5.0, False)
    ]


async def test_exception_after_start_keeps_the_sent_status() -> None:
    """A response already started as 200 is reported as 200, not relabelled 500."""
    results: list[TimingResult] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200))
        await send(body(b"part", more_body=True))
        raise Boom

    with pytest.raises(Boom):
        await run(timing_of(callback=results.append)(app), http_scope())
    assert [(r.status, r.ttfb_ms, r.total_ms, r.completed) for r in results] == [
        (200, 1.5, 4.0, False)
    ]


async def test_cancelled_before_start_reports_499_and_propagates(clock: SetClock) -> None:
    """A request cancelled before responding (client gone, shutdown) reports 499, not 500.

    The cancellation itself comes out of the middleware, for the cancel scope to catch.
    """
    results: list[TimingResult] = []
    cancel_scope = anyio.CancelScope()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        cancel_scope.cancel()
        await anyio.sleep_forever()

    clock(0, 5_000_000)
    middleware = timing_of(callback=results.append)(app)
    with cancel_scope:
        await run(middleware, http_scope())
        pytest.fail("the cancellation was swallowed")
    assert cancel_scope.cancelled_caught
    assert [(r.status, r.ttfb_ms, r.total_ms, r.completed) for r in results] == [
        (499, None, 5.0, False)
    ]


async def test_app_returning_without_a_response_reports_500() -> None:
    """An app that returns without responding is reported as the 500 the server will send."""
    results: list[TimingResult] = []
    await run(timing_of(callback=results.append)(script_app()), http_scope(), validate=False)
    assert [(r.status, r.completed) for r in results] == [(500, False)]


async def test_callback_error_is_logged_and_the_response_unchanged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failing callback is logged on ``asgi_middleware.timing``; the request is unaffected."""

    def callback(result: TimingResult) -> None:
        raise RuntimeError("metrics backend down")

    with caplog.at_level(logging.ERROR, logger="asgi_middleware.timing"):
        messages = await run(timing_of(callback=callback)(ok_app()), http_scope())
    assert messages == [
        start(200, [("content-type", "text/plain"), ("server-timing", "app;dur=1.500")]),
        body(b"ok"),
    ]
    [record] = caplog.records
    assert record.name == "asgi_middleware.timing"
    assert record.getMessage().startswith("TimingMiddleware callback ")
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "metrics backend down"


async def test_callback_error_does_not_hide_the_apps_exception(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """When app and callback both raise, the app's exception is the one that propagates."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise Boom

    def callback(result: TimingResult) -> None:
        raise RuntimeError

    with caplog.at_level(logging.CRITICAL, logger="asgi_middleware.timing"), pytest.raises(Boom):
        await run(timing_of(callback=callback)(app), http_scope())


# --- Scope types and context ------------------------------------------------------------------


@pytest.mark.parametrize(
    "scope",
    [websocket_scope(), lifespan_scope(), {"type": "x-future"}],
    ids=["websocket", "lifespan", "unknown"],
)
async def test_other_scope_types_pass_through_untouched(scope: dict[str, Any]) -> None:
    """Non-http scopes reach the app with the very scope, receive and send; nothing is timed."""
    seen: list[tuple[object, ...]] = []
    results: list[TimingResult] = []

    async def app(inner_scope: Scope, receive: Receive, send: Send) -> None:
        record_timing("ignored", 1)  # no request being timed: a no-op
        seen.append((inner_scope, receive, send, timing_module._METRICS.get()))

    async def receive() -> dict[str, Any]:
        raise AssertionError  # never called

    async def send(message: Mapping[str, Any]) -> None:
        raise AssertionError  # never called

    await timing_of(callback=results.append)(app)(scope, receive, send)
    assert seen == [(scope, receive, send, None)]
    assert results == []


async def test_metrics_context_is_reset_after_each_request(clock: SetClock) -> None:
    """The metrics list is unset after a request; the next request starts empty."""
    results: list[TimingResult] = []
    names = iter(["first", "second"])
    app = script_app(start(200), body(), before=lambda: record_timing(next(names), 1))
    clock(0)
    wrapped = timing_of(callback=results.append)(app)
    context = contextvars.copy_context()
    for _ in range(2):
        await run(wrapped, http_scope())
        assert timing_module._METRICS.get() is None
    assert [result.metrics for result in results] == [
        (TimingMetric("first", 1.0),),
        (TimingMetric("second", 1.0),),
    ]
    assert dict(contextvars.copy_context()) == dict(context)


async def test_metrics_recorded_in_a_worker_thread_count() -> None:
    """A sync handler run in a worker thread (copied context) records into the same request."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await anyio.to_thread.run_sync(record_timing, "sync", 4)
        await send(start(200))
        await send(body())

    messages = await run(timing_of()(app), http_scope())
    assert messages[0]["headers"] == [(b"server-timing", b"sync;dur=4.000, app;dur=1.500")]


async def test_record_timing_outside_a_request_is_a_no_op() -> None:
    """Outside a timed request ``record_timing`` checks its arguments and records nothing."""
    record_timing("db", 1.0, "fine")
    assert timing_module._METRICS.get() is None
    with pytest.raises(ValueError, match=r"^name must be an HTTP token"):
        record_timing("bad name", 1.0)


def test_timing_metric_is_defined_in_a_public_module() -> None:
    """``TimingMetric`` is defined where the docs show it, in no private module."""
    assert TimingMetric.__module__ == "asgi_middleware.timing.middleware"
    assert not any(part.startswith("_") for part in TimingMetric.__module__.split("."))


def test_per_request_state_cannot_go_on_the_middleware() -> None:
    """``__slots__``: the middleware has no instance dict to leak request state into."""
    middleware = TimingMiddleware(ok_app())
    assert not hasattr(middleware, "__dict__")
    assert middleware._compose_role == "timing"


# --- timed ------------------------------------------------------------------------------------


def fake_perf_counter(monkeypatch: pytest.MonkeyPatch, *readings: int) -> None:
    """Make ``timed`` read ``readings`` from its clock."""
    monkeypatch.setattr(timing_module, "perf_counter_ns", Clock(*readings))


async def run_recording(func: Callable[[], Any]) -> list[TimingMetric]:
    """Call ``func`` (awaiting it if it returns an awaitable) inside a timed request."""
    results: list[TimingResult] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            outcome = func()
            if hasattr(outcome, "__await__"):
                await outcome
        finally:
            await send(start(200))
            await send(body())

    with contextlib.suppress(Boom):  # a timed block that raises: the metric still counts
        await run(timing_of(callback=results.append)(app), http_scope())
    return list(results[0].metrics)


async def test_timed_block_records_its_duration(monkeypatch: pytest.MonkeyPatch) -> None:
    """``with timed(name, description)`` records the block's duration in milliseconds."""
    fake_perf_counter(monkeypatch, 1_000_000, 3_500_000)

    def work() -> None:
        with timed("db", "orders") as timer:
            assert isinstance(timer, MetricTimer)

    assert await run_recording(work) == [TimingMetric("db", 2.5, "orders")]


async def test_timed_block_records_when_it_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """A block that raises is still recorded, and the exception goes on."""
    fake_perf_counter(monkeypatch, 0, 1_000_000)

    def work() -> None:
        with timed("db"):
            raise Boom

    assert await run_recording(work) == [TimingMetric("db", 1.0)]


async def test_timed_decorates_a_function(monkeypatch: pytest.MonkeyPatch) -> None:
    """``@timed`` on a plain function times every call and keeps its result and name."""
    fake_perf_counter(monkeypatch, 0, 1_000_000, 5_000_000, 8_000_000)

    @timed("render")
    def render(value: int) -> int:
        """Double it."""
        return value * 2

    outcomes: list[int] = []
    metrics = await run_recording(lambda: outcomes.extend([render(1), render(2)]))
    assert outcomes == [2, 4]
    assert render.__name__ == "render"
    assert render.__doc__ == "Double it."
    assert metrics == [TimingMetric("render", 1.0), TimingMetric("render", 3.0)]


async def test_timed_decorates_a_coroutine_function(monkeypatch: pytest.MonkeyPatch) -> None:
    """``@timed`` on an ``async def`` times until the coroutine returns."""
    fake_perf_counter(monkeypatch, 0, 6_000_000)
    outcomes: list[str] = []

    @timed("fetch", "upstream")
    async def fetch() -> str:
        await anyio.lowlevel.checkpoint()
        return "data"

    async def work() -> None:
        outcomes.append(await fetch())

    assert await run_recording(work) == [TimingMetric("fetch", 6.0, "upstream")]
    assert outcomes == ["data"]


def test_timed_outside_a_request_is_a_no_op() -> None:
    """``timed`` outside a timed request measures nothing into nowhere and does not fail."""
    with timed("db"):
        pass
    assert timing_module._METRICS.get() is None


# --- Validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"server_timing": 1}, TypeError, "server_timing must be a bool, got 1"),
        (
            {"process_time_header": "yes"},
            TypeError,
            "process_time_header must be a bool, got 'yes'",
        ),
        ({"metric_name": "my app"}, ValueError, "metric_name must be an HTTP token"),
        ({"metric_name": b"app"}, TypeError, "metric_name must be a str, got b'app'"),
        (
            {"metric_description": "caf\u00e9"},
            ValueError,
            "metric_description must be visible ASCII, spaces and tabs, got 'caf\u00e9'",
        ),
        (
            {"metric_description": 3},
            TypeError,
            "metric_description must be a str or None, got 3",
        ),
        (
            {"timing_allow_origin": "https://a.example"},
            TypeError,
            "timing_allow_origin must be \"*\" or a list of origins, got 'https://a.example'",
        ),
        (
            {"timing_allow_origin": []},
            ValueError,
            'timing_allow_origin must be "*" or a non-empty list of origins, got []',
        ),
        (
            {"timing_allow_origin": ["https://a.example/"]},
            ValueError,
            (
                "timing_allow_origin[0] must be an origin without a trailing slash, "
                "got 'https://a.example/'; remove the trailing slash: 'https://a.example'"
            ),
        ),
        (
            {"timing_allow_origin": ["https://a.example", "*"]},
            ValueError,
            "timing_allow_origin[1] must be an origin",
        ),
        (
            {"timing_allow_origin": ["https://a.example:0"]},
            ValueError,
            "timing_allow_origin[0] must be an origin",
        ),
        (
            {"timing_allow_origin": ["https://a.example:70000"]},
            ValueError,
            "timing_allow_origin[0] must be an origin",
        ),
        ({"timing_allow_origin": [None]}, TypeError, "timing_allow_origin[0] must be a str"),
        ({"callback": "print"}, TypeError, "callback must be callable, got 'print'"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_bad_options_are_refused(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Each bad option raises the right error type, naming the option, at construction."""
    with pytest.raises(error, match=f"^{re.escape(message)}"):
        TimingMiddleware(ok_app(), **options)


def test_clock_is_not_an_option() -> None:
    """No test hook in the public signature: tests fake the response tracker's clock instead."""
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'clock'"):
        TimingMiddleware(ok_app(), clock=int)  # type: ignore[call-arg]


def test_async_callback_is_refused() -> None:
    """An ``async`` callback would never be awaited: it is refused with a TypeError."""

    async def callback(result: TimingResult) -> None:
        """Never awaited."""

    with pytest.raises(TypeError, match=r"^callback must be a plain \(not async\) callable"):
        TimingMiddleware(ok_app(), callback=callback)


def test_async_callable_instance_is_refused() -> None:
    """An object whose ``__call__`` is ``async`` is refused like an ``async`` function."""

    class Hook:
        async def __call__(self, result: TimingResult) -> None:
            """Never awaited."""

    with pytest.raises(TypeError, match=r"^callback must be a plain \(not async\) callable"):
        TimingMiddleware(ok_app(), callback=Hook())


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("", 1), ValueError, "name must be an HTTP token"),
        (("db;dur", 1), ValueError, "name must be an HTTP token"),
        ((None, 1), TypeError, "name must be a str, got None"),
        (("db", -0.5), ValueError, "duration_ms must be a finite number >= 0, got -0.5"),
        (("db", float("nan")), ValueError, "duration_ms must be a finite number >= 0, got nan"),
        (("db", float("inf")), ValueError, "duration_ms must be a finite number >= 0, got inf"),
        (("db", True), TypeError, "duration_ms must be an int or float, got True"),
        (("db", "3"), TypeError, "duration_ms must be an int or float, got '3'"),
        (("db", 1, "a\r\nb"), ValueError, "description must be visible ASCII"),
        (("db", 1, b"x"), TypeError, "description must be a str or None, got b'x'"),
    ],
)
def test_record_timing_refuses_what_would_break_the_header(
    args: tuple[Any, ...], error: type[Exception], message: str
) -> None:
    """Names, durations and descriptions that cannot be sent raise in the caller."""
    with pytest.raises(error, match=f"^{re.escape(message)}"):
        record_timing(*args)


def test_timed_refuses_a_bad_name_at_once() -> None:
    """``timed`` checks its name when created, not when the block ends."""
    with pytest.raises(ValueError, match=r"^name must be an HTTP token"):
        timed("two words")
