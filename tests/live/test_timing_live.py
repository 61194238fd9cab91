"""``TimingMiddleware`` around a Starlette app under a real uvicorn on 127.0.0.1.

The in-process tests of the same app are in tests/integration/test_timing_integration.py.
"""

from __future__ import annotations

import logging
import time

import pytest

from asgi_middleware import TimingMiddleware
from asgi_middleware.timing import TimingResult
from tests.support.servers import ServeApp
from tests.support.timing_apps import OWN, entries, starlette_app


def wait_for(results: list[TimingResult]) -> None:
    """Wait until the server thread has called back: it does so after the client got its bytes."""
    deadline = time.monotonic() + 5
    while not results and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.server
def test_server_timing_arrives_under_uvicorn(live_server: ServeApp) -> None:
    """Under a real uvicorn, the header reaches the client next to the server's own headers."""
    server = live_server(TimingMiddleware(starlette_app(), timing_allow_origin="*"))
    with server.client() as client:
        response = client.get("/orders")
    assert response.status_code == 200
    db, own = entries(response.headers["server-timing"])
    assert db == 'db;dur=3.200;desc="orders query"'
    assert OWN.fullmatch(own)
    assert response.headers["timing-allow-origin"] == "*"
    assert "date" in response.headers  # uvicorn's own headers are still there


@pytest.mark.server
def test_streamed_response_total_covers_every_chunk(live_server: ServeApp) -> None:
    """Under uvicorn, a streamed response's total includes the chunks; the header has the ttfb."""
    results: list[TimingResult] = []
    server = live_server(TimingMiddleware(starlette_app(), callback=results.append))
    with server.client() as client:
        response = client.get("/stream")
        wait_for(results)
    assert response.text == "chunk 0\nchunk 1\nchunk 2\n"
    [result] = results
    header_ttfb = float(OWN.findall(response.headers["server-timing"])[0].split("=")[1])
    assert result.completed
    assert result.ttfb_ms is not None
    assert result.ttfb_ms == pytest.approx(header_ttfb, abs=0.001)
    assert result.total_ms - result.ttfb_ms >= 100  # three chunks, 50 ms apart, after the start


@pytest.mark.server
def test_uvicorn_500_still_calls_back(
    live_server: ServeApp, caplog: pytest.LogCaptureFixture
) -> None:
    """Under uvicorn, an app exception is re-raised to the server and still reported as 500."""
    results: list[TimingResult] = []
    server = live_server(TimingMiddleware(starlette_app(), callback=results.append))
    with caplog.at_level(logging.CRITICAL, logger="uvicorn.error"), server.client() as client:
        response = client.get("/boom")  # uvicorn logs the exception; that is expected here
        wait_for(results)
    assert response.status_code == 500
    assert [(result.status, result.completed) for result in results] == [(500, True)]
