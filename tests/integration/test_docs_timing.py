"""The Timing page's examples (docs/examples/timing_*.py) do what docs/timing.md says."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

import httpx
import pytest

from asgi_middleware import ASGIApp
from tests.support.asgi import asgi_client
from tests.support.samples import EXAMPLES, load

pytestmark = pytest.mark.anyio

PAGE = EXAMPLES.parent / "timing.md"


@pytest.fixture(autouse=True)
def fresh_modules() -> Iterator[None]:
    """Drop the example modules each test imports, so every test gets fresh module state."""
    yield
    for name in [name for name in sys.modules if name.startswith("docs_examples_timing_")]:
        del sys.modules[name]


async def get(app: ASGIApp, path: str, **headers: str) -> httpx.Response:
    """One GET to ``app`` in process."""
    async with asgi_client(app) as client:
        return await client.get(path, headers=headers)


def metrics(response: httpx.Response) -> list[str]:
    """The metric names of the response's Server-Timing, in order."""
    return re.findall(r"(?:^|, )([\w.-]+);dur=", response.headers["server-timing"])


async def test_timing_app_lists_every_metric_in_order() -> None:
    """timing_app: cache, db and render metrics, then the middleware's, with descriptions."""
    response = await get(load("timing_app").app, "/orders")
    assert response.json() == {"orders": [{"id": 1, "total": 9.5}]}
    assert metrics(response) == ["cache", "db", "render", "app"]
    value = response.headers["server-timing"]
    assert 'desc="orders query"' in value
    assert re.search(r'app;dur=\d+\.\d{3};desc="time to first byte"$', value)
    db = float(re.findall(r"db;dur=([\d.]+)", value)[0])
    assert db >= 10  # the stand-in query sleeps 10 ms


async def test_timing_callback_collects_per_route_template() -> None:
    """timing_callback: two users' requests land in one route series; no header is sent."""
    module = load("timing_callback")
    for user_id in (1, 2):
        response = await get(module.app, f"/users/{user_id}")
        assert "server-timing" not in response.headers
    assert set(module.stats.total_ms) == {("/users/{user_id:int}", 200)}
    assert len(module.stats.total_ms["/users/{user_id:int}", 200]) == 2
    assert len(module.stats.ttfb_ms["/users/{user_id:int}", 200]) == 2


async def test_timing_callback_unmatched_route() -> None:
    """timing_callback: a request no route matched is counted as ``unmatched`` with its 404."""
    module = load("timing_callback")
    await get(module.app, "/nowhere")
    assert set(module.stats.total_ms) == {("unmatched", 404)}


async def test_timing_callback_no_ttfb_without_a_response() -> None:
    """timing_callback: a result without a response start adds a total but no ttfb."""
    module = load("timing_callback")
    result = module.TimingResult({"type": "http"}, 500, None, 3.0, False, ())
    module.stats(result)
    assert module.stats.total_ms == {("unmatched", 500): [3.0]}
    assert module.stats.ttfb_ms == {}


@pytest.mark.parametrize("attribute", ["recipe_app", "app"])
async def test_timing_fastapi_both_send_process_time(attribute: str) -> None:
    """timing_fastapi: the recipe and its replacement both send X-Process-Time in seconds."""
    response = await get(vars(load("timing_fastapi"))[attribute], "/")
    assert response.json() == {"hello": "ada"}
    assert 0 <= float(response.headers["x-process-time"]) < 5


async def test_timing_fastapi_replacement_adds_server_timing() -> None:
    """timing_fastapi: the replacement also sends the dependency's metric in Server-Timing."""
    response = await get(load("timing_fastapi").app, "/")
    assert metrics(response) == ["auth", "app"]


async def test_timing_statsd_sends_timing_asgi_names_and_tags() -> None:
    """timing_statsd: the callback sends timing-asgi's metric name, seconds and tags."""
    module = load("timing_statsd")
    response = await get(module.app, "/api/health")
    assert response.text == "ok"
    [(name, seconds, tags)] = module.client.sent
    assert name == "myapp.api.health"
    assert 0 <= seconds < 5
    assert tags == ["http_status:200", "http_method:GET", "time:wall"]


async def test_timing_cross_origin_exposes_and_allows_the_spa() -> None:
    """timing_cross_origin: the SPA's origin gets CORS exposure and Timing-Allow-Origin."""
    response = await get(
        load("timing_cross_origin").app, "/api/items", origin="https://app.example"
    )
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    exposed = [
        token.strip().lower()
        for token in response.headers["access-control-expose-headers"].split(",")
    ]
    assert "server-timing" in exposed
    assert response.headers["timing-allow-origin"] == "https://app.example"
    assert metrics(response) == ["db", "app"]


def test_page_embeds_every_timing_example() -> None:
    """docs/timing.md embeds each timing example file, so none goes stale unseen."""
    page = PAGE.read_text(encoding="utf-8")
    files = sorted(path.name for path in EXAMPLES.glob("timing_*.py"))
    assert len(files) == 5
    for name in files:
        assert f"docs/examples/{name}" in page, name
