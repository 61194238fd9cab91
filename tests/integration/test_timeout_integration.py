"""TimeoutMiddleware around Starlette and FastAPI apps, and inside our other layers (httpx).

httpx's in-process transport buffers bodies, so these tests check statuses, headers, complete
bodies and what the app and the layers around it saw; streaming on the wire is the live tier's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from structlog.testing import LogCapture

from asgi_middleware import (
    AccessLogMiddleware,
    ASGIApp,
    Layer,
    RequestIDMiddleware,
    SecurityHeadersMiddleware,
    compose,
)
from asgi_middleware.timeout import TimeoutMiddleware
from tests.support.asgi import asgi_client

pytestmark = pytest.mark.anyio

TIMEOUT = 0.2  # seconds; every slow endpoint waits several times longer


class Slow:
    """Endpoints that outlast the deadline, and what happened to them."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.thread_done = threading.Event()

    async def slow(self, _request: Request) -> PlainTextResponse:
        """Wait far past the deadline, then answer; cleans up when cancelled."""
        try:
            await anyio.sleep(TIMEOUT * 20)
        finally:
            self.events.append("slow cleaned up")
        return PlainTextResponse("too late")

    def blocking(self, _request: Request) -> PlainTextResponse:
        """A sync endpoint: Starlette runs it in a worker thread, which no one can cancel."""
        time.sleep(TIMEOUT * 3)
        self.thread_done.set()
        return PlainTextResponse("from the thread")

    async def stream(self, _request: Request) -> StreamingResponse:
        """Start at once, then stream past the deadline."""

        async def chunks() -> AsyncIterator[bytes]:
            for index in range(3):
                await anyio.sleep(TIMEOUT)
                yield b"chunk %d\n" % index

        return StreamingResponse(chunks(), media_type="text/plain")

    async def endless(self, _request: Request) -> StreamingResponse:
        """Stream forever, until something ends the request."""

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield b"tick\n"
                    await anyio.sleep(TIMEOUT / 4)
            finally:
                self.events.append("stream closed")

        return StreamingResponse(chunks(), media_type="text/plain")

    async def background(self, _request: Request) -> PlainTextResponse:
        """Answer at once, then work past every deadline in a background task."""

        async def work() -> None:
            await anyio.sleep(TIMEOUT * 3)
            self.events.append("background done")

        return PlainTextResponse("accepted", background=BackgroundTask(work))


async def fast(request: Request) -> PlainTextResponse:
    """Answer at once."""
    return PlainTextResponse("fast")


def starlette_app(slow: Slow, middleware: list[Middleware] | None = None) -> Starlette:
    """A Starlette app with fast, slow, blocking, streaming and background endpoints."""
    return Starlette(
        routes=[
            Route("/fast", fast),
            Route("/slow", slow.slow),
            Route("/blocking", slow.blocking),
            Route("/stream", slow.stream),
            Route("/endless", slow.endless),
            Route("/background", slow.background),
        ],
        middleware=middleware,
    )


def fastapi_app(slow: Slow) -> FastAPI:
    """A FastAPI app: an async endpoint with a yield dependency, and a sync one."""
    app = FastAPI()

    def resource() -> Iterator[str]:
        slow.events.append("dependency opened")
        try:
            yield "resource"
        finally:
            slow.events.append("dependency closed")

    @app.get("/fast")
    async def fast_endpoint() -> dict[str, str]:
        return {"answer": "fast"}

    @app.get("/slow")
    async def slow_endpoint(value: str = Depends(resource)) -> dict[str, str]:
        await anyio.sleep(TIMEOUT * 20)
        return {"answer": value}

    @app.get("/blocking")
    def blocking_endpoint() -> dict[str, str]:
        time.sleep(TIMEOUT * 3)
        slow.thread_done.set()
        return {"answer": "from the thread"}

    return app


FRAMEWORKS = [
    pytest.param(starlette_app, id="starlette"),
    pytest.param(fastapi_app, id="fastapi"),
]


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_a_slow_endpoint_gets_a_504_in_about_the_timeout(
    framework: Callable[[Slow], ASGIApp],
) -> None:
    """A complete plain-text 504, once the endpoint has cleaned up, at about the deadline."""
    slow = Slow()
    app = TimeoutMiddleware(framework(slow), timeout=TIMEOUT)

    async with asgi_client(app) as client:
        began = time.monotonic()
        response = await client.get("/slow")
        elapsed = time.monotonic() - began
        fast_response = await client.get("/fast")

    assert response.status_code == 504
    assert response.text == "Gateway Timeout"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == "15"
    assert TIMEOUT <= elapsed < TIMEOUT * 5
    assert fast_response.status_code == 200
    if framework is starlette_app:
        assert slow.events == ["slow cleaned up"]
    else:
        assert slow.events == ["dependency opened", "dependency closed"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_a_sync_endpoint_is_not_cancelled(
    framework: Callable[[Slow], ASGIApp], anyio_backend: str
) -> None:
    """Work in a thread cannot be cancelled (documented).

    Under asyncio the wait for the thread is cancelled: the 504 is on time and the thread runs
    on. Under trio the wait is not cancellable (anyio's default for worker threads), so nothing
    happens before the thread returns; then the app is cancelled at its next ``await``, at the
    latest when it sends its response start (which never reaches the server), and the client
    gets the 504, from Starlette and FastAPI alike.
    """
    slow = Slow()
    app = TimeoutMiddleware(framework(slow), timeout=TIMEOUT)

    async with asgi_client(app) as client:
        response = await client.get("/blocking")
        done_at_response = slow.thread_done.is_set()

    assert slow.thread_done.wait(TIMEOUT * 10)
    if anyio_backend == "asyncio":
        assert response.status_code == 504
        assert not done_at_response
    else:
        assert response.status_code == 504
        assert done_at_response


async def test_a_stream_that_started_in_time_is_whole() -> None:
    """Starlette's StreamingResponse started at once: every chunk arrives, past the deadline."""
    app = TimeoutMiddleware(starlette_app(Slow()), timeout=TIMEOUT)

    async with asgi_client(app) as client:
        response = await client.get("/stream")

    assert response.status_code == 200
    assert response.text == "chunk 0\nchunk 1\nchunk 2\n"


async def test_the_total_deadline_ends_an_endless_stream() -> None:
    """With ``total_timeout`` the stream is cancelled, closes, and the request fails loudly."""
    slow = Slow()
    app = TimeoutMiddleware(starlette_app(slow), timeout=TIMEOUT, total_timeout=TIMEOUT * 2)

    async with asgi_client(app) as client:
        with pytest.raises(TimeoutError, match=r"not complete within total_timeout=0\.4s"):
            await client.get("/endless")

    assert slow.events == ["stream closed"]


async def test_the_total_deadline_leaves_background_tasks_alone() -> None:
    """Starlette's background task runs after the response, past every deadline, uncut."""
    slow = Slow()
    app = TimeoutMiddleware(starlette_app(slow), timeout=TIMEOUT, total_timeout=TIMEOUT * 2)

    async with asgi_client(app) as client:
        response = await client.get("/background")

    assert response.text == "accepted"
    assert slow.events == ["background done"]


async def test_inside_base_http_middleware() -> None:
    """A ``BaseHTTPMiddleware`` (its task group) inside the deadline is cancelled cleanly too."""
    seen: list[str] = []

    class Tag(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            try:
                return await call_next(request)
            finally:
                seen.append("dispatch unwound")

    app = TimeoutMiddleware(starlette_app(Slow(), [Middleware(Tag)]), timeout=TIMEOUT)

    async with asgi_client(app) as client:
        response = await client.get("/slow")

    assert response.status_code == 504
    assert seen == ["dispatch unwound"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_the_access_log_records_a_504_not_an_error(
    framework: Callable[[Slow], ASGIApp], logger: Any, capture: LogCapture
) -> None:
    """Outside the timeout, the access log sees the 504 sent: no exception, not cancelled."""
    app = compose(
        framework(Slow()),
        RequestIDMiddleware,
        Layer(AccessLogMiddleware, logger=logger),
        Layer(TimeoutMiddleware, timeout=TIMEOUT),
    )

    async with asgi_client(app) as client:
        response = await client.get("/slow")

    [event] = capture.entries
    assert response.status_code == 504
    assert event["status"] == 504
    assert event["cancelled"] is False
    assert event["bytes_sent"] == len(b"Gateway Timeout")
    assert "exc_info" not in event
    assert event["request_id"] == response.headers["x-request-id"]


async def test_the_504_carries_the_request_id_and_security_headers() -> None:
    """Layers outside the timeout add their headers to its 504 as to any response."""
    app = compose(
        starlette_app(Slow()),
        SecurityHeadersMiddleware,
        RequestIDMiddleware,
        Layer(TimeoutMiddleware, timeout=TIMEOUT),
    )

    async with asgi_client(app) as client:
        response = await client.get("/slow", headers={"X-Request-ID": "req-42"})

    assert response.status_code == 504
    assert response.headers["x-request-id"] == "req-42"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_in_a_starlette_middleware_list() -> None:
    """``Middleware(TimeoutMiddleware, ...)`` in Starlette's list works as the wrapper does."""
    slow = Slow()
    app = starlette_app(slow, [Middleware(TimeoutMiddleware, timeout=TIMEOUT)])

    async with asgi_client(app) as client:
        response = await client.get("/slow")

    assert response.status_code == 504
    assert slow.events == ["slow cleaned up"]


async def test_fastapi_add_middleware_with_path_timeouts() -> None:
    """``app.add_middleware``: the per-path deadline lets ``/slow`` run where others are cut."""
    slow = Slow()
    app = fastapi_app(slow)
    app.add_middleware(TimeoutMiddleware, timeout=TIMEOUT, path_timeouts={"/slow": TIMEOUT * 40})

    async with asgi_client(app) as client:
        response = await client.get("/slow")

    assert response.status_code == 200
    assert response.json() == {"answer": "resource"}
