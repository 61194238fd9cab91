"""The Metrics page's examples (docs/examples/metrics_*.py) and dashboard do what it says."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.asgi import asgi_client
from tests.support.samples import EXAMPLES, app_of, load

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("sibling_imports")]

DOCS = EXAMPLES.parent
DASHBOARD = DOCS / "grafana" / "asgi-middleware.json"
#: Every metric name the Prometheus exporter exports, with the histograms' series.
EXPORTED = {
    f"{name}{suffix}"
    for name in (
        "http_server_request_duration_seconds",
        "http_server_request_body_size_bytes",
        "http_server_response_body_size_bytes",
        "asgi_websocket_session_duration_seconds",
    )
    for suffix in ("_bucket", "_sum", "_count")
} | {"http_server_active_requests", "asgi_websocket_active_sessions"}


@pytest.fixture(autouse=True)
def fresh_modules() -> Iterator[None]:
    """Drop the example modules each test imports, so every test gets fresh module state."""
    yield
    for name in [name for name in sys.modules if name.startswith("docs_examples_metrics_")]:
        del sys.modules[name]


def counts(text: str) -> dict[tuple[str, str, str], float]:
    """Request counts by (method, route, status) in an exposition."""
    found: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "http_server_request_duration_seconds_count":
                labels = sample.labels
                key = (
                    labels["http_request_method"],
                    labels["http_route"],
                    labels["http_response_status_code"],
                )
                found[key] = sample.value
    return found


async def test_prometheus_sample_counts_by_template_and_serves_metrics() -> None:
    """metrics_prometheus: two items are one series, a 404 is unmatched, /metrics not counted."""
    app = app_of(load("metrics_prometheus"))
    async with asgi_client(app) as client:
        for path in ("/api/v1/items/1", "/api/v1/items/2", "/nope"):
            await client.get(path)
        response = await client.get("/metrics")
    assert counts(response.text) == {
        ("GET", "/api/v1/items/{item_id}", "200"): 2,
        ("GET", "_unmatched", "404"): 1,
    }


async def test_stack_sample_ties_an_exemplar_to_a_log_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """metrics_stack: the duration's exemplar is the request ID in the access log's line."""
    app = app_of(load("metrics_stack"))
    async with asgi_client(app) as client:
        response = await client.get("/orders/7", headers={"x-request-id": "req-abc"})
        scrape = await client.get(
            "/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"}
        )
    assert response.json() == {"id": 7}
    exemplars = re.findall(r'# \{request_id="([^"]+)"\}', scrape.text)
    assert exemplars == ["req-abc"]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["path"], line["request_id"]) for line in lines] == [("/orders/7", "req-abc")]


async def test_otel_sample_records_through_the_sdk() -> None:
    """metrics_otel: the SDK's reader sees the duration under the route template."""
    module = load("metrics_otel")
    async with asgi_client(app_of(module)) as client:
        assert (await client.get("/hello/ada")).text == "hello ada"
    data = module.reader.get_metrics_data()
    points = [
        dict(point.attributes)
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "http.server.request.duration"
        for point in metric.data.data_points
    ]
    assert points == [
        {
            "http.request.method": "GET",
            "url.scheme": "http",
            "network.protocol.version": "1.1",
            "http.route": "/hello/{name}",
            "http.response.status_code": 200,
        }
    ]


async def test_multiprocess_sample_runs_as_one_process_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """metrics_multiprocess without the variable: a one-process app (tests/live runs workers)."""
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    async with asgi_client(app_of(load("metrics_multiprocess"))) as client:
        assert (await client.get("/ping")).status_code == 200


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # Django's ASGI handler needs asyncio
async def test_django_recipe_records_url_patterns() -> None:
    """metrics_django: two articles are one series by Django's pattern; a 404 is unmatched."""
    module = load("metrics_django")
    async with asgi_client(app_of(module)) as client:
        for path in ("/articles/2024/hello/", "/articles/2025/bye/", "/nope/"):
            await client.get(path)
    from prometheus_client import generate_latest  # noqa: PLC0415

    assert counts(generate_latest(module.registry).decode()) == {
        ("GET", "/articles/<int:year>/<slug:slug>/", "200"): 2,
        ("GET", "_unmatched", "404"): 1,
    }


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # Quart runs on asyncio only
async def test_quart_recipe_records_url_rules() -> None:
    """metrics_quart: two users are one series by Quart's rule; a 404 is unmatched."""
    module = load("metrics_quart")
    async with asgi_client(app_of(module)) as client:
        for path in ("/users/1", "/users/2", "/nope"):
            await client.get(path)
    from prometheus_client import generate_latest  # noqa: PLC0415

    assert counts(generate_latest(module.registry).decode()) == {
        ("GET", "/users/<int:user_id>", "200"): 2,
        ("GET", "_unmatched", "404"): 1,
    }


def dashboard_panels() -> list[dict[str, Any]]:
    """The dashboard's panels."""
    panels: list[dict[str, Any]] = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    return panels


def test_dashboard_has_the_three_panels() -> None:
    """Request rate, error ratio and latency percentiles by route, in that order."""
    titles = [panel["title"] for panel in dashboard_panels()]
    assert titles == ["Request rate by route", "Error ratio by route", "Latency by route"]


@pytest.mark.parametrize("panel", dashboard_panels(), ids=lambda panel: panel["title"])
def test_dashboard_queries_name_only_exported_metrics(panel: dict[str, Any]) -> None:
    """Every metric a panel's PromQL reads is one the Prometheus exporter exports."""
    functions = {"sum", "rate", "by", "histogram_quantile", "clamp_min", "le", "without"}
    for target in panel["targets"]:
        expr = target["expr"]
        names = set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*(?=[{\[(])", expr)) - functions
        assert names, expr
        assert names <= EXPORTED, (expr, names - EXPORTED)
        labels = set(re.findall(r"\b([a-z_]+)\s*(?:=~|!=|=)", expr))
        exported_labels = {"http_route", "http_response_status_code", "le", "http_request_method"}
        assert labels <= exported_labels, labels


def test_chart_is_embedded_in_the_page() -> None:
    """The page shows the chart the script drew, and the file is there."""
    page = (DOCS / "metrics.md").read_text(encoding="utf-8")
    assert "![" in page
    assert "metrics-chart.svg" in page
    assert (DOCS / "metrics-chart.svg").is_file()
