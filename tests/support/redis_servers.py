"""Real Redis for the tests: one ``redis-server``, and a three-node Redis Cluster.

This module is a pytest plugin (``tests/conftest.py`` loads it). What it offers:

* ``redis_server`` (session): a ``redis-server`` on ``127.0.0.1`` and a free port, persistence
  off (``--save "" --appendonly no``), its files in a temporary directory, stopped when the
  session ends. :meth:`RedisServer.stop` and :meth:`RedisServer.start` stop it and start it
  again on the same port, for the outage tests (it comes back empty).
* ``redis_cluster`` (session): three ``redis-server --cluster-enabled yes`` nodes joined by
  ``redis-cli --cluster create ... --cluster-replicas 0``, ready once every node reports
  ``cluster_state:ok``.
* :func:`worker_app`, a uvicorn ``--factory`` for the multi-worker tests: a small app behind
  ``RateLimitMiddleware`` configured from environment variables, logging to a file.

Without ``redis-server`` on the machine a test that asks for either fixture is skipped with the
install hint, and fails under ``CI=true``, where every tier must run.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import anyio
import pytest
import redis

from asgi_middleware import ASGIApp, Receive, Scope, Send
from tests.support.asgi import answer_lifespan, respond
from tests.support.servers import HOST, in_ci

__all__ = [
    "REDIS_HINT",
    "RedisCluster",
    "RedisServer",
    "redis_binary",
    "worker_app",
]

REDIS_HINT = (
    "install Debian's `redis-server` package (apt-get install redis-server; ./scripts/test "
    "does this) or set REDIS_SERVER to a redis-server binary"
)
_READY_SECONDS = 10.0
_STOP_SECONDS = 10.0


def redis_binary(name: str = "redis-server") -> str:
    """The path of ``redis-server`` (env ``REDIS_SERVER``) or ``redis-cli`` next to it.

    If it is missing, the calling test fails under CI (env ``CI`` true) and is skipped
    elsewhere, with the install hint.
    """
    server = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
    path = server
    if server is not None and name != "redis-server":
        path = str(Path(server).with_name(name))
        if not Path(path).is_file():
            path = shutil.which(name)
    if path is not None and Path(path).is_file() and os.access(path, os.X_OK):
        return path
    msg = f"{name} not found: {REDIS_HINT}"
    if in_ci():
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


def _free_ports(count: int) -> list[int]:
    """``count`` distinct ports on ``HOST`` that were free a moment ago."""
    import socket  # noqa: PLC0415 - only here

    probes = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for probe in probes:
            probe.bind((HOST, 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


class RedisServer:
    """One ``redis-server`` process on ``127.0.0.1:port``; it can be stopped and restarted.

    Args:
        binary: The ``redis-server`` executable.
        directory: Its working directory (logs, cluster files); nothing is persisted.
        port: The port; a free one when ``None``.
        options: More command-line options, as ``["--cluster-enabled", "yes"]``.
    """

    def __init__(
        self,
        binary: str,
        directory: Path,
        port: int | None = None,
        options: Sequence[str] = (),
    ) -> None:
        self.binary = binary
        self.directory = directory
        self.port = _free_ports(1)[0] if port is None else port
        self.options = tuple(options)
        self.log = directory / f"redis-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://{HOST}:{self.port}/0"

    @property
    def running(self) -> bool:
        """Whether the process is running."""
        return self._process is not None and self._process.poll() is None

    def client(self, **options: object) -> redis.Redis:
        """A synchronous redis-py client for this server, for the tests' own commands."""
        return redis.Redis(host=HOST, port=self.port, socket_timeout=10, **options)  # type: ignore[arg-type]

    def client_names(self) -> list[str]:
        """The names of the clients connected now (``CLIENT LIST``)."""
        with self.client() as client:
            return [entry["name"] for entry in client.client_list()]

    async def disconnected(self, name: str, timeout: float = 2.0) -> bool:
        """Whether no client named ``name`` is connected within ``timeout`` seconds.

        The server drops a client a moment after the client closed its socket.
        """
        for _ in range(int(timeout / 0.01)):
            if name not in self.client_names():
                return True
            await anyio.sleep(0.01)
        return False

    def start(self) -> None:
        """Start the server on its port and wait until it answers ``PING``.

        Raises:
            RuntimeError: It exited or did not answer in time; with its log's last lines.
        """
        if self.running:
            return
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", HOST,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--logfile", str(self.log),
            "--daemonize", "no",
            "--enable-debug-command", "local",
            *self.options,
        ]  # fmt: skip
        self._process = subprocess.Popen(
            command,
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + _READY_SECONDS
        with self.client(socket_connect_timeout=0.5) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    break
                try:
                    client.ping()
                except redis.ConnectionError:
                    time.sleep(0.02)
                else:
                    return
        code = self._process.poll()
        problem = "did not answer" if code is None else f"exited with {code}"
        self.stop()
        msg = f"redis-server on port {self.port} {problem}: {self.log_tail()}"
        raise RuntimeError(msg)

    def stop(self) -> None:
        """Stop the server (SIGTERM, a kill after 10 s) and reap it; its data is gone."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(_STOP_SECONDS)

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the server's log, joined with `` | ``."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:])


class RedisCluster:
    """Three cluster nodes holding every slot between them, no replicas.

    Args:
        nodes: The running, joined nodes.
    """

    def __init__(self, nodes: Sequence[RedisServer]) -> None:
        self.nodes = tuple(nodes)

    @property
    def url(self) -> str:
        """A URL of the first node: a cluster client finds the others from it."""
        return self.nodes[0].url

    def node_for(self, key: str) -> RedisServer:
        """The node that serves the slot of ``key``."""
        with self.nodes[0].client() as client:
            slot = int(client.execute_command("CLUSTER", "KEYSLOT", key))
            for start, end, primary, *_ in client.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    port = int(primary[1])
                    return next(node for node in self.nodes if node.port == port)
        msg = f"no node serves slot {slot}"
        raise LookupError(msg)


def _cluster_ready(nodes: Sequence[RedisServer]) -> bool:
    for node in nodes:
        with node.client() as client:
            info = client.execute_command("CLUSTER", "INFO")
        text = info.decode() if isinstance(info, bytes) else str(info)
        if "cluster_state:ok" not in text:
            return False
    return True


def start_cluster(binary: str, directory: Path) -> RedisCluster:
    """Start three cluster nodes, create the cluster and wait for ``cluster_state:ok``.

    Raises:
        RuntimeError: A node did not start, ``redis-cli --cluster create`` failed, or the
            cluster was not ready in time.
    """
    ports = _free_ports(6)  # three client ports and three cluster-bus ports
    nodes = []
    try:
        for port, bus in zip(ports[:3], ports[3:], strict=True):
            node = RedisServer(
                binary,
                directory,
                port,
                [
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", f"nodes-{port}.conf",
                    "--cluster-port", str(bus),
                    "--cluster-node-timeout", "5000",
                ],
            )  # fmt: skip
            nodes.append(node)
            node.start()
        _create_cluster(nodes)
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return RedisCluster(nodes)


def _create_cluster(nodes: Sequence[RedisServer]) -> None:
    """Join ``nodes`` into one cluster, every slot assigned; wait for ``cluster_state:ok``."""
    addresses = [f"{HOST}:{node.port}" for node in nodes]
    command = [redis_binary("redis-cli"), "--cluster", "create", *addresses]
    created = subprocess.run(
        [*command, "--cluster-replicas", "0", "--cluster-yes"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if created.returncode != 0:
        msg = f"redis-cli --cluster create failed: {created.stdout[-500:]}{created.stderr}"
        raise RuntimeError(msg)
    deadline = time.monotonic() + 30
    while not _cluster_ready(nodes):
        if time.monotonic() > deadline:
            msg = "the cluster did not reach cluster_state:ok within 30 s"
            raise RuntimeError(msg)
        time.sleep(0.1)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A ``redis-server`` for the whole session, on a free port, persistence off."""
    binary = redis_binary()
    with tempfile.TemporaryDirectory(prefix="redis-") as directory:
        server = RedisServer(binary, Path(directory))
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """A three-node Redis Cluster for the whole session (no replicas), on free ports."""
    binary = redis_binary()
    with tempfile.TemporaryDirectory(prefix="redis-cluster-") as directory:
        cluster = start_cluster(binary, Path(directory))
        try:
            yield cluster
        finally:
            for node in cluster.nodes:
                node.stop()


# --- The app the multi-worker tests serve --------------------------------------------------


def worker_app() -> ASGIApp:
    """A uvicorn ``--factory``: ``/`` limited, ``/pid`` exempt, configured from the environment.

    ``RL_STORE`` is ``memory`` or a Redis URL; ``RL_QUOTA`` and ``RL_WINDOW`` make one GCRA
    policy with ``burst = quota``, keyed on the one key ``RL_KEY`` (every client counts against
    one bucket); ``RL_ON_ERROR`` and ``RL_TIMEOUT`` are the failure policy and the store timeout.
    The library's warnings go to the file ``RL_LOG``, one line each, prefixed with the pid.
    ``/pid`` answers the worker's pid, so a test can see that every worker is up.
    """
    from asgi_middleware.rate_limit import (  # noqa: PLC0415 - only in the server process
        MemoryStore,
        RateLimit,
        RateLimitMiddleware,
        RedisStore,
    )

    log = os.environ.get("RL_LOG")
    if log:
        handler = logging.FileHandler(log, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(process)d %(levelname)s %(message)s"))
        library = logging.getLogger("asgi_middleware")
        library.addHandler(handler)
        library.setLevel(logging.WARNING)
    target = os.environ.get("RL_STORE", "memory")
    store = MemoryStore() if target == "memory" else RedisStore(target)
    pid = str(os.getpid()).encode("ascii")
    key = os.environ.get("RL_KEY", "everyone")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        await respond(send, pid)

    return RateLimitMiddleware(
        app,
        limits=[RateLimit("shared", int(os.environ["RL_QUOTA"]), float(os.environ["RL_WINDOW"]))],
        key=lambda _: key,
        store=store,
        exempt_paths=["/pid"],
        on_store_error=os.environ.get("RL_ON_ERROR", "open"),  # type: ignore[arg-type]
        store_timeout=float(os.environ.get("RL_TIMEOUT", "0.25")),
    )
