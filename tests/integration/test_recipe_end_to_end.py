"""The "one request, end to end" recipe: one request ID in the header, every log line and upstream.

The recipe is docs/examples/recipe_end_to_end.py (the FastAPI service) and
recipe_end_to_end_spa.py (the single-page app on another origin), shown in
docs/recipes/end-to-end.md. The SPA in Chromium: tests/browser/test_docs_browser.py.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.support.asgi import asgi_client
from tests.support.inventory import Inventory
from tests.support.samples import load

# The recipe configures structlog and the root logger: each test puts both back as they were.
pytestmark = pytest.mark.usefixtures("restore_logging")

SPA = "https://app.example"
INCOMING = "0190a5b27c4e7f008a113c9d2e4f5a6b"


@pytest.fixture
def recipe() -> Iterator[ModuleType]:
    """The recipe module, imported afresh and dropped afterwards."""
    yield load("recipe_end_to_end")
    sys.modules.pop("docs_examples_recipe_end_to_end", None)


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """Every line logged, parsed: each must be one JSON object."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def own_client_line(line: dict[str, Any]) -> bool:
    """Whether a log line is the test client's own httpx record (logged outside the request)."""
    return line["logger"] == "httpx" and "http://testserver/" in line["event"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("incoming", "expected"),
    [(None, r"[0-9a-f]{32}"), (INCOMING, re.escape(INCOMING))],
    ids=["generated", "from-the-client"],
)
async def test_one_id_in_header_logs_and_upstream(
    recipe: ModuleType, incoming: str | None, expected: str
) -> None:
    """The response header, every log line of the request and the upstream call share one ID."""
    stream = io.StringIO()
    recipe.configure_logging(stream)
    inventory = Inventory()
    headers = {"Origin": SPA} | ({"X-Request-ID": incoming} if incoming else {})
    async with asgi_client(recipe.create_app(inventory.transport)) as client:
        response = await client.get("/orders/7", headers=headers)

    assert response.json() == {"order_id": 7, "in_stock": True}
    request_id = response.headers["x-request-id"]
    assert re.fullmatch(expected, request_id)
    [upstream] = inventory.requests
    assert upstream.url == "http://inventory.internal/stock/7"
    assert upstream.headers["x-request-id"] == request_id
    lines = [line for line in json_lines(stream) if not own_client_line(line)]
    assert [(line["logger"], line["event"].split(" ")[0]) for line in lines] == [
        ("shop.orders", "order_requested"),  # the app's structlog event
        ("httpx", "HTTP"),  # a library's stdlib record: the upstream call
        ("shop.inventory", "inventory"),  # the app's stdlib record
        ("asgi_middleware.access", "http_request"),  # the access log event
    ]
    assert {line["request_id"] for line in lines} == {request_id}
    access = lines[-1]
    assert (access["status"], access["path"], access["method"]) == (200, "/orders/7", "GET")


@pytest.mark.anyio
async def test_browser_headers_exposed_and_timings_allowed(recipe: ModuleType) -> None:
    """The SPA's origin may read X-Request-ID and Server-Timing; the timings include upstream."""
    async with asgi_client(recipe.create_app(Inventory().transport)) as client:
        response = await client.get("/orders/7", headers={"Origin": SPA})

    assert response.headers["access-control-allow-origin"] == SPA
    exposed = response.headers["access-control-expose-headers"].lower().split(", ")
    assert sorted(exposed) == ["server-timing", "x-request-id"]
    assert response.headers["timing-allow-origin"] == SPA
    names = [entry.split(";")[0] for entry in response.headers["server-timing"].split(", ")]
    assert names == ["inventory", "app"]


@pytest.mark.anyio
async def test_upstream_failure_500_keeps_the_id(recipe: ModuleType) -> None:
    """An unhandled error: the 500 carries the ID and CORS headers; its log event has the ID.

    The event's traceback is data without frame locals, which would hold the raw headers.
    """
    stream = io.StringIO()
    recipe.configure_logging(stream)
    inventory = Inventory(fail=True)
    app = recipe.create_app(inventory.transport)
    async with asgi_client(app, raise_app_exceptions=False) as client:
        response = await client.get("/orders/7", headers={"Origin": SPA})

    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.headers["access-control-allow-origin"] == SPA
    assert inventory.requests[0].headers["x-request-id"] == request_id
    [access] = [line for line in json_lines(stream) if line["logger"] == "asgi_middleware.access"]
    assert (access["status"], access["request_id"], access["level"]) == (500, request_id, "error")
    assert access["exception"][0]["exc_type"] == "ConnectError"
    frames = access["exception"][0]["frames"]
    assert frames
    assert not [frame["name"] for frame in frames if "locals" in frame]


@pytest.mark.anyio
async def test_outgoing_calls_outside_a_request_carry_no_id(recipe: ModuleType) -> None:
    """Outside a request (start-up jobs, scripts) the transport adds no header."""
    inventory = Inventory()
    async with httpx.AsyncClient(
        transport=recipe.RequestIDTransport(inventory.transport)
    ) as client:
        await client.get("http://inventory.internal/stock/1")
    assert "x-request-id" not in inventory.requests[0].headers


def test_default_transport_is_httpx_s() -> None:
    """Without a transport to wrap, the recipe's transport sends through httpx's own."""
    module = load("recipe_end_to_end")
    assert isinstance(module.RequestIDTransport()._wrapped, httpx.AsyncHTTPTransport)
