"""Run blocking work in a worker thread under asyncio or trio, without depending on anyio.

The package's one runtime dependency is structlog, so the event loop is detected directly: a
running asyncio loop means asyncio (anyio's asyncio backend included); otherwise the caller is
running under trio, which is then already imported.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")


async def run_sync(func: Callable[..., _T], *args: object) -> _T:
    """Call ``func(*args)`` in a worker thread and return its result, keeping the loop free.

    Args:
        func: A blocking callable.
        *args: Positional arguments for ``func``.

    Returns:
        What ``func`` returned; an exception it raised propagates unchanged.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        # No asyncio loop in this thread: we were awaited from trio, which is therefore loaded.
        trio = sys.modules["trio"]
        result: _T = await trio.to_thread.run_sync(functools.partial(func, *args))
        return result
    return await loop.run_in_executor(None, functools.partial(func, *args))
