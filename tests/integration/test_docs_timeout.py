"""The timeout samples (docs/examples/timeout_*.py) do what docs/timeout.md says.

The samples use real deadlines (10 s, five minutes), so most tests run under trio with its mock
clock, which jumps ahead whenever every task is waiting: a sample's minutes pass in milliseconds.
The thread sample needs real time, since a thread does not follow the mock clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
import structlog
import trio.testing
from structlog.testing import LogCapture

from tests.support.asgi import asgi_client
from tests.support.samples import app_of, load

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("sibling_imports")]

MOCK_CLOCK = pytest.mark.parametrize(
    "anyio_backend",
    [pytest.param(("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}), id="trio")],
)


@pytest.fixture
def capture() -> Iterator[LogCapture]:
    """Route every structlog event into a capture for one test, then restore the defaults."""
    capture = LogCapture()
    structlog.configure(processors=[structlog.contextvars.merge_contextvars, capture])
    try:
        yield capture
    finally:
        structlog.reset_defaults()


@MOCK_CLOCK
@pytest.mark.parametrize(
    ("path", "status", "text", "seconds"),
    [
        ("/", 200, "Hello", 0),
        ("/search", 504, "Gateway Timeout", 10),
        ("/exports/q3", 200, "export q3", 45),
        ("/events", 200, "".join(f"data: tick {n}\n\n" for n in range(4)), 60),
    ],
)
async def test_basic_sample(path: str, status: int, text: str, seconds: float) -> None:
    """timeout_basic: 10 s by default, two minutes for exports, no deadline for events."""
    async with asgi_client(app_of(load("timeout_basic"))) as client:
        began = anyio.current_time()
        response = await client.get(path)
        elapsed = anyio.current_time() - began

    assert (response.status_code, response.text) == (status, text)
    assert elapsed == pytest.approx(seconds)


@MOCK_CLOCK
async def test_stack_sample_logs_the_504_with_its_request_id(capture: LogCapture) -> None:
    """timeout_stack: the 504 carries the request ID and the access log records a 504."""
    async with asgi_client(app_of(load("timeout_stack"))) as client:
        response = await client.get("/slow", headers={"X-Request-ID": "doc-t"})

    [access] = capture.entries
    assert response.status_code == 504
    assert response.headers["x-request-id"] == "doc-t"
    assert (access["event"], access["status"], access["request_id"]) == (
        "http_request",
        504,
        "doc-t",
    )
    assert "exc_info" not in access


@MOCK_CLOCK
async def test_streaming_sample_cuts_the_stream_at_five_minutes() -> None:
    """timeout_streaming: the stream runs past ``timeout`` and is cut at ``total_timeout``."""
    async with asgi_client(app_of(load("timeout_streaming"))) as client:
        began = anyio.current_time()
        with pytest.raises(TimeoutError, match=r"not complete within total_timeout=300s"):
            await client.get("/tail")
        elapsed = anyio.current_time() - began

    assert elapsed == pytest.approx(300)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_threads_sample_answers_504_while_the_thread_runs_on() -> None:
    """timeout_threads: the 504 comes after a second; the thread finishes a second later."""
    module = load("timeout_threads")
    finished: list[Any] = module.finished

    async with asgi_client(app_of(module)) as client:
        began = time.monotonic()
        response = await client.get("/report")
        elapsed = time.monotonic() - began
        at_504 = list(finished)
    await anyio.sleep(2.5 - elapsed)

    assert response.status_code == 504
    assert 1 <= elapsed < 1.9
    assert at_504 == []
    assert finished == ["report"]
