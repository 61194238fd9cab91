"""Response deadline: 504 when the app has not started its response in time (SPEC §13)."""

from __future__ import annotations

import asyncio
import math
from asyncio import _get_running_loop
from collections.abc import Mapping

from asgi_middleware._kit.config import option_error
from asgi_middleware._kit.order import check_position
from asgi_middleware._kit.paths import PathTable
from asgi_middleware._kit.threads import running_trio
from asgi_middleware._kit.types import ASGIApp, Receive, Scope, Send
from asgi_middleware.timeout._deadline import AsyncioDeadline, TrioDeadline, expired, ours

__all__ = ["TimeoutMiddleware"]

# HTTP only: a WebSocket session is meant to stay open, and its handshake is the app's to time.
_HANDLED = frozenset({"http"})
_SECONDS = "a finite number of seconds > 0"


def _require_seconds(option: str, value: object, *, none_hint: bool) -> float:
    """Return ``value`` as a float if it is an int or float in ``(0, inf)``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        rule = _SECONDS + (" or None" if none_hint else "")
        raise option_error(TypeError, option, rule, value)
    try:
        seconds = float(value)
    except OverflowError:  # an int too large for a float
        seconds = math.inf
    if not 0 < seconds < math.inf:  # NaN fails this too
        hint = "; use None for no timeout" if none_hint and seconds > 0 else ""
        raise option_error(ValueError, option, _SECONDS, value, hint)
    return seconds


def _optional_seconds(option: str, value: object) -> float | None:
    return None if value is None else _require_seconds(option, value, none_hint=True)


class TimeoutMiddleware:
    """Answer ``504 Gateway Timeout`` when the app has not started its response in time.

    For `http` scopes the app gets ``timeout`` seconds to send ``http.response.start``. If it
    has not by then, it is cancelled: under asyncio its task is cancelled
    (``asyncio.CancelledError`` at the ``await`` it is waiting in), under trio the cancel scope
    around it expires (``trio.Cancelled``). Its ``finally`` blocks and context managers run, its
    task groups and nurseries close, and once it has finished unwinding the client gets a
    complete ``504`` with a plain-text reason (``Gateway Timeout``). A response that started in
    time is never interrupted, however long it streams, unless ``total_timeout`` is set.
    `websocket`, `lifespan` and other scope types pass through untouched.

    The deadline is one timer per request (``loop.call_at`` under asyncio, the cancel scope's
    deadline under trio): no task is started and nothing polls. A cancellation that does not
    come from the deadline (the server shutting down, an outer timeout) propagates as it came,
    never turned into a ``504``; an error the app raises while unwinding propagates too. The
    app gets the scope and ``receive`` as they came, and a ``send`` that forwards every
    message unchanged.

    An app that catches the cancellation and returns without responding still gets its
    ``504`` sent. One that catches it and sends a response of its own anyway has that response
    forwarded, not replaced: the client is still waiting and it is a real answer. Under trio
    this can only happen in a shielded scope, because every ``await`` after the deadline is
    cancelled again; under asyncio the task is cancelled once, and the ``504`` waits for an
    app that carries on until it returns.

    Args:
        app: The ASGI application to wrap.
        timeout: Seconds the app has to start its response, a finite number > 0; ``None`` for
            no deadline except where ``path_timeouts`` sets one.
        path_timeouts: Anchored path patterns (exact ``"/reports/export"`` or prefix
            ``"/reports/*"``, relative to ``root_path``, SPEC §2.9) -> seconds for the
            requests they match, or ``None`` for no deadline at all there (neither timeout
            applies: long polls, server-sent events). The most specific pattern wins: an exact
            one, then the longest prefix.
        total_timeout: Opt-in deadline for the whole response, streaming included, in seconds
            from the request's start, for the requests a timeout applies to; it must be longer
            than every timeout. When it passes
            after the response started, the app is cancelled and the middleware raises
            ``TimeoutError`` once the app has unwound, so the server closes the connection and
            the client sees an incomplete body (a ``504`` if nothing was sent yet). Background
            work after the last body message is not cut.

    Raises:
        TypeError: An option of the wrong type.
        ValueError: A timeout that is not a finite number > 0, a bad path pattern, or a
            ``total_timeout`` not longer than every timeout, or with no timeout to go with.

    Limits:
        Only ``await`` points can be cancelled. Work in a thread (``run_in_threadpool``,
        ``anyio.to_thread``, FastAPI's sync endpoints) runs on after the ``504`` under asyncio,
        and under trio holds the ``504`` back until it returns; code that blocks the event loop
        delays the deadline. The deadline covers the app, not the server reading the request's
        headers before it calls the app: that is the server's or the proxy's job. On Python
        3.10, which has no cancel count, a server's cancellation that arrives while the app is
        already unwinding from the deadline may end in a ``504`` instead of propagating.

    Example:
        ```python
        app = TimeoutMiddleware(app, timeout=10, path_timeouts={"/reports/*": 60})
        ```

    Added in version 0.1.0.
    """

    __slots__ = ("_paths", "_timeout", "_total", "app")
    _compose_role = "timeout"

    def __init__(
        self,
        app: ASGIApp,
        *,
        timeout: float | None,
        path_timeouts: Mapping[str, float | None] | None = None,
        total_timeout: float | None = None,
    ) -> None:
        self.app = app
        check_position(self, app)
        self._timeout = _optional_seconds("timeout", timeout)
        paths = PathTable(
            "path_timeouts",
            {} if path_timeouts is None else path_timeouts,
            _optional_seconds,
            values="seconds or None",
        )
        self._paths = paths if paths else None
        self._total = None
        if total_timeout is not None:
            self._total = _require_seconds("total_timeout", total_timeout, none_hint=False)
            timeouts = [self._timeout, *(seconds for _, seconds in paths.items())]
            numbers = [seconds for seconds in timeouts if seconds is not None]
            if not numbers:
                # The total deadline applies where a timeout does: here, nowhere.
                hint = "; it applies only where a timeout does: set timeout, or path_timeouts"
                raise option_error(
                    ValueError, "total_timeout", "used with a timeout", total_timeout, hint
                )
            longest = max(numbers)
            if self._total <= longest:
                hint = f"; it starts with the request, and a timeout is {longest:g}s"
                raise option_error(
                    ValueError, "total_timeout", "longer than every timeout", total_timeout, hint
                )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] not in _HANDLED:
            await self.app(scope, receive, send)
            return
        paths = self._paths
        timeout = self._timeout if paths is None else paths.lookup(scope, self._timeout)
        if timeout is None:
            await self.app(scope, receive, send)
            return
        # One lookup of the running asyncio loop decides (benchmark rows "timeout" and
        # "timeout-trio"): none means trio, and current_task() is then never asked to raise.
        loop = _get_running_loop()
        total = self._total
        if loop is None:
            trio_deadline = TrioDeadline(running_trio(), send, timeout, total)
            with trio_deadline.cancel_scope as cancel_scope:
                await self.app(
                    scope,
                    receive,
                    trio_deadline.send_wrapper
                    if total is None
                    else trio_deadline.send_wrapper_total,
                )
            if cancel_scope.cancel_called:
                raised = bool(cancel_scope.cancelled_caught)
                await expired(send, started=trio_deadline.started, raised=raised, total=total)
            return
        task = asyncio.current_task(loop)
        if task is None:
            msg = "TimeoutMiddleware must run in an asyncio task (or under trio) to cancel"
            raise RuntimeError(msg)
        deadline = AsyncioDeadline(task, send, timeout, total)
        try:
            await self.app(
                scope,
                receive,
                deadline.send_wrapper if total is None else deadline.send_wrapper_total,
            )
        except BaseException as error:
            deadline.handle.cancel()
            # An outer cancellation always propagates, and so does any other error of the app.
            if not deadline.fired or not ours(task, error):
                raise
            raised = True
        else:
            deadline.handle.cancel()
            if not deadline.fired:
                return
            ours(task, None)  # the app caught the cancellation and returned: withdrawn all the same
            raised = False
        await expired(send, started=deadline.started, raised=raised, total=total)
