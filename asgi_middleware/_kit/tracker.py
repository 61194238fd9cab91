"""What a response did and how long it took: one tracker for the access log and timing.

Timing's ``Server-Timing``, ``X-Process-Time`` and callback promise the access log's definitions
of ``ttfb_ms`` and ``duration_ms`` (SPEC §6, §7). Both middleware compute them here, so the
promise holds by construction: one rule for when a response is finished, one clock, one
rounding. Each middleware starts its own tracker when it is called, so an outer one also counts
the layers inside it.

A send wrapper feeds every message the app sends to :meth:`ResponseTracker.sent` *before*
forwarding it, and a receive wrapper (where there is one) every message it receives to
:meth:`ResponseTracker.received`. The tracker never forwards, copies or changes a message.
"""

from __future__ import annotations

from time import perf_counter_ns

from asgi_middleware._kit.context import CLIENT_CLOSED
from asgi_middleware._kit.types import Message

__all__ = ["ResponseTracker", "milliseconds", "now", "since_ms"]

_SERVER_ERROR = 500
# Messages that end the body unless they announce more (ASGI HTTP spec: pathsend has no
# more_body and always ends it; zerocopysend does unless more_body is true).
_FILE_MESSAGES = frozenset({"http.response.pathsend", "http.response.zerocopysend"})


def milliseconds(nanoseconds: int) -> float:
    """Return ``nanoseconds`` as milliseconds rounded to the microsecond: 1234567 -> 1.235.

    The one rounding of every duration the package reports, in logs, headers and callbacks.
    Printed with three decimals (``%.3f``) the result shows exactly the microseconds kept.
    """
    return (nanoseconds + 500) // 1000 / 1000


def now() -> int:
    """Return the clock every duration starts from (``time.perf_counter_ns``), for ``since_ms``.

    A layer that needs only the time to first byte keeps this reading instead of a tracker.
    """
    return perf_counter_ns()


def since_ms(begin: int) -> float:
    """Return the milliseconds from ``begin`` (a :func:`now` reading) until now, rounded.

    :func:`milliseconds` written out (benchmark row timing-metrics: a call less per request);
    ``test_tracker`` holds the two to the same results.
    """
    return (perf_counter_ns() - begin + 500) // 1000 / 1000


class ResponseTracker:
    """One HTTP response as it goes out: status, first byte, last byte, bytes, how it ended.

    The clock (``time.perf_counter_ns``) starts when the tracker is created, which a middleware
    does as soon as it is called. Attributes, read them after the app returned or raised:

    * ``begin``: the clock when the tracker was created;
    * ``status``: the status of ``http.response.start``, ``0`` until one was sent;
    * ``ttfb_ms``: milliseconds from ``begin`` to ``http.response.start`` (the first byte), or
      ``None`` if no response started;
    * ``end``: the clock at the final body message (``more_body`` false), ``pathsend`` or a
      final ``zerocopysend``, or ``None`` while the body is not finished (see :meth:`total_ms`);
    * ``bytes_sent``: the body bytes of ``http.response.body`` messages (files sent by
      ``pathsend``/``zerocopysend`` are not read, so not counted);
    * ``complete``: the whole response was sent: the final body and, when the start announced
      trailers, the final trailers;
    * ``disconnected``: the client went away before the response was complete (a receive
      wrapper saw ``http.disconnect``, or the caller recorded the ``OSError`` send raised);
    * ``cancelled``: the request's task was cancelled; set by the caller, which sees the
      exception.
    """

    __slots__ = (
        "begin",
        "bytes_sent",
        "cancelled",
        "complete",
        "disconnected",
        "end",
        "status",
        "trailers",
        "ttfb_ms",
    )

    def __init__(self) -> None:
        self.begin = perf_counter_ns()
        self.status = 0
        self.ttfb_ms: float | None = None
        self.end: int | None = None
        self.bytes_sent = 0
        self.trailers = False
        self.complete = False
        self.disconnected = False
        self.cancelled = False

    def sent(self, message: Message) -> float | None:
        """Record one message the app sends, before it is forwarded.

        Returns:
            For ``http.response.start``, the time to first byte in milliseconds (``ttfb_ms``,
            what a response header can carry); ``None`` for every other message.
        """
        kind = message["type"]
        # Body messages first: a streamed response sends many of them and one start.
        if kind == "http.response.body":
            self.bytes_sent += len(message.get("body", b""))
            if not message.get("more_body", False):
                self.end = perf_counter_ns()
                self.complete = not self.trailers
        elif kind == "http.response.start":
            ttfb_ms = self.ttfb_ms = milliseconds(perf_counter_ns() - self.begin)
            self.status = message["status"]
            self.trailers = message.get("trailers", False) is True
            return ttfb_ms
        elif kind == "http.response.trailers":
            self.complete = not message.get("more_trailers", False)
        elif kind in _FILE_MESSAGES and not message.get("more_body", False):
            self.end = perf_counter_ns()
            self.complete = not self.trailers
        return None

    def received(self, message: Message) -> None:
        """Record one message received from the client (``http.disconnect`` is what counts)."""
        # After a complete response, a disconnect is how every server ends the exchange.
        if message["type"] == "http.disconnect" and not self.complete:
            self.disconnected = True

    def outcome(self, error: BaseException | None) -> int:
        """Return the status to report, given the app's exception (``None`` if it returned).

        The status sent; when no response started, 499 (nginx's "client closed request") for a
        request that was cancelled or whose client left without the app failing, else 500:
        what the server answers for an app that raised or returned without responding.
        """
        if self.status:
            return self.status
        if self.cancelled or (self.disconnected and error is None):
            return CLIENT_CLOSED
        return _SERVER_ERROR

    def total_ms(self) -> float:
        """Milliseconds to the final body message, or until now if the body never finished."""
        end = self.end
        return milliseconds((perf_counter_ns() if end is None else end) - self.begin)
