"""One request's deadline under asyncio and under trio: one timer, and what the response did.

Under asyncio the deadline is one ``loop.call_at`` timer that cancels the request's own task
(:class:`AsyncioDeadline`), under trio the deadline of one ``trio.CancelScope`` around the app
(:class:`TrioDeadline`), both run by the middleware's ``__call__``. Either way no task is started
and nothing polls (SPEC §13). The timer is moved, never added to: when the response starts in time
it is stopped, or moved to the total deadline when there is one, which is stopped in turn when the
response is complete.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable
from typing import Any

from asgi_middleware._kit.context import is_cancellation
from asgi_middleware._kit.responses import content_headers, respond
from asgi_middleware._kit.tracker import ResponseTracker
from asgi_middleware._kit.types import Message, Send

__all__ = [
    "CANCEL_MESSAGE",
    "AsyncioDeadline",
    "TrioDeadline",
    "expired",
    "ours",
    "ours_counted",
    "ours_flagged",
]

_STATUS = 504
_BODY = b"Gateway Timeout"
_HEADERS = tuple(content_headers(_BODY, b"text/plain; charset=utf-8"))
#: The message of the ``CancelledError`` the deadline raises in the app under asyncio.
CANCEL_MESSAGE = "TimeoutMiddleware: the response deadline passed"


def ours_counted(task: Any, error: BaseException | None) -> bool:
    """Withdraw the deadline's cancel request; whether the app ended by that cancellation alone.

    Python 3.11+: ``task.cancel()`` counts requests and ``uncancel()`` withdraws one, so a
    cancellation by anyone else (the server at shutdown, an outer ``asyncio.timeout``, a task
    group) is still counted once ours is withdrawn, and then propagates. ``error`` is what the
    app raised, ``None`` if it returned.
    """
    remaining: int = task.uncancel()
    return remaining == 0 and (error is None or is_cancellation(error))


def ours_flagged(task: Any, error: BaseException | None) -> bool:
    """Python 3.10's :func:`ours_counted`: there is no count, so the message decides.

    After the deadline fired, a cancellation is ours unless one of its errors carries another
    canceller's message. 3.10 drops messages in places (``gather``), so one with none is ours.
    """
    del task  # 3.10 has no request to withdraw
    return error is None or (is_cancellation(error) and _messages(error) <= {CANCEL_MESSAGE})


def _messages(error: BaseException) -> set[object]:
    members = getattr(error, "exceptions", None)
    if isinstance(members, tuple):
        return set().union(*map(_messages, members))
    return set(error.args)


#: :func:`ours_counted` or, before Python 3.11, :func:`ours_flagged`; chosen by feature, and
#: both are tested on every Python.
ours = ours_counted if hasattr(asyncio.Task, "uncancel") else ours_flagged


async def expired(send: Send, *, started: bool, raised: bool, total: float | None) -> None:
    """Answer for an app the deadline cancelled, once it has finished unwinding.

    ``raised``: the app ended with the cancellation, rather than catching it and returning.
    Nothing sent yet: a complete 504. A started response cut by the cancellation:
    ``TimeoutError``, so the server closes the connection and the client sees an incomplete body.
    A response the app sent after catching the cancellation is its own, and left alone.
    """
    if not started:
        await respond(send, _STATUS, list(_HEADERS), _BODY)
    elif raised:
        if total is None:
            reason = "its app ended by the cancellation at the response deadline"
        else:
            reason = f"it was not complete within total_timeout={total:g}s"
        msg = f"the response was cut, {reason}; the connection is closed"
        raise TimeoutError(msg)


class AsyncioDeadline:
    """One request's deadline under asyncio: the instance is the timer's callback.

    Created when the request starts, with the timer armed ``timeout`` seconds ahead; the app
    gets :meth:`send_wrapper`, or :meth:`send_wrapper_total` when there is a total deadline.
    """

    __slots__ = ("fired", "handle", "send", "started", "task", "total", "total_at", "tracker")

    total_at: float
    tracker: ResponseTracker

    def __init__(
        self, task: asyncio.Task[Any], send: Send, timeout: float, total: float | None
    ) -> None:
        self.task = task
        self.send = send
        self.total = total
        self.fired = False
        self.started = False
        loop = task.get_loop()
        now = loop.time()
        self.handle = loop.call_at(now + timeout, self)
        if total is not None:
            self.total_at = now + total
            self.tracker = ResponseTracker()

    def __call__(self) -> None:
        """The timer's callback: cancel the request's task."""
        self.fired = True
        self.task.cancel(CANCEL_MESSAGE)

    def send_wrapper(self, message: Message) -> Awaitable[None]:
        """Forward ``message``; a response that starts in time stops the deadline."""
        # A plain function returning send's awaitable, as in RequestIDMiddleware: no coroutine
        # per message (benchmark row "timeout"). Cancelling a handle that ran changes nothing.
        if message["type"] == "http.response.start":
            self.started = True
            self.handle.cancel()
        return self.send(message)

    def send_wrapper_total(self, message: Message) -> Awaitable[None]:
        """Forward ``message``: a start in time moves the deadline to the total; the end, off."""
        tracker = self.tracker
        tracker.sent(message)
        if message["type"] == "http.response.start":
            self.started = True
            # Once fired, never armed again: the task is cancelled once, and withdrawn once.
            if not self.fired:
                self.handle.cancel()
                self.handle = self.task.get_loop().call_at(self.total_at, self)
        elif tracker.complete:
            self.handle.cancel()
        return self.send(message)


class TrioDeadline:
    """One request's deadline under trio: the deadline of one cancel scope around the app.

    The middleware's ``__call__`` enters :attr:`cancel_scope` around the app, with the send
    wrapper that suits ``total``, then asks :func:`expired` what to do if the scope was
    cancelled. The scope catches only its own ``Cancelled``: an outer cancellation passes
    through it, and so does any other error of the app's. Its deadline is relative, set when it
    is entered, so trio reads its clock once.
    """

    __slots__ = ("cancel_scope", "extra", "send", "started", "tracker")

    extra: float
    tracker: ResponseTracker

    def __init__(self, trio: Any, send: Send, timeout: float, total: float | None) -> None:
        self.cancel_scope = trio.CancelScope(relative_deadline=timeout)
        self.send = send
        self.started = False
        if total is not None:
            self.extra = total - timeout
            self.tracker = ResponseTracker()

    def send_wrapper(self, message: Message) -> Awaitable[None]:
        """Forward ``message``; a response that starts in time stops the deadline."""
        if message["type"] == "http.response.start":
            if self.cancel_scope.cancel_called:
                return self._late_start(message)
            self.started = True
            self.cancel_scope.deadline = math.inf
        return self.send(message)

    def send_wrapper_total(self, message: Message) -> Awaitable[None]:
        """Forward ``message``: a start in time moves the deadline to the total; the end, off."""
        tracker = self.tracker
        tracker.sent(message)  # the tracker only tells when the response is complete
        if message["type"] == "http.response.start":
            if self.cancel_scope.cancel_called:
                return self._late_start(message)
            self.started = True
            # Unmoved until now, the deadline is the request's start plus the timeout.
            self.cancel_scope.deadline += self.extra
        elif tracker.complete:
            self.cancel_scope.deadline = math.inf
        return self.send(message)

    async def _late_start(self, message: Message) -> None:
        """A start sent after the deadline passed, by an app that could not be cancelled then.

        It was in a worker thread or a shielded scope. Outside a shield, this checkpoint
        cancels it before anything reaches the server, so the client gets the whole ``504``;
        in a shielded scope the app's own late answer is forwarded.
        """
        # Reached under trio only (which is loaded then): imported here, off the request path.
        from trio.lowlevel import checkpoint_if_cancelled  # noqa: PLC0415

        await checkpoint_if_cancelled()
        self.started = True
        await self.send(message)
