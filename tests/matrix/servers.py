"""Each matrix cell's server, as a subprocess on a free 127.0.0.1 port, with its output kept.

The server's stdout and stderr go to one file; the apps log their access-log events there as
JSON lines (:func:`tests.matrix.stack.configure_logging`), which :meth:`CellServer.events` reads
back. Processes start all at once (:class:`Fleet`) and each cell waits only for its own.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from tests.matrix.cells import Cell

__all__ = ["HOST", "CellServer", "Fleet", "server_command"]

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parent.parent.parent
#: Seconds a server may take to answer its first request (all start at once on 2 cores).
START_TIMEOUT = 90.0
#: Seconds a server has to exit after SIGTERM before it is killed.
STOP_TIMEOUT = 5.0


def server_command(cell: Cell, port: int) -> list[str]:
    """The command line serving ``cell``'s app on ``port``; no server access log of its own."""
    target = f"tests.matrix.apps.{cell.framework}:app"
    python = sys.executable
    if cell.server == "uvicorn":
        return [
            python, "-m", "uvicorn", target, "--host", HOST, "--port", str(port),
            "--no-access-log", "--log-level", "warning", "--timeout-graceful-shutdown", "1",
        ]  # fmt: skip
    if cell.server.startswith("hypercorn"):
        # One plain-text listener serves HTTP/1.1 and h2c with prior knowledge alike.
        trio = ["--worker-class", "trio"] if cell.server == "hypercorn-trio" else []
        return [
            python, "-m", "hypercorn", target, "--bind", f"{HOST}:{port}",
            "--log-level", "warning", "--graceful-timeout", "1", *trio,
        ]  # fmt: skip
    if cell.server == "granian":
        return [
            python, "-m", "granian", "--interface", "asgi", "--host", HOST, "--port", str(port),
            "--log-level", "warning", "--no-access-log", target,
        ]  # fmt: skip
    if cell.server == "daphne":
        return [python, "-m", "daphne", "-b", HOST, "-p", str(port), "-v", "0", target]
    msg = f"unknown server {cell.server!r}"
    raise ValueError(msg)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    """Whether the server answers an HTTP request at all (any status)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        connection.request("GET", "/items/ready", headers={"X-Forwarded-Proto": "https"})
        connection.getresponse().read()
    except OSError:
        return False
    else:
        return True
    finally:
        connection.close()


class CellServer:
    """One cell's server process and its output."""

    def __init__(self, cell: Cell) -> None:
        self.cell = cell
        self.port = 0
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._process: subprocess.Popen[bytes] | None = None
        self._ready = False

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:PORT``."""
        return f"ws://{HOST}:{self.port}"

    def start(self) -> None:
        """Start the process; :meth:`wait_ready` waits for it."""
        self.port = _free_port()
        self._log.seek(0)
        self._log.truncate()
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.fspath(REPO_ROOT)}
        self._process = subprocess.Popen(
            server_command(self.cell, self.port),
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until the server answers; raise with its output if it exits or takes too long."""
        if self._ready:
            return
        for attempt in range(3):
            problem = self._wait(timeout)
            if problem is None:
                self._ready = True
                return
            output = self.output()
            self.stop_process()
            if attempt == 2 or "address already in use" not in output.lower():
                msg = f"{self.cell.id} on port {self.port} {problem}; its output:\n{output}"
                raise RuntimeError(msg)
            self.start()

    def _wait(self, timeout: float) -> str | None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return f"exited with code {self._process.returncode} before it answered"
            if _answers(self.port):
                return None
            time.sleep(0.05)
        return f"did not answer within {timeout} s"

    def output(self) -> str:
        """Everything the server wrote so far."""
        self._log.flush()
        with open(self._log.fileno(), "rb", closefd=False) as reader:
            reader.seek(0)
            return reader.read().decode("utf-8", "replace")

    def events(self) -> list[dict[str, Any]]:
        """The JSON log events the server wrote so far."""
        return list(_json_lines(self.output().splitlines()))

    def stop_process(self) -> None:
        """SIGTERM, then SIGKILL if it does not end in time; reaped either way."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)

    def stop(self) -> None:
        """Stop the process and drop its output."""
        self.stop_process()
        self._log.close()


def _json_lines(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict):
                    yield event


class Fleet:
    """The servers of the cells under test: started together, stopped together."""

    def __init__(self, cells: Iterable[Cell]) -> None:
        self._servers = {cell.id: CellServer(cell) for cell in cells}
        for server in self._servers.values():
            server.start()

    def ready(self, cell: Cell) -> CellServer:
        """``cell``'s server, once it answers."""
        server = self._servers[cell.id]
        server.wait_ready()
        return server

    def stop(self) -> None:
        """Stop every server: all SIGTERMed first, then each waited for."""
        for server in self._servers.values():
            process = server._process
            if process is not None and process.poll() is None:
                process.terminate()
        for server in self._servers.values():
            server.stop()
