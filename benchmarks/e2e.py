"""End-to-end run: each stack behind uvicorn on 127.0.0.1, loaded by ``wrk``.

The in-process scenarios time the middleware alone; this run adds everything a deployment adds
(sockets, HTTP parsing, the server's event loop) and reports what a client sees: requests per
second, and that as a ratio to the bare app served the same way in the same run.

The flow of `run_e2e`:

1. Start one server per stack (``python -m benchmarks.serve STACK --port N``, a free loopback
   port each) and wait until each accepts connections.
2. Fetch every request once from every server with ``http.client`` and run the stack's check on
   the answer (the headers of every job, the gzipped body), so a misconfigured server never posts
   a number. All failures are collected; `CheckFailedError` is raised before any load.
3. Per request: one warm-up run of ``wrk`` against each server, then ``rounds`` rounds in which
   every server is loaded once, in an order shuffled per round. Idle servers sleep in ``epoll``,
   so keeping them all up costs nothing and lets the rounds interleave.
4. Stop every server (SIGINT, then a kill after a grace period), also on errors, and compare the
   requests each app served with the access-log events its stack wrote.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from benchmarks.driver import CheckFailedError
from benchmarks.model import Check, Message
from benchmarks.wrk import WrkResult, parse_wrk, wrk_command

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
WRK_MISSING = (
    "wrk was not found on PATH, so the end-to-end run was skipped. Install it with "
    "`sudo apt-get install wrk` (Debian, Ubuntu), `sudo dnf install wrk` (Fedora) or "
    "`brew install wrk` (macOS), then run `nox -s bench -- --e2e` again."
)
UVICORN_MISSING = (
    "uvicorn is not installed, so the end-to-end run was skipped: `pip install uvicorn` "
    "(the bench nox session installs it)."
)
_READY_SECONDS = 30.0
_STOP_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class E2ERequest:
    """One request shape the run loads every stack with.

    Args:
        name: Label of the result table.
        description: What the request exercises, for the table's title.
        path: Request path.
        headers: Request headers (wrk and the check fetch send the same ones).
        checks: Per stack name, the check of the response fetched before the load.
    """

    name: str
    description: str
    path: str
    headers: tuple[tuple[bytes, bytes], ...]
    checks: Mapping[str, Check]


@dataclass(frozen=True, slots=True)
class E2ESettings:
    """How long and how hard to load each stack.

    Args:
        seconds: Length of each timed wrk run.
        warmup: Length of the untimed wrk run per server and request before the rounds; 0 skips.
        rounds: Timed runs per stack and request, interleaved across stacks.
        connections: Connections wrk keeps open.
        threads: wrk threads.
        seed: Seed of the shuffled order of each round.
    """

    seconds: int = 5
    warmup: int = 1
    rounds: int = 3
    connections: int = 8
    threads: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("seconds", "rounds", "connections", "threads"):
            if getattr(self, name) < 1:
                msg = f"{name} must be at least 1, got {getattr(self, name)!r}"
                raise ValueError(msg)
        if self.warmup < 0:
            msg = f"warmup must be 0 or more, got {self.warmup!r}"
            raise ValueError(msg)
        if self.connections < self.threads:
            msg = f"connections ({self.connections}) must be at least threads ({self.threads})"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class E2EResult:
    """Everything one end-to-end run measured.

    Args:
        stacks: Stack names, in display order (``bare`` first).
        runs: Per request name, per stack, one `WrkResult` per round.
        counts: Per stack, what its server reported at exit (``app_calls``, ``log_events``).
        warnings: Oddities that do not invalidate the numbers.
        settings: The run's settings.
        orders: Per request name, the stack order of each round.
    """

    stacks: tuple[str, ...]
    runs: Mapping[str, Mapping[str, tuple[WrkResult, ...]]]
    counts: Mapping[str, Mapping[str, int]]
    warnings: tuple[str, ...]
    settings: E2ESettings
    orders: Mapping[str, tuple[tuple[str, ...], ...]]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """One ``python -m benchmarks.serve`` subprocess on a free loopback port.

    Args:
        stack: The stack to serve.
        module: The module to run with ``-m``; it must accept ``STACK --port N``.
    """

    def __init__(self, stack: str, module: str = "benchmarks.serve") -> None:
        self.stack = stack
        self.port = free_port()
        self._out: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self._err: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        # The per-area modules build their big streamed bodies at import; 1 MiB is enough here.
        env = {**os.environ, "BENCH_STREAM_MIB": "1", "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", module, stack, "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=self._err,
        )

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://{HOST}:{self.port}"

    def wait_ready(self, timeout: float = _READY_SECONDS) -> None:
        """Wait until the server accepts connections.

        Raises:
            RuntimeError: If it exits or is not listening within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                msg = f"{self.stack} server exited with {self.process.returncode}: {self.errors()}"
                raise RuntimeError(msg)
            try:
                socket.create_connection((HOST, self.port), timeout=0.5).close()
            except OSError:
                time.sleep(0.05)
            else:
                return
        msg = f"{self.stack} server not listening on port {self.port} after {timeout:g} s"
        raise RuntimeError(msg)

    def fetch(self, path: str, headers: Sequence[tuple[bytes, bytes]]) -> list[Message]:
        """Send one request and return the response as ASGI-style messages, for a check."""
        connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name.decode("latin-1"), value.decode("latin-1"))
            connection.endheaders()
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        pairs = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.getheaders()
        ]
        return [
            {"type": "http.response.start", "status": response.status, "headers": pairs},
            {"type": "http.response.body", "body": body},
        ]

    def stop(self) -> dict[str, int]:
        """Stop the server; return the counts it printed (empty if it printed none)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT if os.name == "posix" else signal.SIGTERM)
            try:
                self.process.wait(_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.seek(0)
        lines = self._out.read().strip().splitlines()
        self._out.close()
        try:
            counts: dict[str, int] = json_line(lines[-1]) if lines else {}
        except ValueError:
            counts = {}
        return counts

    def errors(self) -> str:
        """The last lines the server wrote to stderr."""
        self._err.seek(0)
        return " | ".join(self._err.read().strip().splitlines()[-5:])

    def close(self) -> None:
        """Release the stderr file."""
        self._err.close()


def json_line(line: str) -> dict[str, int]:
    """Parse the counts line a server prints at exit."""
    data: Any = json.loads(line)
    if not isinstance(data, dict):
        msg = f"expected a JSON object, got {line!r}"
        raise ValueError(msg)  # noqa: TRY004 - a malformed line, reported as a value error
    return {str(key): int(value) for key, value in data.items()}


def _collect(server: Server, counts: dict[str, dict[str, int]]) -> None:
    counts[server.stack] = server.stop()


def _check_all(servers: Sequence[Server], requests: Sequence[E2ERequest]) -> None:
    failures = []
    for request in requests:
        for server in servers:
            label = f"e2e {request.name}/{server.stack}"
            try:
                request.checks[server.stack](server.fetch(request.path, request.headers))
            except Exception as error:  # noqa: BLE001 - every failure is listed
                failures.append(f"{label}: {type(error).__name__}: {error}")
    if failures:
        raise CheckFailedError(failures)


def _load(
    wrk: str, server: Server, request: E2ERequest, seconds: int, settings: E2ESettings
) -> WrkResult:
    command = wrk_command(
        wrk,
        server.url + request.path,
        request.headers,
        seconds=seconds,
        connections=settings.connections,
        threads=settings.threads,
    )
    completed = subprocess.run(  # noqa: S603 - wrk, found on PATH, with our arguments
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if completed.returncode != 0:
        msg = f"wrk exited with {completed.returncode}: {completed.stderr.strip()[:300]}"
        raise RuntimeError(msg)
    return parse_wrk(completed.stdout)


def run_e2e(
    stacks: Sequence[str],
    requests: Sequence[E2ERequest],
    settings: E2ESettings,
    *,
    wrk: str,
    progress: Callable[[str], None] | None = None,
    module: str = "benchmarks.serve",
) -> E2EResult:
    """Serve every stack, check each, load them in interleaved rounds, stop them.

    Args:
        stacks: Stack names, ``bare`` first; each is served with ``python -m MODULE NAME``.
        requests: The request shapes.
        settings: Durations, rounds, connections, seed.
        wrk: Path of the wrk executable.
        progress: Called with a short line before each request's rounds.
        module: The server module.

    Returns:
        The measurements.

    Raises:
        CheckFailedError: If a response failed its check (nothing was loaded), or wrk saw a
            response other than 2xx or 3xx (a 401 is fast, but not the job).
        RuntimeError: If a server did not start or wrk failed.
    """
    rng = random.Random(settings.seed)
    runs: dict[str, dict[str, list[WrkResult]]] = {}
    orders: dict[str, list[tuple[str, ...]]] = {}
    counts: dict[str, dict[str, int]] = {}
    with ExitStack() as cleanup:
        servers = []
        for stack in stacks:
            server = Server(stack, module)
            # Callbacks run last-in first-out: stop (and collect the counts), then close.
            cleanup.callback(server.close)
            cleanup.callback(_collect, server, counts)
            servers.append(server)
        for server in servers:
            server.wait_ready()
        _check_all(servers, requests)
        for request in requests:
            if progress is not None:
                rounds = "1 round" if settings.rounds == 1 else f"{settings.rounds} rounds"
                progress(f"e2e {request.name}: {len(servers)} servers, {rounds}")
            if settings.warmup:
                for server in servers:
                    _load(wrk, server, request, settings.warmup, settings)
            runs[request.name] = {stack: [] for stack in stacks}
            orders[request.name] = []
            for _ in range(settings.rounds):
                order = list(servers)
                rng.shuffle(order)
                orders[request.name].append(tuple(server.stack for server in order))
                for server in order:
                    runs[request.name][server.stack].append(
                        _load(wrk, server, request, settings.seconds, settings)
                    )
    failures = [
        f"e2e {name}/{stack}: {result.non_2xx} responses were not 2xx or 3xx"
        for name, per_stack in runs.items()
        for stack, results in per_stack.items()
        for result in results
        if result.non_2xx
    ]
    if failures:
        raise CheckFailedError(failures)
    warnings = [
        f"{stack}: {found['log_events']} access-log events for {found['app_calls']} requests"
        for stack, found in counts.items()
        if stack != "bare" and found and found.get("log_events") != found.get("app_calls")
    ]
    warnings += [
        f"{stack}: the server printed no counts at exit"
        for stack in stacks
        if not counts.get(stack)
    ]
    errors = sum(
        result.socket_errors for per in runs.values() for rs in per.values() for result in rs
    )
    if errors:
        warnings.append(f"wrk reported {errors} socket errors in total")
    return E2EResult(
        stacks=tuple(stacks),
        runs={name: {stack: tuple(rs) for stack, rs in per.items()} for name, per in runs.items()},
        counts=counts,
        warnings=tuple(warnings),
        settings=settings,
        orders={name: tuple(order) for name, order in orders.items()},
    )


def server_description() -> str:
    """Name the server stack uvicorn will pick: its version, event loop and HTTP parser."""
    try:
        version = metadata.version("uvicorn")
    except metadata.PackageNotFoundError:
        return "uvicorn not installed"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    parser = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"uvicorn {version} (loop {loop}, http {parser}), 1 worker, access log off"
