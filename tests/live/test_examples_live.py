"""The demo service in examples/ and the README's demo command, under real servers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.support.servers import _free_port, serve_process

REPO = Path(__file__).resolve().parent.parent.parent


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


@dataclass(frozen=True)
class _Demo:
    """A running ``scripts/demo``: where it serves and the file its output goes to."""

    url: str
    log: Path

    def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        """The demo's output, once ``text`` is in it; fails the test if it is not within timeout."""
        deadline = time.monotonic() + timeout
        output = self.log.read_text(encoding="utf-8", errors="replace")
        while text not in output and time.monotonic() < deadline:
            time.sleep(0.05)
            output = self.log.read_text(encoding="utf-8", errors="replace")
        assert text in output, f"{text!r} not in the demo's output:\n{output}"
        return output


@pytest.fixture(scope="module")
def scripts_demo() -> Iterator[_Demo]:
    """The README's demo command, ``scripts/demo``, serving on a free port with its output kept."""
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryDirectory() as directory:
        log = Path(directory) / "demo.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [str(REPO / "scripts" / "demo")],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + 90
            response = None
            while response is None and time.monotonic() < deadline and process.poll() is None:
                response = _try_get(f"http://127.0.0.1:{port}/")
            output = log.read_text(encoding="utf-8", errors="replace")
            assert response is not None, f"scripts/demo did not serve within 90 s:\n{output}"
            yield _Demo(f"http://127.0.0.1:{port}", log)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)


@pytest.mark.server
def test_scripts_demo_serves_on_the_given_port(scripts_demo: _Demo) -> None:
    """The README's demo command sets up and serves the demo on 127.0.0.1."""
    response = httpx.get(f"{scripts_demo.url}/", trust_env=False, timeout=10)
    assert response.json()["service"] == "asgi-middleware demo"


@pytest.mark.server
def test_scripts_demo_logs_each_request_once(scripts_demo: _Demo) -> None:
    """scripts/demo turns uvicorn's access log off: the stack's access log is the only line."""
    marker = uuid.uuid4().hex
    httpx.get(f"{scripts_demo.url}/raw/?{marker}", trust_env=False, timeout=10)
    # uvicorn writes its access line when the response starts, before the stack's own line.
    output = scripts_demo.wait_for_log(f"query={marker}")
    lines = [line for line in output.splitlines() if marker in line]
    assert len(lines) == 1
    assert "http_request" in lines[0]


@pytest.mark.server
def test_scripts_demo_logs_tracebacks_without_locals(scripts_demo: _Demo) -> None:
    """A failure's traceback in the demo's log shows no frame's locals, so no header values."""
    marker, secret = uuid.uuid4().hex, f"s3cret-{uuid.uuid4().hex}"
    response = httpx.get(
        f"{scripts_demo.url}/boom?{marker}",
        headers={"cookie": f"session={secret}"},
        trust_env=False,
        timeout=10,
    )
    output = scripts_demo.wait_for_log(f"query={marker}")
    assert response.status_code == 500
    assert "RuntimeError: the demo's deliberate failure" in output
    assert secret not in output
    assert not re.search(r"\blocals\b", output)
