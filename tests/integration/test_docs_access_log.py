"""The access-log docs samples (docs/examples/access_log_*.py) do what docs/access-log.md says."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from structlog.testing import LogCapture

from tests.support.asgi import asgi_client
from tests.support.samples import app_of, load

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("sibling_imports")]


@pytest.fixture
def restore_structlog() -> Iterator[None]:
    """Put structlog's global configuration back after a sample configured it."""
    try:
        yield
    finally:
        structlog.reset_defaults()


@pytest.fixture
def capture(restore_structlog: None) -> LogCapture:
    """Route every structlog event, contextvars merged, into a capture for one test."""
    capture = LogCapture()
    structlog.configure(processors=[structlog.contextvars.merge_contextvars, capture])
    return capture


async def test_stack_sample_logs_requests_with_their_id(capture: LogCapture) -> None:
    """access_log_app: the app's event and the access event share the request ID."""
    async with asgi_client(app_of(load("access_log_app"))) as client:
        response = await client.get("/checkout?cart=7", headers={"X-Request-ID": "doc-a"})

    app_event, access = capture.entries
    assert app_event == {
        "event": "checkout started",
        "cart": "7",
        "log_level": "info",
        "method": "GET",
        "path": "/checkout",
        "request_id": "doc-a",
    }
    assert (access["event"], access["request_id"], access["status"]) == (
        "http_request",
        "doc-a",
        200,
    )
    assert response.headers["x-request-id"] == "doc-a"


async def test_stack_sample_quiets_health_and_4xx(capture: LogCapture) -> None:
    """access_log_app: /health is not logged; a 404 logs at info."""
    async with asgi_client(app_of(load("access_log_app"))) as client:
        await client.get("/health")
        await client.get("/missing")

    assert [(entry["path"], entry["status"], entry["log_level"]) for entry in capture.entries] == [
        ("/missing", 404, "info")
    ]


async def test_json_sample_writes_one_json_object_per_line(restore_structlog: None) -> None:
    """access_log_json: every line is JSON; app and access events carry the request ID."""
    module = load("access_log_json")
    stream = io.StringIO()
    module.configure_json_logging(stream)
    async with asgi_client(app_of(module)) as client:
        await client.get("/checkout?cart=1", headers={"X-Request-ID": "json-1"})

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["checkout started", "http_request"]
    assert {line["request_id"] for line in lines} == {"json-1"}
    assert lines[1]["status"] == 200
    assert lines[1]["timestamp"].endswith("Z")


async def test_json_sample_renders_tracebacks_as_data(restore_structlog: None) -> None:
    """access_log_json: an exception's event has a structured ``exception`` field, no locals."""
    module = load("access_log_json")
    stream = io.StringIO()
    module.configure_json_logging(stream)

    async def boom(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("json boom")

    app = module.compose(boom, module.RequestIDMiddleware, module.AccessLogMiddleware)
    async with asgi_client(app, raise_app_exceptions=False) as client:
        await client.get("/")

    (line,) = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert (line["status"], line["level"]) == (500, "error")
    assert line["exception"][0]["exc_type"] == "RuntimeError"
    # Frame locals would include the scope and its raw headers
    # (tests/integration/test_logging_secrets.py).
    frames = line["exception"][0]["frames"]
    assert frames
    assert not [frame["name"] for frame in frames if "locals" in frame]


async def test_console_sample_writes_readable_lines(restore_structlog: None) -> None:
    """access_log_console: one human-readable line per event, with the request ID."""
    module = load("access_log_console")
    stream = io.StringIO()
    module.configure_console_logging(stream, colors=False)
    async with asgi_client(app_of(module)) as client:
        await client.get("/checkout", headers={"X-Request-ID": "con-1"})

    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert "http_request" in lines[1]
    assert all("request_id=con-1" in line for line in lines)


async def test_stdlib_sample_renders_both_kinds_of_record(restore_structlog: None) -> None:
    """access_log_stdlib: structlog events and plain logging records, all JSON with the ID."""
    module = load("access_log_stdlib")
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = module.configure_stdlib_logging(stream)
    plain = logging.getLogger("shop.plain")

    async def endpoint(scope: Any, receive: Any, send: Any) -> None:
        plain.info("from stdlib")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = module.compose(endpoint, module.RequestIDMiddleware, module.AccessLogMiddleware)
    try:
        async with asgi_client(app) as client:
            await client.get("/", headers={"X-Request-ID": "std-1"})
    finally:
        root.removeHandler(handler)
        root.setLevel(level)

    # httpx, the test client, logs its own request through the root logger too.
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    lines = [line for line in lines if line["logger"] != "httpx"]
    assert [(line["event"], line["logger"]) for line in lines] == [
        ("from stdlib", "shop.plain"),
        ("http_request", "asgi_middleware.access"),
    ]
    assert {line["request_id"] for line in lines} == {"std-1"}


@pytest.mark.parametrize("attribute", ["before_app", "app"])
async def test_migration_sample_before_and_after_log_one_event(
    attribute: str, capture: LogCapture
) -> None:
    """access_log_migration: the recipe and its replacement each log one event per request."""
    async with asgi_client(app_of(load("access_log_migration"), attribute)) as client:
        await client.get("/health")

    access = [entry for entry in capture.entries if entry["event"] == "http_request"]
    assert len(access) == 1
    assert access[0]["status"] == 200
