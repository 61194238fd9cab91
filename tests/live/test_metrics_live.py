"""MetricsMiddleware under a real uvicorn: scraped with httpx, parsed by prometheus-client.

The in-process tests of the same apps: tests/integration/test_metrics_integration.py.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from xml.etree import ElementTree

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from websockets.sync.client import connect

from asgi_middleware import ASGIApp, RequestIDMiddleware, compose
from asgi_middleware.metrics import (
    MetricsMiddleware,
    PrometheusExporter,
    capture_route,
    metrics_app,
)
from tests.support.samples import EXAMPLES
from tests.support.servers import REPO_ROOT, ServeApp, serve_process


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples called ``name`` in an exposition, by their sorted labels."""
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def by_route(
    text: str, name: str = "http_server_request_duration_seconds_count"
) -> dict[str, float]:
    """Counts by ``http_route`` (summed over the other labels)."""
    found: dict[str, float] = {}
    for labels, value in samples(text, name).items():
        route = dict(labels)["http_route"]
        found[route] = found.get(route, 0) + value
    return found


async def item(request: Request) -> PlainTextResponse:
    """Any endpoint."""
    return PlainTextResponse(f"item {request.path_params['item_id']}")


async def stream(request: Request) -> StreamingResponse:
    """Three chunks of 1000 bytes."""

    async def chunks() -> object:
        for _ in range(3):
            yield b"x" * 1000

    return StreamingResponse(chunks())  # type: ignore[arg-type]


async def room(websocket: WebSocket) -> None:
    """Accept, echo one message, close."""
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()


def app(registry: CollectorRegistry) -> ASGIApp:
    """A Starlette app behind our request ID layer, with /metrics."""
    routes = [
        Route("/items/{item_id:int}", item),
        Route("/stream", stream),
        WebSocketRoute("/ws/{room}", room),
        Route("/metrics", metrics_app(registry)),
    ]
    exporter = PrometheusExporter(registry=registry)
    return compose(
        capture_route(Starlette(routes=routes)),
        RequestIDMiddleware,
        (lambda inner: MetricsMiddleware(inner, exporters=exporter)),
    )


@pytest.mark.server
def test_scrape_under_uvicorn(live_server: ServeApp) -> None:
    """Under uvicorn, /metrics parses, counts by template, streamed bytes, sessions."""
    registry = CollectorRegistry()
    server = live_server(app(registry))
    with server.client() as client:
        for item_id in (1, 2, 3):
            assert client.get(f"/items/{item_id}").status_code == 200
        assert len(client.get("/stream").content) == 3000
        assert client.get("/nowhere").status_code == 404
        with connect(f"{server.ws_url}/ws/lobby") as websocket:
            websocket.send("hi")
            assert websocket.recv() == "hi"
        deadline = time.monotonic() + 5
        while True:  # the session is recorded when the app's handler returns, in the server
            text = client.get("/metrics").text
            sessions = samples(text, "asgi_websocket_session_duration_seconds_count")
            if sessions or time.monotonic() > deadline:
                break
            time.sleep(0.02)
    assert by_route(text) == {"/items/{item_id:int}": 3, "/stream": 1, "_unmatched": 1}
    streamed = samples(text, "http_server_response_body_size_bytes_sum")
    assert [value for labels, value in streamed.items() if ("http_route", "/stream") in labels] == [
        3000
    ]
    assert list(sessions.values()) == [1]
    [labels] = sessions
    assert dict(labels)["http_route"] == "/ws/{room}"
    assert dict(labels)["http_response_status_code"] == "101"


@pytest.mark.server
def test_openmetrics_scrape_carries_request_id_exemplars(live_server: ServeApp) -> None:
    """A scrape asking for OpenMetrics, as Prometheus does, gets the request ID as exemplar."""
    registry = CollectorRegistry()
    server = live_server(app(registry))
    with server.client() as client:
        client.get("/items/5", headers={"x-request-id": "live-1"})
        response = client.get(
            "/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"}
        )
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert '# {request_id="live-1"}' in response.text


@pytest.mark.server
def test_multiprocess_counts_of_every_worker_add_up(tmp_path: Path) -> None:
    """Two uvicorn workers with PROMETHEUS_MULTIPROC_DIR: the scraped counts add up to N."""
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    options = {"env": env, "app_dir": EXAMPLES, "workers": 2, "timeout": 30}
    with serve_process("metrics_multiprocess:app", **options) as server:  # type: ignore[arg-type]
        pids: list[str] = []
        # A connection per request, so both workers take a share; at least 20 requests, and
        # more (up to 400) until both workers have answered.
        while len(pids) < 20 or (len(set(pids)) < 2 and len(pids) < 400):
            with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
                pids.append(client.get("/ping").text)
        with server.client() as client:
            text = client.get("/metrics").text
    assert len(set(pids)) == 2
    assert by_route(text) == {"/ping": len(pids)}
    assert {path.name.split("_")[0] for path in tmp_path.iterdir()} >= {"histogram"}


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """scripts/metrics_chart.py, imported (registered while the test runs, as dataclasses need)."""
    spec = importlib.util.spec_from_file_location(
        "metrics_chart", REPO_ROOT / "scripts" / "metrics_chart.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "metrics_chart", module)
    monkeypatch.syspath_prepend(str(REPO_ROOT))
    spec.loader.exec_module(module)
    return module


@pytest.mark.server
def test_chart_script_draws_the_three_panels(script: ModuleType, tmp_path: Path) -> None:
    """scripts/metrics_chart.py, on a tiny load, draws the dashboard's three panels as SVG."""
    output = tmp_path / "chart.svg"
    args = ["--seconds", "1.2", "--interval", "0.3", "--concurrency", "2", "--output", str(output)]
    assert script.main(args) == 0
    root = ElementTree.parse(output).getroot()  # noqa: S314 - our own file
    namespace = "{http://www.w3.org/2000/svg}"
    titles = [node.text for node in root.iter(f"{namespace}text") if node.get("class") == "title"]
    assert titles == [
        "Request rate by route",
        "Error ratio by route (5xx)",
        "Latency by route: p50 (dashed), p95, p99 (dotted)",
    ]
    legend = {node.text for node in root.iter(f"{namespace}text") if node.get("class") == "legend"}
    assert "/api/orders/{order_id:int}" in legend
    assert len(list(root.iter(f"{namespace}polyline"))) >= 3


def test_chart_quantile_is_prometheus_histogram_quantile(script: ModuleType) -> None:
    """The script's quantile interpolates within a bucket as histogram_quantile does."""
    buckets = [(0.1, 50.0), (0.2, 100.0), (float("inf"), 100.0)]
    assert script.quantile(0.5, buckets) == pytest.approx(0.1)
    assert script.quantile(0.75, buckets) == pytest.approx(0.15)
    assert script.quantile(0.5, [(0.1, 0.0), (float("inf"), 0.0)]) is None
    assert script.quantile(0.99, [(0.1, 0.0), (float("inf"), 5.0)]) == 0.1
