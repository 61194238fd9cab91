"""The request-ID docs samples (docs/examples/request_id_*.py) do what docs/request-id.md says."""

from __future__ import annotations

import io
import logging
import re
from typing import Any

import httpx
import pytest
import structlog
from structlog.testing import LogCapture

from tests.support.asgi import asgi_client
from tests.support.samples import app_of, load

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("sibling_imports")]

HEX32 = re.compile(r"[0-9a-f]{32}")


async def test_basic_endpoint_reads_the_id_it_sends_back() -> None:
    """request_id_basic: the endpoint's two views of the ID equal the response header."""
    async with asgi_client(app_of(load("request_id_basic"))) as client:
        response = await client.get("/", headers={"X-Request-ID": "doc-1"})
        fresh = await client.get("/")

    assert response.headers["x-request-id"] == "doc-1"
    assert response.json() == {"state": "doc-1", "contextvar": "doc-1"}
    assert HEX32.fullmatch(fresh.headers["x-request-id"])


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {"X-Request-ID": "0190a5b2-7c4e-7f00-8a11-3c9d2e4f5a6b"},
            "0190a5b2-7c4e-7f00-8a11-3c9d2e4f5a6b",
        ),
        ({"X-Request-ID": "not-a-uuid"}, "uuid7"),
        (
            {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
            "4bf92f3577b34da6a3ce929d0e0e4736",
        ),
        ({}, "uuid7"),
    ],
)
async def test_options_sample(headers: dict[str, str], expected: str) -> None:
    """request_id_options: UUIDs only, traceparent as a fallback, uuid7 IDs otherwise."""
    async with asgi_client(app_of(load("request_id_options"))) as client:
        response = await client.get("/", headers=headers)

    request_id = response.headers["x-request-id"]
    if expected == "uuid7":
        assert HEX32.fullmatch(request_id)
        assert request_id[12] == "7"
    else:
        assert request_id == expected


async def test_options_sample_edge_app_ignores_client_ids() -> None:
    """request_id_options: ``edge_app`` never takes the client's ID."""
    async with asgi_client(app_of(load("request_id_options"), "edge_app")) as client:
        response = await client.get("/", headers={"X-Request-ID": "client-chosen"})

    assert response.headers["x-request-id"] != "client-chosen"


async def test_httpx_hook_forwards_the_id() -> None:
    """request_id_httpx: the outgoing call carries the incoming request's ID."""
    module = load("request_id_httpx")
    outgoing: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        outgoing.append(request)
        return httpx.Response(204)

    client = module.make_client(httpx.MockTransport(upstream))
    app = module.compose(module.make_app(client), module.RequestIDMiddleware)
    async with asgi_client(app) as test_client:
        response = await test_client.get("/items", headers={"X-Request-ID": "trace-me"})
    await client.aclose()

    assert response.json() == {"upstream_status": 204}
    assert [request.headers.get("x-request-id") for request in outgoing] == ["trace-me"]


async def test_httpx_hook_outside_a_request_adds_nothing() -> None:
    """request_id_httpx: outside a request (a startup job) no header is invented."""
    module = load("request_id_httpx")
    outgoing: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        outgoing.append(request)
        return httpx.Response(200)

    async with module.make_client(httpx.MockTransport(upstream)) as client:
        await client.get("http://upstream.internal/")
        await client.get("http://upstream.internal/", headers={"X-Request-ID": "mine"})

    assert [request.headers.get("x-request-id") for request in outgoing] == [None, "mine"]


async def test_cors_sample_exposes_the_id() -> None:
    """request_id_cors: a cross-origin response exposes X-Request-ID to the page."""
    async with asgi_client(app_of(load("request_id_cors"))) as client:
        response = await client.get("/", headers={"Origin": "https://app.example"})

    assert HEX32.fullmatch(response.headers["x-request-id"])
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in [token.strip() for token in exposed.split(",")]


async def test_logging_sample_tags_both_kinds_of_log() -> None:
    """request_id_logging: stdlib lines start with the ID; structlog events carry it."""
    module = load("request_id_logging")
    stream = io.StringIO()
    handler = module.request_id_handler(stream)
    module.stdlib_logger.addHandler(handler)
    capture = LogCapture()
    structlog.configure(processors=[structlog.contextvars.merge_contextvars, capture])
    try:
        async with asgi_client(app_of(module)) as client:
            await client.get("/", headers={"X-Request-ID": "log-7"})
        module.stdlib_logger.warning("after")
    finally:
        module.stdlib_logger.removeHandler(handler)
        structlog.reset_defaults()

    assert stream.getvalue().splitlines() == [
        "log-7 WARNING shop.orders: stock low",
        "- WARNING shop.orders: after",
    ]
    assert capture.entries == [
        {"event": "order placed", "order": 42, "log_level": "info", "request_id": "log-7"}
    ]


@pytest.mark.parametrize("attribute", ["before_app", "app"])
async def test_migration_sample_before_and_after_behave_alike(attribute: str) -> None:
    """request_id_migration: asgi-correlation-id and ours echo a valid UUID the same way."""
    incoming = "3b241101e2bb42558caf4136c566a962"
    async with asgi_client(app_of(load("request_id_migration"), attribute)) as client:
        response = await client.get("/", headers={"X-Request-ID": incoming})

    assert response.headers["x-request-id"] == incoming
    assert response.text == "Hello, world!\n"


def test_logging_sample_handler_defaults_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """request_id_logging: without a stream the handler writes to stderr like logging's own."""
    handler: Any = load("request_id_logging").request_id_handler()
    record = logging.makeLogRecord(
        {"name": "shop.orders", "levelno": logging.WARNING, "levelname": "WARNING", "msg": "out"}
    )

    handler.handle(record)

    assert capsys.readouterr() == ("", "- WARNING shop.orders: out\n")
