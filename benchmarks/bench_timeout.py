"""Timeout scenario: our TimeoutMiddleware next to the event loop's own timer, hand-written.

No maintained timeout middleware exists to compare with (issue 13), so the reference is a
**floor**: the least any response deadline can do under asyncio, one ``loop.call_later`` handle
per request that cancels the request's task, cancelled again when the app returns. It sends no
504 and tells no cancellation apart; ours does both, and stops its timer when the response
starts. The ``asyncio.timeout`` row (Python 3.11+) is the standard library's context manager
doing the floor's job, for scale.

SPEC §13 adds two rules the floor does not follow: a response that started in time is never cut,
so its deadline is stopped when the response starts, and a response not started in time is not
started late. The ``+stop`` rows are each floor with those rules and nothing else (a send wrapper
that stops the timer at ``http.response.start``; under trio it cancels a start sent after the
deadline, which under asyncio cannot reach the wrapper): what the rules cost by themselves,
hand-written, in the same run.

The app answers at once, as nearly every request does: what is timed is the cost of arming and
disarming the deadline. A probe counts the timers each row arms per request (patching the loop's
``call_at``, which ``call_later`` goes through), so a row that armed none, a no-op, would show.

``timeout-trio`` times the same request under trio (the driver runs it in ``trio.run``), where
the floor is trio's own timer: the app inside one ``trio.CancelScope`` whose deadline is set on
entry, the least ``trio.move_on_after`` (its own row, for scale) does. Ours uses one cancel
scope too, and moves its deadline away when the response starts. There the rules are dear: trio
offers no cheaper public way to stop a deadline than assigning ``CancelScope.deadline``, which
re-registers the scope through a ``@contextmanager``, and the late-start check reads trio's
clock (``trio-scope-floor+stop``).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Mapping
from typing import Any

import trio

from asgi_middleware.timeout import TimeoutMiddleware
from benchmarks.checks import expect
from benchmarks.common import NO_BODY, OK_APP, OK_BODY, http_scope
from benchmarks.model import ASGIApp, Message, Scenario, Scope, Variant

#: Seconds: a deadline no benchmark request comes near.
TIMEOUT = 30.0


class _Timed:
    """A wrapper around ``app`` with a deadline of ``timeout`` seconds; subclasses say how."""

    __slots__ = ("app", "timeout")

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout


class LoopTimerFloor(_Timed):
    """The floor: one timer handle per request that cancels the task, nothing more."""

    __slots__ = ()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Run the app under a ``loop.call_later(timeout, task.cancel)`` handle."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        task = asyncio.current_task()
        if task is None:
            msg = "no task to cancel"
            raise RuntimeError(msg)
        handle = task.get_loop().call_later(self.timeout, task.cancel)
        try:
            await self.app(scope, receive, send)
        finally:
            handle.cancel()


class LoopTimerStopFloor(_Timed):
    """The floor, and its timer stopped when the response starts (SPEC §13), nothing more."""

    __slots__ = ()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Run the app under a timer handle that the response's start cancels."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        task = asyncio.current_task()
        if task is None:
            msg = "no task to cancel"
            raise RuntimeError(msg)
        handle = task.get_loop().call_later(self.timeout, task.cancel)

        def send_wrapper(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                handle.cancel()
            return send(message)  # type: ignore[no-any-return]

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            handle.cancel()


class AsyncioTimeout(_Timed):
    """``async with asyncio.timeout(...)`` around the app (Python 3.11+)."""

    __slots__ = ()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Run the app inside ``asyncio.timeout``."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with asyncio.timeout(self.timeout):  # type: ignore[attr-defined,unused-ignore]
            await self.app(scope, receive, send)


class TrioScopeFloor(_Timed):
    """The trio floor: the app inside one cancel scope with a deadline, nothing more."""

    __slots__ = ()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Run the app inside ``trio.CancelScope(deadline=now + timeout)``."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with trio.CancelScope(deadline=trio.current_time() + self.timeout):
            await self.app(scope, receive, send)


class TrioScopeStopFloor(_Timed):
    """The trio floor, and its deadline stopped when the response starts (SPEC §13).

    A start after the deadline (from an app that was in a worker thread then) is not forwarded
    but cancelled, as it is not in time.
    """

    __slots__ = ()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Run the app inside a cancel scope whose deadline the response's start removes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with trio.CancelScope(deadline=trio.current_time() + self.timeout) as cancel_scope:

            def send_wrapper(message: Message) -> Awaitable[None]:
                if message["type"] == "http.response.start":
                    if cancel_scope.cancel_called:
                        return trio.lowlevel.checkpoint_if_cancelled()  # noqa: ASYNC105 - awaited by the app
                    cancel_scope.deadline = math.inf
                return send(message)  # type: ignore[no-any-return]

            await self.app(scope, receive, send_wrapper)


class TrioMoveOnAfter(_Timed):
    """``with trio.move_on_after(...)`` around the app: trio's own timeout, as users write it."""

    __slots__ = ()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Run the app inside ``trio.move_on_after``."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with trio.move_on_after(self.timeout):
            await self.app(scope, receive, send)


def floor(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in the hand-written loop-timer floor."""
    return LoopTimerFloor(app, TIMEOUT)


def floor_stop(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in the loop-timer floor that stops its timer when the response starts."""
    return LoopTimerStopFloor(app, TIMEOUT)


def trio_floor_stop(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in the trio floor that stops its deadline when the response starts."""
    return TrioScopeStopFloor(app, TIMEOUT)


def trio_floor(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in the hand-written trio cancel-scope floor."""
    return TrioScopeFloor(app, TIMEOUT)


def trio_move_on_after(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in ``trio.move_on_after``."""
    return TrioMoveOnAfter(app, TIMEOUT)


def asyncio_timeout(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in ``asyncio.timeout``."""
    return AsyncioTimeout(app, TIMEOUT)


def ours(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in our TimeoutMiddleware with the same deadline."""
    return TimeoutMiddleware(app, timeout=TIMEOUT)


async def timers_probe(
    app: ASGIApp, scope: Scope, request: tuple[Message, ...]
) -> Mapping[str, str]:
    """Serve one request counting the timers armed (``loop.call_at``) and the tasks started."""
    loop = asyncio.get_running_loop()
    armed: list[float] = []
    started: list[object] = []
    call_at, create_task = loop.call_at, loop.create_task

    def counting_call_at(when: float, callback: Any, *args: Any, **kwargs: Any) -> Any:
        armed.append(when)
        return call_at(when, callback, *args, **kwargs)

    def counting_create_task(coro: Any, **kwargs: Any) -> Any:
        started.append(coro)
        return create_task(coro, **kwargs)

    messages = iter((*request, {"type": "http.disconnect"}))

    async def receive() -> Message:
        return dict(next(messages))

    async def send(message: Message) -> None:
        """Drop the message."""

    loop.call_at = counting_call_at  # type: ignore[method-assign,assignment]
    loop.create_task = counting_create_task  # type: ignore[method-assign]
    try:
        await app(scope, receive, send)
    finally:
        del loop.call_at, loop.create_task
    return {"timers armed": str(len(armed)), "tasks started": str(len(started))}


#: The app's own answer, unchanged: a request answered in time passes untouched.
PASSED = expect(body=OK_BODY)

_VARIANTS = (
    Variant("loop-timer-floor", floor, PASSED, "call_later(timeout, task.cancel), no 504"),
    Variant("loop-timer-floor+stop", floor_stop, PASSED, "the floor, stopped at the start"),
    *(
        (Variant("asyncio.timeout", asyncio_timeout, PASSED, "standard library, no 504"),)
        if hasattr(asyncio, "timeout")
        else ()
    ),
    Variant("asgi-middleware", ours, PASSED, "timeout=30"),
)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="timeout",
        description="GET answered at once under a 30 s response deadline",
        app=OK_APP,
        scope=http_scope("GET", "/api/items", ()),
        request=NO_BODY,
        bare_check=PASSED,
        reference="loop-timer-floor",
        variants=_VARIANTS,
        probe=timers_probe,
    ),
    Scenario(
        name="timeout-trio",
        description="GET answered at once under a 30 s response deadline, under trio",
        app=OK_APP,
        scope=http_scope("GET", "/api/items", ()),
        request=NO_BODY,
        bare_check=PASSED,
        reference="trio-scope-floor",
        variants=(
            Variant("trio-scope-floor", trio_floor, PASSED, "CancelScope(deadline=...), no 504"),
            Variant(
                "trio-scope-floor+stop",
                trio_floor_stop,
                PASSED,
                "deadline=inf at the start, a late start cancelled",
            ),
            Variant("trio.move_on_after", trio_move_on_after, PASSED, "trio's API, no 504"),
            Variant("asgi-middleware", ours, PASSED, "timeout=30"),
        ),
        event_loop="trio",
    ),
)
