"""Run blocking work in a worker thread under asyncio or trio, without depending on anyio.

The package's one runtime dependency is structlog, so the event loop is detected directly: a
running asyncio loop means asyncio (anyio's asyncio backend included); otherwise the caller is
running under trio, which is then already imported.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from asyncio import _get_running_loop
from collections.abc import Callable
from types import ModuleType
from typing import TypeVar

_T = TypeVar("_T")


def running_trio() -> ModuleType | None:
    """Return the ``trio`` module when called from trio, ``None`` when called from asyncio."""
    # _get_running_loop() answers None outside asyncio instead of raising as get_running_loop()
    # does: no exception to build and catch on trio's side, and none left as the __context__ of
    # what work started by the caller raises. It is the low-level accessor get_event_loop() is
    # built on, exported in asyncio.events.__all__ (Python 3.7 and later).
    if _get_running_loop() is not None:
        return None
    # No asyncio loop in this thread: we were called from trio, which is therefore loaded.
    return sys.modules["trio"]


async def run_sync(func: Callable[..., _T], *args: object) -> _T:
    """Call ``func(*args)`` in a worker thread and return its result, keeping the loop free.

    Args:
        func: A blocking callable.
        *args: Positional arguments for ``func``.

    Returns:
        What ``func`` returned; an exception it raised propagates unchanged (not chained).
    """
    call = functools.partial(func, *args)
    trio = running_trio()
    if trio is not None:
        result: _T = await trio.to_thread.run_sync(call)
        return result
    return await asyncio.get_running_loop().run_in_executor(None, call)
