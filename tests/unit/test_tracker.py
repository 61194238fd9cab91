"""The response tracker and the one millisecond rounding the access log and timing share."""

from __future__ import annotations

import copy
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import LogCapture

from asgi_middleware import AccessLogMiddleware, Receive, Scope, Send, TimingMiddleware
from asgi_middleware._kit import tracker as tracker_module
from asgi_middleware._kit.tracker import ResponseTracker, milliseconds, now, since_ms
from asgi_middleware.timing import TimingResult
from tests.support.asgi import body, http_scope, run, start

TRAILERS = {"type": "http.response.trailers", "headers": [], "more_trailers": False}
MORE_TRAILERS = {"type": "http.response.trailers", "headers": [], "more_trailers": True}
PATHSEND = {"type": "http.response.pathsend", "path": "/srv/file"}
ZEROCOPY = {"type": "http.response.zerocopysend", "file": 3}
ZEROCOPY_MORE = {"type": "http.response.zerocopysend", "file": 3, "more_body": True}
DISCONNECT = {"type": "http.disconnect"}


class Clock:
    """A fake ``perf_counter_ns``: returns the given readings in order, then repeats the last."""

    def __init__(self, *readings: int) -> None:
        self.readings = list(readings)

    def __call__(self) -> int:
        return self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]


def tracked(monkeypatch: pytest.MonkeyPatch, *readings: int) -> ResponseTracker:
    """A tracker whose clock gives ``readings``, the first one at its creation."""
    monkeypatch.setattr(tracker_module, "perf_counter_ns", Clock(*readings))
    return ResponseTracker()


def feed(tracker: ResponseTracker, *messages: dict[str, Any]) -> list[float | None]:
    """Feed ``messages`` to the tracker as a send wrapper does; return what each call returned."""
    return [tracker.sent(message) for message in messages]


# --- milliseconds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nanoseconds", "expected"),
    [
        (0, 0.0),
        (499, 0.0),
        (500, 0.001),
        (1_234_499, 1.234),
        (1_234_500, 1.235),
        (1_234_567, 1.235),
        (2_500_000_000, 2500.0),
    ],
)
def test_milliseconds_round_to_the_microsecond(nanoseconds: int, expected: float) -> None:
    """Durations are milliseconds rounded to the nearest microsecond, halves up."""
    assert milliseconds(nanoseconds) == expected


@given(st.integers(min_value=0, max_value=10**15))
def test_milliseconds_print_as_the_exact_microseconds(nanoseconds: int) -> None:
    """Printed with three decimals, as headers do, the value is the rounded microseconds exactly.

    So a ``Server-Timing`` value, an ``X-Process-Time`` value and a logged float never disagree
    in a digit.
    """
    exact = (Decimal(nanoseconds) / 1_000_000).quantize(Decimal("0.001"), ROUND_HALF_UP)
    assert f"{milliseconds(nanoseconds):.3f}" == str(exact)
    assert f"{milliseconds(nanoseconds) / 1000:.6f}" == f"{exact / 1000:.6f}"


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10**15))
def test_since_ms_rounds_as_milliseconds_does(begin: int, elapsed: int) -> None:
    """``since_ms`` writes the rounding out for speed: it must give what ``milliseconds`` gives."""
    with mock.patch.object(tracker_module, "perf_counter_ns", return_value=begin + elapsed):
        assert now() == begin + elapsed
        assert since_ms(begin) == milliseconds(elapsed)


# --- What sent() records ------------------------------------------------------------------------


def test_a_new_tracker_has_seen_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before any message: no status, no first or last byte, nothing sent, nothing ended."""
    tracker = tracked(monkeypatch, 7)
    assert (tracker.begin, tracker.status, tracker.ttfb_ms, tracker.end) == (7, 0, None, None)
    assert (tracker.bytes_sent, tracker.complete, tracker.disconnected, tracker.cancelled) == (
        0,
        False,
        False,
        False,
    )


def test_start_records_status_and_returns_the_time_to_first_byte(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``http.response.start`` gives the status and the ttfb, which sent() also returns."""
    tracker = tracked(monkeypatch, 1_000_000, 2_234_567)
    assert feed(tracker, start(201)) == [1.235]
    assert (tracker.status, tracker.ttfb_ms, tracker.end, tracker.complete) == (
        201,
        1.235,
        None,
        False,
    )


def test_streamed_body_counts_bytes_and_ends_at_the_final_chunk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chunks with ``more_body`` add their bytes; the final one stamps the end and completes."""
    tracker = tracked(monkeypatch, 0, 1_000_000, 5_000_000, 9_000_000)
    returned = feed(tracker, start(200), body(b"abc", more_body=True), body(b"de", more_body=True))
    assert (tracker.bytes_sent, tracker.end, tracker.complete) == (5, None, False)
    returned += feed(tracker, body(b"f"))
    assert returned == [1.0, None, None, None]
    assert (tracker.bytes_sent, tracker.end, tracker.complete) == (6, 5_000_000, True)
    assert tracker.total_ms() == 5.0


def test_body_without_body_key_counts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A body message may leave out ``body`` (ASGI default ``b""``): zero bytes, still final."""
    tracker = tracked(monkeypatch, 0, 1, 2)
    feed(tracker, start(204), {"type": "http.response.body"})
    assert (tracker.bytes_sent, tracker.end, tracker.complete) == (0, 2, True)


@pytest.mark.parametrize(
    ("final", "ends"),
    [(PATHSEND, True), (ZEROCOPY, True), (ZEROCOPY_MORE, False)],
    ids=["pathsend", "zerocopysend", "zerocopysend-more-body"],
)
def test_file_messages_end_the_body_unless_more_follows(
    monkeypatch: pytest.MonkeyPatch, final: dict[str, Any], ends: bool
) -> None:
    """``pathsend`` and a final ``zerocopysend`` end the body; their files are not counted."""
    tracker = tracked(monkeypatch, 0, 1_000, 3_000)
    feed(tracker, start(200), final)
    assert (tracker.end, tracker.complete, tracker.bytes_sent) == (
        (3_000, True, 0) if ends else (None, False, 0)
    )


def test_announced_trailers_complete_the_response(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``trailers`` announced, the body ends the timing but the final trailers complete."""
    tracker = tracked(monkeypatch, 0, 1_000_000, 2_000_000, 7_000_000)
    feed(tracker, start(200, trailers=True), body(b"x"))
    assert (tracker.end, tracker.complete) == (2_000_000, False)
    feed(tracker, MORE_TRAILERS)
    assert tracker.complete is False
    feed(tracker, TRAILERS)
    assert (tracker.end, tracker.complete) == (2_000_000, True)


def test_other_messages_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """Early hints, debug and types not yet invented change nothing and return ``None``."""
    tracker = tracked(monkeypatch, 0)
    before = copy.copy([getattr(tracker, name) for name in ResponseTracker.__slots__])
    returned = feed(
        tracker,
        {"type": "http.response.early_hint", "links": []},
        {"type": "http.response.debug", "info": {}},
        {"type": "http.response.x-future"},
    )
    assert returned == [None, None, None]
    assert [getattr(tracker, name) for name in ResponseTracker.__slots__] == before


def test_messages_are_read_not_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tracker never edits what it is fed (SPEC §2.3)."""
    tracker = tracked(monkeypatch, 0)
    messages = [start(200, [("content-type", "text/plain")], trailers=True), body(b"x"), TRAILERS]
    snapshot = copy.deepcopy(messages)
    feed(tracker, *messages)
    tracker.received(DISCONNECT)
    assert messages == snapshot


def test_total_runs_until_now_while_the_body_is_unfinished(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a final body message, the total is measured when it is asked for."""
    tracker = tracked(monkeypatch, 0, 1_000_000, 8_000_400)
    feed(tracker, start(200), body(b"part", more_body=True))
    assert tracker.total_ms() == 8.0


# --- received() and outcome() -----------------------------------------------------------------


def test_disconnect_before_completion_is_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    """``http.disconnect`` while the response is unfinished marks the client as gone."""
    tracker = tracked(monkeypatch, 0)
    tracker.received({"type": "http.request", "body": b""})
    assert tracker.disconnected is False
    feed(tracker, start(200), body(b"a", more_body=True))
    tracker.received(DISCONNECT)
    assert tracker.disconnected is True


def test_disconnect_after_completion_is_how_exchanges_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a complete response every server reports a disconnect: it is not recorded."""
    tracker = tracked(monkeypatch, 0)
    feed(tracker, start(200), body(b"done"))
    tracker.received(DISCONNECT)
    assert tracker.disconnected is False


@pytest.mark.parametrize(
    ("status", "cancelled", "disconnected", "error", "outcome"),
    [
        (200, True, True, RuntimeError(), 200),
        (0, False, False, None, 500),
        (0, False, False, RuntimeError(), 500),
        (0, True, False, None, 499),
        (0, True, False, RuntimeError(), 499),
        (0, False, True, None, 499),
        (0, False, True, RuntimeError(), 500),
    ],
    ids=[
        "sent-status-kept",
        "returned-without-response",
        "raised",
        "cancelled",
        "cancelled-group-with-error",
        "client-left",
        "client-left-and-app-raised",
    ],
)
def test_outcome(  # noqa: PLR0917 - pytest passes parameters by name
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    cancelled: bool,
    disconnected: bool,
    error: BaseException | None,
    outcome: int,
) -> None:
    """The status sent, else 499 for a request the client closed, else the server's 500."""
    tracker = tracked(monkeypatch, 0)
    if status:
        feed(tracker, start(status))
    tracker.cancelled, tracker.disconnected = cancelled, disconnected
    assert tracker.outcome(error) == outcome


def test_per_request_state_cannot_grow() -> None:
    """``__slots__``: a tracker is small and takes no attribute it does not declare."""
    tracker = ResponseTracker()
    assert not hasattr(tracker, "__dict__")
    with pytest.raises(AttributeError):
        tracker.anything = 1  # type: ignore[attr-defined]


# --- One tracker, one set of numbers ----------------------------------------------------------


@pytest.mark.anyio
async def test_access_log_and_timing_report_the_same_numbers(
    monkeypatch: pytest.MonkeyPatch, logger: Any, capture: LogCapture
) -> None:
    """Given the same clock, the access log and timing log, send and report identical values."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200))
        await send(body(b"ok"))

    readings = (10_000_000, 11_234_567, 19_876_543)
    monkeypatch.setattr(tracker_module, "perf_counter_ns", Clock(*readings))
    await run(AccessLogMiddleware(app, logger=logger), http_scope())
    results: list[TimingResult] = []
    monkeypatch.setattr(tracker_module, "perf_counter_ns", Clock(*readings))
    timing = TimingMiddleware(app, process_time_header=True, callback=results.append)
    messages = await run(timing, http_scope())

    [event] = capture.entries
    assert (event["ttfb_ms"], event["duration_ms"]) == (1.235, 9.877)
    assert (results[0].ttfb_ms, results[0].total_ms) == (1.235, 9.877)
    assert messages[0]["headers"] == [
        (b"server-timing", b"app;dur=1.235"),
        (b"x-process-time", b"0.001235"),
    ]
