"""Tests for ``asgi_middleware._kit.threads``: worker threads under asyncio and trio."""

from __future__ import annotations

import sys
import threading

import pytest

from asgi_middleware._kit.threads import run_sync, running_trio

pytestmark = pytest.mark.anyio


def _whereabouts(tag: str) -> tuple[str, int]:
    return tag, threading.get_ident()


def _fail() -> None:
    msg = "from the worker"
    raise LookupError(msg)


async def test_runs_in_another_thread_and_returns_the_result() -> None:
    """The callable runs off the event loop's thread, and its return value comes back."""
    tag, ident = await run_sync(_whereabouts, "done")
    assert tag == "done"
    assert ident != threading.get_ident()


async def test_exception_propagates_unchanged() -> None:
    """An exception raised in the worker reaches the caller as the same type and message."""
    with pytest.raises(LookupError, match="from the worker"):
        await run_sync(_fail)


async def test_exception_carries_no_spurious_context() -> None:
    """The worker's exception is not chained to the loop detection (no "During handling of...").

    The loop is detected without raising anything; the exception from the worker must not
    arrive with a detection error (``RuntimeError: no running event loop``) as its context.
    """
    with pytest.raises(LookupError) as info:
        await run_sync(_fail)

    assert info.value.__context__ is None
    assert info.value.__cause__ is None


async def test_running_trio_names_the_running_loop(anyio_backend: str) -> None:
    """The ``trio`` module under trio, ``None`` under asyncio."""
    expected = sys.modules["trio"] if anyio_backend == "trio" else None

    assert running_trio() is expected
