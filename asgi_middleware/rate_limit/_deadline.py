"""Await a store's answer for at most a given time, under asyncio or trio."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

from asgi_middleware._kit.threads import running_trio

__all__ = ["within"]

_T = TypeVar("_T")


async def within(call: Coroutine[Any, Any, _T], timeout: float) -> _T:
    """Await ``call`` for at most ``timeout`` seconds; raise ``TimeoutError`` after that.

    ``call`` is cancelled at the deadline. A ``TimeoutError`` of the store's own (a socket
    timeout) propagates as it is; so does a cancellation of the request itself (asyncio's
    ``CancelledError``, trio's ``Cancelled``), never turned into a timeout.
    """
    trio = running_trio()
    if trio is not None:
        with trio.move_on_after(timeout) as scope:
            result = await call
        if scope.cancelled_caught:
            raise _late(timeout)
        return result
    if sys.version_info >= (3, 11):
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                return await call
        except TimeoutError:
            if deadline.expired():
                raise _late(timeout) from None
            raise
    # Python 3.10: wait_for cancels call at the deadline and raises asyncio.TimeoutError, its
    # own class there; a store's own TimeoutError passes through unchanged.
    try:  # pragma: no cover - Python 3.10 only
        return await asyncio.wait_for(call, timeout)
    except asyncio.TimeoutError:  # pragma: no cover - Python 3.10 only
        raise _late(timeout) from None


def _late(timeout: float) -> TimeoutError:
    return TimeoutError(f"the store did not answer within {timeout:g} s")
