"""The README example and the demo service in examples/, in process and under real servers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from websockets.sync.client import connect

from asgi_middleware import ASGIApp, Layer, Receive, Scope, Send
from examples import demo
from tests.asgi import asgi_client
from tests.live import _free_port, serve_process

REPO = Path(__file__).resolve().parent.parent


def _readme_example() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"## Example.*?```python\n(.*?)```", readme, re.DOTALL)
    assert match is not None, "README.md lost its example"
    return match.group(1)


@pytest.mark.anyio
async def test_readme_example_runs_as_written() -> None:
    """The README's example stacks TrustedHost outside GZip and both act."""
    namespace: dict[str, Any] = {}
    exec(compile(_readme_example(), "README.md", "exec"), namespace)  # noqa: S102 - our README
    async with asgi_client(namespace["app"], base_url="http://example.com") as client:
        allowed = await client.get("/", headers={"accept-encoding": "gzip"})
        refused = await client.get("/", headers={"host": "evil.example"})
    assert allowed.headers["content-encoding"] == "gzip"
    assert allowed.text == "hello " * 200
    assert refused.status_code == 400


@pytest.mark.anyio
async def test_demo_index_describes_the_stack() -> None:
    """The demo's index lists its endpoints and the names of its stack's layers."""
    async with asgi_client(demo.app) as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.json()["stack"] == [demo._name(layer) for layer in demo.STACK]
    assert "/stream" in response.json()["endpoints"]


@pytest.mark.anyio
async def test_demo_stream_raw_and_boom() -> None:
    """The demo streams NDJSON, serves the raw ASGI app, and answers /boom with a 500."""
    async with asgi_client(demo.app, raise_app_exceptions=False) as client:
        stream = await client.get("/stream")
        raw = await client.get("/raw/")
        boom = await client.get("/boom")
    assert stream.text.splitlines() == [f'{{"tick": {n}}}' for n in range(5)]
    assert raw.text == "hello from a raw ASGI app\n"
    assert boom.status_code == 500


@pytest.mark.anyio
async def test_demo_stack_acts_on_every_response() -> None:
    """Every layer of the demo's stack leaves its mark on one cross-origin, gzip-accepting GET."""
    headers = {"origin": demo.SPA_ORIGINS[0], "accept-encoding": "gzip"}
    with structlog.testing.capture_logs() as events:
        async with asgi_client(demo.app) as client:
            response = await client.get("/stream", headers=headers)
    request_id = response.headers["x-request-id"]
    assert response.headers["access-control-allow-origin"] == demo.SPA_ORIGINS[0]
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()
    assert response.headers["server-timing"].startswith("app;dur=")
    assert response.headers["content-encoding"] == "gzip"
    assert response.text.splitlines()[0] == '{"tick": 0}'
    access = [event for event in events if event["event"] == "http_request"]
    assert [(e["path"], e["status"], e["request_id"]) for e in access] == [
        ("/stream", 200, request_id)
    ]


@pytest.mark.anyio
async def test_demo_private_needs_the_token() -> None:
    """/private refuses anonymous requests and answers the demo token's holder."""
    async with asgi_client(demo.app) as client:
        anonymous = await client.get("/private")
        holder = await client.get(
            "/private", headers={"authorization": f"Bearer {demo.DEMO_TOKEN}"}
        )
    assert anonymous.status_code == 403
    assert holder.status_code == 200
    assert holder.json()["scopes"] == ["authenticated"]
    assert "lookup;dur=0.200" in holder.headers["server-timing"]


class _Secretive:
    def __init__(self, app: ASGIApp, *, token: str) -> None:  # noqa: ARG002
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def test_demo_layer_names_hide_options() -> None:
    """The index names a Layer by its class only, never showing its options."""
    layer = Layer(_Secretive, token="s3cret")  # noqa: S106 - a made-up secret
    assert demo._name(layer) == "_Secretive"
    assert demo._name(_Secretive) == "_Secretive"


@pytest.mark.server
def test_demo_under_uvicorn_serves_http_and_websocket() -> None:
    """Under a real uvicorn process, as the README command starts it, HTTP and WebSocket work."""
    with serve_process("examples.demo:app") as server:
        with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
            index = client.get("/")
            raw = client.get("/raw/")
        with connect(f"{server.ws_url}/ws", open_timeout=10) as websocket:
            websocket.send("ping")
            echoed = websocket.recv(timeout=10)
    assert index.json()["service"] == "asgi-middleware demo"
    assert raw.status_code == 200
    assert echoed == "ping"


def _try_get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, trust_env=False, timeout=2)
    except httpx.TransportError:
        time.sleep(0.25)
        return None


@pytest.mark.server
def test_scripts_demo_serves_on_the_given_port() -> None:
    """The README's demo command sets up and serves the demo on 127.0.0.1."""
    port = _free_port()
    env = {**os.environ, "PORT": str(port)}
    process = subprocess.Popen(
        [str(REPO / "scripts" / "demo")],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        response = None
        while response is None and time.monotonic() < deadline and process.poll() is None:
            response = _try_get(f"http://127.0.0.1:{port}/")
        assert response is not None, "scripts/demo did not serve within 90 s"
        assert response.json()["service"] == "asgi-middleware demo"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
