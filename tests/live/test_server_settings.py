"""The servers' own settings beside the layers (docs/servers.md), each server a real process.

Every server serves docs/examples/servers_stack.py: proxy headers, request ID and an access log
writing one JSON line per request to stdout. The tests read the server's whole output: which
client our access log recorded, and how many lines each request left.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.samples import EXAMPLES

pytestmark = pytest.mark.server

HOST = "127.0.0.1"
TARGET = "servers_stack:app"
#: The path every test requests: found in each access-log line, the server's and ours.
PROBE = "/settings-probe"
#: A client-written address first, then the one the proxy appended (the real client).
FORWARDED = {"X-Forwarded-For": "6.6.6.6, 198.51.100.7"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _command(server: str, port: int, flags: list[str]) -> list[str]:
    python = sys.executable
    if server == "uvicorn":
        return [
            python, "-m", "uvicorn", TARGET, "--host", HOST, "--port", str(port),
            "--log-level", "info", "--lifespan", "off", *flags,
        ]  # fmt: skip
    if server == "hypercorn":
        return [python, "-m", "hypercorn", TARGET, "--bind", f"{HOST}:{port}", *flags]
    if server == "granian":
        return [
            python, "-m", "granian", "--interface", "asginl", "--host", HOST,
            "--port", str(port), *flags, TARGET,
        ]  # fmt: skip
    return [python, "-m", "daphne", "-b", HOST, "-p", str(port), *flags, TARGET]


class Output:
    """Everything a server process wrote, read on demand."""

    def __init__(self, log: Path) -> None:
        self._log = log

    def lines(self) -> list[str]:
        """The output so far, line by line."""
        return self._log.read_text(encoding="utf-8", errors="replace").splitlines()

    def probe_lines(self, count: int, timeout: float = 5.0) -> list[str]:
        """The lines naming :data:`PROBE`, once there are at least ``count`` (or at the timeout).

        The server's own access line can follow the response by a moment.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.lines() if PROBE in line]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def events(self) -> list[dict[str, object]]:
        """Our access log's events (the JSON lines)."""
        return [json.loads(line) for line in self.lines() if line.startswith("{")]


@contextlib.contextmanager
def running(server: str, *flags: str) -> Iterator[tuple[str, Output]]:
    """Serve servers_stack.py with ``server`` and ``flags``; yield its URL and its output."""
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.fspath(EXAMPLES)}
    with tempfile.NamedTemporaryFile() as log:
        process = subprocess.Popen(
            _command(server, port, list(flags)),
            cwd=EXAMPLES,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        output = Output(Path(log.name))
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    text = "\n".join(output.lines())
                    pytest.fail(f"{server} exited with {process.returncode}:\n{text}")
                with contextlib.suppress(httpx.HTTPError):
                    httpx.get(f"http://{HOST}:{port}/ready", timeout=1)
                    break
                if time.monotonic() > deadline:
                    pytest.fail(f"{server} did not answer:\n" + "\n".join(output.lines()))
                time.sleep(0.05)
            yield f"http://{HOST}:{port}", output
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def _probe(url: str, count: int = 1) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(count):
            assert client.get(PROBE, headers=FORWARDED).status_code == 200


def _clients(output: Output) -> list[object]:
    output.probe_lines(1)
    return [event["client"] for event in output.events() if event.get("path") == PROBE]


@pytest.mark.parametrize(
    ("flags", "client"),
    [
        (["--no-proxy-headers"], "198.51.100.7"),
        (["--proxy-headers", "--forwarded-allow-ips", "*"], "6.6.6.6"),
    ],
    ids=["ours-alone", "uvicorn-star-and-ours"],
)
def test_uvicorn_proxy_headers_decide_the_logged_client(flags: list[str], client: str) -> None:
    """Under `--forwarded-allow-ips '*'` the client-written address is logged, not under ours."""
    with running("uvicorn", "--no-access-log", *flags) as (url, output):
        _probe(url)
        assert _clients(output) == [client]


def test_daphne_proxy_headers_log_the_client_written_address() -> None:
    """Daphne's `--proxy-headers` takes the left-most address from any peer, before our layer."""
    with running("daphne", "-v", "0", "--proxy-headers") as (url, output):
        _probe(url)
        assert _clients(output) == ["6.6.6.6"]


@pytest.mark.parametrize(
    ("server", "flags", "lines"),
    [
        ("uvicorn", ["--no-proxy-headers", "--no-access-log"], 1),
        ("uvicorn", ["--no-proxy-headers"], 2),
        ("hypercorn", [], 1),
        ("hypercorn", ["--access-logfile", "-"], 2),
        ("granian", [], 1),
        ("granian", ["--access-log"], 2),
        ("daphne", ["-v", "0"], 1),
        ("daphne", [], 2),
    ],
    ids=[
        "uvicorn-no-access-log",
        "uvicorn-default",
        "hypercorn-default",
        "hypercorn-access-logfile",
        "granian-default",
        "granian-access-log",
        "daphne-v0",
        "daphne-default",
    ],
)
def test_access_lines_per_request(server: str, flags: list[str], lines: int) -> None:
    """Each request leaves our one JSON line, plus the server's own line where it logs one."""
    with running(server, *flags) as (url, output):
        _probe(url, count=3)
        found = output.probe_lines(3 * lines)
        time.sleep(0.2)  # a late extra line would show here
        found = output.probe_lines(3 * lines)
    assert len(found) == 3 * lines, found
    ours = [line for line in found if line.startswith("{")]
    assert len(ours) == 3
    assert all(json.loads(line)["event"] == "http_request" for line in ours)
