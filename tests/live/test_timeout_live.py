"""``TimeoutMiddleware`` around a Starlette app under a real uvicorn on 127.0.0.1.

What httpx's in-process transport hides: when the bytes reach the client. A 504 arrives at the
deadline, a started stream keeps streaming past it, and the total deadline closes the connection
in the middle of a chunked body. The in-process tests are in
tests/integration/test_timeout_integration.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from asgi_middleware.timeout import TimeoutMiddleware
from tests.support.servers import LiveServer, ServeApp

TIMEOUT = 0.3  # seconds
TOTAL = 1.0  # seconds, the total deadline of the second server


async def fast(_request: Request) -> PlainTextResponse:
    """Answer at once."""
    return PlainTextResponse("fast")


async def slow(_request: Request) -> PlainTextResponse:
    """Answer long after the deadline."""
    await anyio.sleep(TIMEOUT * 20)
    return PlainTextResponse("too late")


async def stream(_request: Request) -> StreamingResponse:
    """Start at once, then send a chunk every ``TIMEOUT`` seconds, four in all."""

    async def chunks() -> AsyncIterator[bytes]:
        for index in range(4):
            yield b"chunk %d\n" % index
            await anyio.sleep(TIMEOUT)

    return StreamingResponse(chunks(), media_type="text/plain")


async def endless(_request: Request) -> StreamingResponse:
    """Stream a line every 0.1 s, forever."""

    async def chunks() -> AsyncIterator[bytes]:
        while True:
            yield b"tick\n"
            await anyio.sleep(0.1)

    return StreamingResponse(chunks(), media_type="text/plain")


def app() -> Starlette:
    """The Starlette app both servers wrap."""
    return Starlette(
        routes=[
            Route("/fast", fast),
            Route("/slow", slow),
            Route("/stream", stream),
            Route("/endless", endless),
        ]
    )


@pytest.fixture(scope="module")
def server(module_live_server: ServeApp) -> LiveServer:
    """A uvicorn serving the app with a ``TIMEOUT`` deadline and no total deadline."""
    return module_live_server(TimeoutMiddleware(app(), timeout=TIMEOUT))


@pytest.fixture(scope="module")
def total_server(module_live_server: ServeApp) -> LiveServer:
    """A uvicorn serving the app with a ``TIMEOUT`` deadline and ``TOTAL`` as total deadline."""
    return module_live_server(TimeoutMiddleware(app(), timeout=TIMEOUT, total_timeout=TOTAL))


@pytest.fixture
def quiet_uvicorn(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Silence uvicorn's log of the ``TimeoutError`` that closes a cut stream: expected here."""
    with caplog.at_level(logging.CRITICAL, logger="uvicorn.error"):
        yield


@pytest.mark.server
def test_a_slow_endpoint_gets_a_504_at_the_deadline(server: LiveServer) -> None:
    """The 504 reaches the client at about ``TIMEOUT``, complete, and the connection stays."""
    with server.client() as client:
        began = time.monotonic()
        response = client.get("/slow")
        elapsed = time.monotonic() - began
        after = client.get("/fast")

    assert response.status_code == 504
    assert response.text == "Gateway Timeout"
    assert response.headers["content-length"] == "15"
    assert "close" not in response.headers.get("connection", "")
    assert TIMEOUT <= elapsed < TIMEOUT + 1
    assert after.text == "fast"


@pytest.mark.server
def test_a_stream_started_in_time_streams_past_the_deadline(server: LiveServer) -> None:
    """Each chunk reaches the client as it is sent, the last long after the deadline."""
    arrivals: list[tuple[float, bytes]] = []
    with server.client() as client, client.stream("GET", "/stream") as response:
        began = time.monotonic()
        arrivals.extend((time.monotonic() - began, line) for line in response.iter_raw())

    assert response.status_code == 200
    assert b"".join(line for _, line in arrivals) == b"chunk 0\nchunk 1\nchunk 2\nchunk 3\n"
    assert arrivals[0][0] < TIMEOUT  # the first chunk did not wait for the rest
    assert arrivals[-1][0] >= TIMEOUT * 2.5


@pytest.mark.server
@pytest.mark.usefixtures("quiet_uvicorn")
def test_the_total_deadline_cuts_the_stream(total_server: LiveServer) -> None:
    """At ``TOTAL`` the server closes the connection: the client sees an incomplete body."""
    received: list[bytes] = []
    began = time.monotonic()
    with (
        total_server.client() as client,
        client.stream("GET", "/endless") as response,
        pytest.raises(httpx.RemoteProtocolError, match="incomplete"),
    ):
        received.extend(response.iter_raw())  # what arrived before the cut is kept
    elapsed = time.monotonic() - began

    assert response.status_code == 200
    assert TOTAL <= elapsed < TOTAL + 1
    assert b"".join(received).startswith(b"tick\n" * 5)


@pytest.mark.server
@pytest.mark.usefixtures("quiet_uvicorn")
def test_the_server_keeps_serving_after_a_cut(total_server: LiveServer) -> None:
    """A cut stream closes its connection only: the next request is answered."""
    with total_server.client() as client:
        with client.stream("GET", "/endless") as cut, pytest.raises(httpx.RemoteProtocolError):
            cut.read()
        response = client.get("/fast")

    assert response.text == "fast"
