"""Tests of the real-server fixtures in ``tests/support/servers.py``, and of the Chromium lookup.

The browser fixtures themselves are tested in tests/browser/test_browser_fixtures.py.
"""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from pathlib import Path

import httpx
import pytest
import websockets.sync.client

from asgi_middleware import ASGIApp, Receive, Scope, Send
from tests.support.servers import (
    CHROMIUM_HINT,
    LiveServer,
    ServeApp,
    ServerPool,
    chromium_executable,
    peak_rss_kib,
    reset_peak_rss,
    serve,
    serve_process,
)

TIMEOUT = 5.0


def _text_app(body: bytes, *, headers: list[tuple[bytes, bytes]] | None = None) -> ASGIApp:
    """A raw ASGI app answering every HTTP request with ``body``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        response_headers = [(b"content-type", b"text/plain"), *(headers or [])]
        await send({"type": "http.response.start", "status": 200, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})

    return app


def _thread_running(server: LiveServer) -> bool:
    return any(t.name == f"live-uvicorn-{server.host}:{server.port}" for t in threading.enumerate())


def _refuses(server: LiveServer) -> bool:
    with server.client(timeout=2.0) as client:
        try:
            client.get("/")
        except httpx.ConnectError:
            return True
    return False


# --- Thread servers ------------------------------------------------------------------------


@pytest.mark.server
def test_live_server_serves_app(live_server: ServeApp) -> None:
    """A raw ASGI app under ``live_server`` answers a real HTTP GET with its body and header."""
    server = live_server(_text_app(b"hello", headers=[(b"x-live", b"yes")]))

    with server.client() as client:
        response = client.get("/")

    assert (response.status_code, response.text) == (200, "hello")
    assert response.headers["x-live"] == "yes"
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.ws_url == f"ws://127.0.0.1:{server.port}"


@pytest.mark.server
def test_module_live_server_serves_app(module_live_server: ServeApp) -> None:
    """The module-scoped factory starts a working server too."""
    server = module_live_server(_text_app(b"module"))

    with server.client() as client:
        assert client.get("/").text == "module"


@pytest.mark.server
def test_serve_stops_server_on_exit() -> None:
    """After ``serve`` exits, its thread has ended and its port refuses connections."""
    with serve(_text_app(b"up")) as server, server.client() as client:
        assert client.get("/").text == "up"
        assert _thread_running(server)

    assert not _thread_running(server)
    assert _refuses(server)


@pytest.mark.server
def test_serve_stops_server_when_body_raises() -> None:
    """A test failing inside ``serve`` still stops the server and its thread."""
    with pytest.raises(LookupError), serve(_text_app(b"up")) as server:
        raise LookupError

    assert not _thread_running(server)
    assert _refuses(server)


@pytest.mark.server
def test_server_pool_stops_every_server() -> None:
    """``ServerPool.close``, the ``live_server`` teardown, stops all the servers it started."""
    pool = ServerPool()
    try:
        servers = [pool.start(_text_app(b"one")), pool.start(_text_app(b"two"))]
    finally:
        pool.close()

    assert servers[0].port != servers[1].port
    assert not any(_thread_running(server) for server in servers)
    assert all(_refuses(server) for server in servers)


@pytest.mark.server
def test_lifespan_runs() -> None:
    """The server runs the lifespan startup before it is ready and the shutdown when it stops."""
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            return
        while True:
            message = await receive()
            events.append(message["type"])
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return

    with serve(app, lifespan="on"):
        assert events == ["lifespan.startup"]

    assert events == ["lifespan.startup", "lifespan.shutdown"]


@pytest.mark.server
def test_failed_startup_raises_with_the_cause() -> None:
    """A server that exits during startup raises at once, from uvicorn's exit, leaving no thread."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.failed", "message": "no database"})

    before = set(threading.enumerate())
    with (
        pytest.raises(RuntimeError, match="exited before it started") as info,
        serve(app, lifespan="on"),
    ):
        pytest.fail("the server should not have started")

    assert isinstance(info.value.__cause__, SystemExit)
    assert {t for t in threading.enumerate() if t.name.startswith("live-uvicorn-")} <= before


@pytest.mark.parametrize("option", ["host", "port", "fd", "uds"])
def test_serve_refuses_bind_options(option: str) -> None:
    """Servers bind 127.0.0.1 on a port of their own choosing, so bind options are refused."""
    with pytest.raises(TypeError, match=option), serve(_text_app(b""), **{option: 1}):
        pass


@pytest.mark.server
def test_streaming_reaches_the_client_before_the_app_finishes(live_server: ServeApp) -> None:
    """The client reads the first chunk while the app still waits for the client to go on."""
    release = threading.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        deadline = asyncio.get_running_loop().time() + TIMEOUT
        # A threading.Event cannot be awaited; poll it, which also stays cancellable.
        while not release.is_set() and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        await send(
            {"type": "http.response.body", "body": b"second" if release.is_set() else b"late"}
        )

    server = live_server(app)
    with server.client(timeout=TIMEOUT) as client, client.stream("GET", "/") as response:
        chunks = response.iter_raw()
        first = next(chunks)
        release.set()
        rest = b"".join(chunks)

    assert (first, rest) == (b"first", b"second")


@pytest.mark.server
def test_websocket_echo(live_server: ServeApp) -> None:
    """A WebSocket app under the live server echoes text and bytes over a real connection."""
    paths: list[str] = []

    async def echo(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            return
        paths.append(scope["path"])
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] == "websocket.receive":
            key = "text" if message.get("text") is not None else "bytes"
            await send({"type": "websocket.send", key: message[key]})

    server = live_server(echo)
    with websockets.sync.client.connect(
        server.ws_url + "/ws", open_timeout=TIMEOUT, close_timeout=TIMEOUT, proxy=None
    ) as websocket:
        websocket.send("hello")
        text = websocket.recv(timeout=TIMEOUT)
        websocket.send(b"\x00\x01")
        data = websocket.recv(timeout=TIMEOUT)

    assert (text, data, paths) == ("hello", b"\x00\x01", ["/ws"])


@pytest.mark.server
@pytest.mark.anyio
async def test_live_server_with_async_client(live_server: ServeApp) -> None:
    """An async test can talk to a live server, also after a browser test ran in this session."""
    server = live_server(_text_app(b"async"))

    async with server.async_client() as client:
        response = await client.get("/")

    assert response.text == "async"


# --- Server processes ----------------------------------------------------------------------


@pytest.mark.server
def test_serve_process_serves_and_exits() -> None:
    """``serve_process`` runs the app in another process and ends that process on exit."""
    with serve_process("tests.support.server_apps:app") as server, server.client() as client:
        assert server.pid is not None
        assert server.pid != os.getpid()
        assert client.get("/").text == f"pid {server.pid}"
        peak = peak_rss_kib(server.pid)
        assert isinstance(peak, int)
        assert peak > 0

    with pytest.raises(ProcessLookupError):
        os.kill(server.pid, 0)
    with pytest.raises(ProcessLookupError):
        peak_rss_kib(server.pid)
    assert _refuses(server)


@pytest.mark.server
def test_peak_rss_follows_the_server_allocation() -> None:
    """The peak RSS rises by what the server allocated, and ``reset_peak_rss`` lowers it again."""
    with serve_process("tests.support.server_apps:app") as server, server.client() as client:
        assert server.pid is not None
        reset_peak_rss(server.pid)
        baseline = peak_rss_kib(server.pid)

        assert client.get("/allocate", params={"mib": 64}).text == "allocated 64 MiB"
        raised = peak_rss_kib(server.pid)
        reset_peak_rss(server.pid)
        after_reset = peak_rss_kib(server.pid)

    assert raised >= baseline + 60 * 1024
    assert after_reset < raised - 30 * 1024


@pytest.mark.server
def test_serve_process_reports_a_server_that_exits() -> None:
    """A server process that cannot start raises with uvicorn's output."""
    with (
        pytest.raises(RuntimeError, match="exited with code") as info,
        serve_process("tests.support.server_apps:missing"),
    ):
        pytest.fail("the server should not have started")

    assert "missing" in str(info.value)


# --- Chromium lookup -----------------------------------------------------------------------


@pytest.fixture
def missing_chromium(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Point ``CHROMIUM_PATH`` at a file that does not exist."""
    path = str(tmp_path / "no-chromium")
    monkeypatch.setenv("CHROMIUM_PATH", path)
    return path


def test_missing_chromium_fails_under_ci(
    missing_chromium: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under CI a missing Chromium fails the test, saying how to install it."""
    monkeypatch.setenv("CI", "true")

    with pytest.raises(pytest.fail.Exception) as info:
        chromium_executable()

    assert missing_chromium in str(info.value)
    assert CHROMIUM_HINT in str(info.value)


def test_missing_chromium_skips_outside_ci(
    missing_chromium: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside CI a missing Chromium skips the test, with the same hint."""
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception) as info:
        chromium_executable()

    assert missing_chromium in str(info.value)
    assert CHROMIUM_HINT in str(info.value)


def test_chromium_path_env_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An executable named by ``CHROMIUM_PATH`` is the one launched."""
    binary = tmp_path / "my-chromium"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("CHROMIUM_PATH", str(binary))

    assert chromium_executable() == str(binary)
