"""Capturing structlog events in tests without configuring structlog globally.

This module is a pytest plugin (``tests/conftest.py`` loads it): the ``capture`` and ``logger``
fixtures are found by name; :class:`Events` is for events written in a real server's thread, which
can arrive just after the response. ``restore_logging`` is for tests that run code which does
configure logging (a docs sample's set-up, an app's lifespan).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
import structlog
from structlog.testing import LogCapture

__all__ = ["Events", "capture", "logger", "restore_logging"]


@pytest.fixture
def capture() -> LogCapture:
    """A LogCapture processor; its entries are the events a test's logger emitted."""
    return LogCapture()


@pytest.fixture
def logger(capture: LogCapture) -> Any:
    """A per-test structlog logger: contextvars merged, events captured, nothing global."""
    return structlog.wrap_logger(
        None, processors=[structlog.contextvars.merge_contextvars, capture]
    )


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put structlog's configuration and the root logger's handlers and level back afterwards."""
    configured, config = structlog.is_configured(), structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        if configured:
            structlog.configure(**config)
        else:
            structlog.reset_defaults()
        for handler in [handler for handler in root.handlers if handler not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)


class Events:
    """Events captured from a server's thread, with a wait for the next one."""

    def __init__(self) -> None:
        self.capture = LogCapture()
        self.logger = structlog.wrap_logger(
            None, processors=[structlog.contextvars.merge_contextvars, self._record]
        )
        self.arrived = threading.Event()

    def _record(self, logger: Any, method: str, event: MutableMapping[str, Any]) -> Any:
        try:
            return self.capture(logger, method, event)
        finally:
            self.arrived.set()

    def wait(self, count: int, timeout: float = 5.0) -> list[MutableMapping[str, Any]]:
        """Return the captured events once there are ``count`` of them (or at the timeout)."""
        deadline = time.monotonic() + timeout
        while len(self.capture.entries) < count and time.monotonic() < deadline:
            self.arrived.wait(0.05)
            self.arrived.clear()
        return list(self.capture.entries)
