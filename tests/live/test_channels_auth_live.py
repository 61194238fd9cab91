"""Channels' ``AuthMiddlewareStack`` and our ``AuthenticationMiddleware`` under daphne and uvicorn.

The apps are in ``tests/live/channels_auth_app.py``; the in-process tests of the same refusal
in ``tests/unit/test_auth_channels.py``. Each test starts its server as a subprocess on a free
``127.0.0.1`` port (``serve_process`` knows uvicorn only, and its log is not readable) and
reads the server's output after stopping it.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import websockets.exceptions
import websockets.sync.client

from tests.support.servers import (
    HOST,
    REPO_ROOT,
    LiveServer,
    _free_port,
    _stop_process,
    _wait_accepting,
)

TIMEOUT = 10.0
APP = "tests.live.channels_auth_app"
# Not imported from the app module: importing it would configure Django in this process.
TOKEN = "live-token"  # noqa: S105 - channels_auth_app.TOKEN
MESSAGE = "Channels' AuthMiddlewareStack sits inside AuthenticationMiddleware"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Running:
    """A server process: where it listens, and its output once it has stopped."""

    server: LiveServer
    output: str = ""


def _command(server: str, target: str, port: int) -> list[str]:
    if server == "daphne":
        return [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(port), "-v", "1", target]
    return [
        sys.executable, "-m", "uvicorn", target, "--host", HOST, "--port", str(port),
        "--lifespan", "off", "--log-level", "info",
    ]  # fmt: skip


@contextlib.contextmanager
def run_server(server: str, attribute: str) -> Iterator[Running]:
    """Run ``APP:attribute`` under ``server``; on exit stop it and keep its output."""
    with tempfile.TemporaryFile() as log:
        port = _free_port()
        process = subprocess.Popen(
            _command(server, f"{APP}:{attribute}", port),
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        running = Running(LiveServer(HOST, port))
        problem: str | None = None
        try:
            problem = _wait_accepting(process, port, TIMEOUT)
            if problem is not None:
                pytest.fail(f"{server} {problem}")
            yield running
        finally:
            _stop_process(process, TIMEOUT)
            log.seek(0)
            running.output = log.read().decode("utf-8", "replace")
            if problem is not None:
                print(running.output)  # noqa: T201 - why the server did not start


SERVERS = pytest.mark.parametrize("server", ["daphne", "uvicorn"])


@pytest.mark.server
@SERVERS
def test_stack_inside_our_auth_fails_the_handshake_with_our_type_error(server: str) -> None:
    """AuthMiddlewareStack inside ours: the handshake fails and the log has our TypeError."""
    with (
        run_server(server, "unsupported") as running,
        pytest.raises(websockets.exceptions.InvalidStatus) as failed,
    ):
        websockets.sync.client.connect(
            running.server.ws_url + "/ws",
            additional_headers=BEARER,
            open_timeout=TIMEOUT,
            proxy=None,
        ).close()  # pragma: no cover - the handshake fails

    assert failed.value.response.status_code == 500
    assert "TypeError" in running.output, running.output
    assert MESSAGE in running.output, running.output
    assert "AuthMiddlewareStack on the websocket branch only" in running.output
    assert "AttributeError" not in running.output, running.output


@pytest.mark.server
@SERVERS
def test_stack_on_the_websocket_branch_only_is_accepted(server: str) -> None:
    """Ours around HTTP, AuthMiddlewareStack on the websocket branch: both work."""
    with run_server(server, "coexisting") as running:
        with websockets.sync.client.connect(
            running.server.ws_url + "/ws", open_timeout=TIMEOUT, proxy=None
        ) as websocket:
            greeting = websocket.recv(timeout=TIMEOUT)
        with httpx.Client(base_url=running.server.url, timeout=TIMEOUT, trust_env=False) as client:
            allowed = client.get("/", headers=BEARER)
            refused = client.get("/")

    assert greeting == "UserLazyObject AnonymousUser False"  # Channels' user, not ours
    assert (allowed.status_code, allowed.text) == (
        200,
        "hello token-0",
    )  # BearerTokenBackend's identity
    assert refused.status_code == 401
    assert "Traceback" not in running.output, running.output
