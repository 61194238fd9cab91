"""Real-server and real-browser fixtures: uvicorn on 127.0.0.1 and Debian's headless Chromium.

This module is a pytest plugin (``tests/conftest.py`` loads it). What it offers:

* :func:`serve` runs an ASGI app under uvicorn in a daemon thread of this process, so coverage
  measures the middleware, on a socket it binds itself to ``127.0.0.1:0`` (the port is known
  before the server starts, and nothing else can take it). The fixtures ``live_server`` and
  ``module_live_server`` hand out a factory, ``live_server(app, **uvicorn_options)``, whose servers
  stop when the test (or the module) ends.
* :func:`serve_process` runs ``python -m uvicorn`` in a subprocess, for what needs a process of
  its own, such as its peak memory (:func:`peak_rss_kib`, :func:`reset_peak_rss`).
* ``browser`` (one Chromium per session) and ``page`` (a fresh browser context per test) drive
  Debian's ``chromium`` through Playwright's sync API; Playwright never downloads a browser here.
* ``two_origins`` / :func:`serve_two_origins` start a page origin and an API origin, and
  :func:`browser_fetch` runs ``fetch()`` in a page, for the CORS tests in a real browser.

Every server binds ``127.0.0.1`` only; ``host``, ``port``, ``fd`` and ``uds`` are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, TypedDict

import pytest
import uvicorn

from asgi_middleware import ASGIApp, Receive, Scope, Send
from tests.support.asgi import answer_lifespan, respond

if TYPE_CHECKING:
    import httpx
    from playwright.sync_api import Browser, Page, Playwright

__all__ = [
    "CHROMIUM_ARGS",
    "CHROMIUM_HINT",
    "DEFAULT_PAGE_HTML",
    "HOST",
    "FetchResult",
    "LiveServer",
    "ServeApp",
    "ServeTwoOrigins",
    "ServerPool",
    "TwoOrigins",
    "browser_fetch",
    "chromium_executable",
    "html_page_app",
    "in_ci",
    "peak_rss_kib",
    "reset_peak_rss",
    "serve",
    "serve_process",
    "serve_two_origins",
]

#: The only address any server here binds.
HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parent.parent.parent

#: Refused in server options: every server binds a port on ``HOST`` chosen here.
_BIND_OPTIONS = frozenset({"host", "port", "fd", "uds"})

# log_config=None keeps uvicorn from calling logging.config.dictConfig, which would attach
# handlers to the stream pytest captures for the current test only; its records propagate to
# the root logger and show up in pytest's report instead. A short graceful-shutdown timeout
# cancels a response a failed test left hanging instead of waiting for it forever.
_THREAD_DEFAULTS: Mapping[str, Any] = {
    "lifespan": "auto",
    "log_level": "warning",
    "log_config": None,
    "timeout_graceful_shutdown": 2,
}
_PROCESS_DEFAULTS: Mapping[str, Any] = {
    "lifespan": "auto",
    "log_level": "warning",
    "timeout_graceful_shutdown": 2,
}


def in_ci() -> bool:
    """Whether env ``CI`` is true, read at call time (``tests.conftest.IN_CI`` reads it once)."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


# --- Servers -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiveServer:
    """Where a running server listens; ``pid`` is set for :func:`serve_process` servers."""

    host: str
    port: int
    pid: int | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:PORT``, without a trailing slash."""
        return f"ws://{self.host}:{self.port}"

    @property
    def origin(self) -> str:
        """The server's origin as a browser serialises it, the same string as :attr:`url`."""
        return self.url

    def client(self, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` for this server: its base URL, a 10 s timeout, no env proxies."""
        import httpx  # noqa: PLC0415 - only the tests that talk HTTP pay for the import

        return httpx.Client(**(_client_options(self.url) | kwargs))

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient`` twin of :meth:`client`."""
        import httpx  # noqa: PLC0415 - as in client()

        return httpx.AsyncClient(**(_client_options(self.url) | kwargs))


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # httpx builds a verifying context per client, 0.1 s each; one shared context does.
    return ssl.create_default_context()


def _client_options(url: str) -> dict[str, Any]:
    return {"base_url": url, "timeout": 10.0, "trust_env": False, "verify": _tls_context()}


def _check_options(options: Mapping[str, Any]) -> None:
    refused = sorted(_BIND_OPTIONS.intersection(options))
    if refused:
        msg = f"the live servers bind {HOST} on a free port themselves; drop {refused}"
        raise TypeError(msg)


class _Server(uvicorn.Server):
    """A uvicorn server that a thread can stop at once rather than at its next 0.1 s tick."""

    _wake: Callable[[], object] | None = None

    async def main_loop(self) -> None:
        # uvicorn looks at should_exit every 0.1 s; the tests stop dozens of servers, so
        # wake() cancels the ticking loop as soon as should_exit is set.
        loop = asyncio.get_running_loop()
        ticker = loop.create_task(super().main_loop())
        self._wake = functools.partial(loop.call_soon_threadsafe, ticker.cancel)
        await asyncio.wait({ticker})
        if not ticker.cancelled():
            ticker.result()

    def wake(self) -> None:
        """Stop the main loop now; call after setting ``should_exit``, from any thread."""
        if self._wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                self._wake()


class _ThreadServer:
    """One uvicorn server running in a daemon thread on a socket bound here."""

    __slots__ = ("_failure", "_server", "_socket", "_thread", "live")

    def __init__(self, app: ASGIApp, options: Mapping[str, Any]) -> None:
        _check_options(options)
        config = uvicorn.Config(app, **{**_THREAD_DEFAULTS, **options})
        self._server = _Server(config)
        self._failure: BaseException | None = None
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._socket.bind((HOST, 0))
        except BaseException:
            self._socket.close()
            raise
        self.live = LiveServer(HOST, self._socket.getsockname()[1])
        self._thread = threading.Thread(
            target=self._run, name=f"live-uvicorn-{HOST}:{self.live.port}", daemon=True
        )

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        # Kept for the main thread to raise: uvicorn ends a failed startup with sys.exit().
        except BaseException as exc:  # noqa: BLE001
            self._failure = exc

    def start(self, timeout: float) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                if self._thread.is_alive():
                    reason = f"did not start within {timeout} s"
                else:
                    reason = f"exited before it started ({self._failure!r})"
                self.request_stop()
                if not self.wait_stopped(timeout):
                    reason += ", and its thread does not stop"
                msg = (
                    f"uvicorn on {self.live.url} {reason}; its log says why "
                    "(a failed lifespan startup ends here)"
                )
                raise RuntimeError(msg) from self._failure
            time.sleep(0.002)
        return self.live

    def request_stop(self) -> None:
        self._server.should_exit = True
        self._server.wake()

    def wait_stopped(self, timeout: float) -> bool:
        """Wait for the thread to end, forcing the exit if it does not; whether it ended."""
        # uvicorn waits up to timeout_graceful_shutdown for responses in flight before it
        # cancels them and runs the lifespan shutdown.
        if self._thread.ident is not None:
            self._thread.join(timeout + (self._server.config.timeout_graceful_shutdown or 0))
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout)
        self._socket.close()
        return not self._thread.is_alive()


def _still_running(servers: list[_ThreadServer]) -> RuntimeError:
    urls = ", ".join(server.live.url for server in servers)
    return RuntimeError(f"uvicorn did not stop on {urls}; its thread is still running")


@contextlib.contextmanager
def serve(app: ASGIApp, *, timeout: float = 10.0, **options: Any) -> Iterator[LiveServer]:
    """Serve ``app`` with uvicorn in a thread of this process on ``127.0.0.1`` and a free port.

    Args:
        app: The ASGI application.
        timeout: Seconds to wait for the server to start, and again for it to stop.
        **options: Keyword arguments for ``uvicorn.Config``; by default ``lifespan="auto"``,
            ``log_level="warning"``, ``log_config=None`` and ``timeout_graceful_shutdown=2``.

    Yields:
        Where the server listens. It has started (and run the lifespan startup) by then; on exit
        it has stopped, its thread has ended and its port refuses connections.

    Raises:
        RuntimeError: The server did not start (from the thread's exception), or did not stop.
        TypeError: A ``host``, ``port``, ``fd`` or ``uds`` option was given.
    """
    server = _ThreadServer(app, options)
    live = server.start(timeout)
    try:
        yield live
    finally:
        server.request_stop()
        if not server.wait_stopped(timeout):
            raise _still_running([server])


class ServeApp(Protocol):
    """The factory the ``live_server`` fixtures return: ``live_server(app, **options)``."""

    def __call__(self, app: ASGIApp, /, **options: Any) -> LiveServer:
        """Start ``app`` on a new server, stopped when the fixture's scope ends."""
        ...


class ServerPool:
    """Servers started on demand and stopped together, the ``live_server`` fixtures' backend."""

    __slots__ = ("_servers", "_timeout")

    def __init__(self, *, timeout: float = 10.0) -> None:
        self._servers: list[_ThreadServer] = []
        self._timeout = timeout

    def start(self, app: ASGIApp, /, **options: Any) -> LiveServer:
        """Start ``app`` as :func:`serve` does; it runs until :meth:`close`."""
        server = _ThreadServer(app, options)
        live = server.start(self._timeout)
        self._servers.append(server)
        return live

    def close(self) -> None:
        """Stop every server, all at once; raise if a thread did not end."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.request_stop()
        running = [server for server in servers if not server.wait_stopped(self._timeout)]
        if running:
            raise _still_running(running)


@pytest.fixture
def live_server() -> Iterator[ServeApp]:
    """Start ASGI apps on real uvicorn servers that stop when the test ends."""
    pool = ServerPool()
    try:
        yield pool.start
    finally:
        pool.close()


@pytest.fixture(scope="module")
def module_live_server() -> Iterator[ServeApp]:
    """Start ASGI apps on real uvicorn servers that stop when the test module ends."""
    pool = ServerPool()
    try:
        yield pool.start
    finally:
        pool.close()


# --- Server processes ----------------------------------------------------------------------


def _cli_flags(options: Mapping[str, Any]) -> list[str]:
    """``log_level="warning"`` to ``--log-level warning``, ``access_log=False`` to ``--no-...``."""
    flags: list[str] = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            flags.append(flag)
        elif value is False:
            flags.append("--no-" + flag[2:])
        elif isinstance(value, (list, tuple)):
            for item in value:
                flags += [flag, str(item)]
        elif value is not None:
            flags += [flag, str(value)]
    return flags


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_accepting(process: subprocess.Popen[bytes], port: int, timeout: float) -> str | None:
    """None once the server accepts connections, else why it does not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"exited with code {process.returncode} before it accepted connections"
        if _accepts(port):
            return None
        time.sleep(0.02)
    return f"did not accept connections within {timeout} s"


def _stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


def _read_log(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode("utf-8", "replace").strip()


@contextlib.contextmanager
def serve_process(
    import_string: str,
    *,
    env: Mapping[str, str] | None = None,
    app_dir: str | os.PathLike[str] = REPO_ROOT,
    timeout: float = 15.0,
    **options: Any,
) -> Iterator[LiveServer]:
    """Serve ``import_string`` with ``python -m uvicorn`` in a subprocess on ``127.0.0.1``.

    The port is probed free, then passed with ``--port``: uvicorn only listens once the lifespan
    startup is done, so "accepts a connection" means "ready" (``--fd`` would accept at once). If
    something else takes the port in between, it starts again on another.

    Args:
        import_string: ``module:attribute``, importable from ``app_dir``.
        env: Variables added to (or replacing) this process's environment for the server.
        app_dir: The server's working directory and ``--app-dir``; the repository by default.
        timeout: Seconds to wait for the server to accept connections, and for it to exit.
        **options: uvicorn command-line options as keywords: ``log_level="info"`` becomes
            ``--log-level info``, ``access_log=False`` ``--no-access-log``, a list repeats the
            option. By default ``lifespan="auto"``, ``log_level="warning"`` and
            ``timeout_graceful_shutdown=2``.

    Yields:
        Where the server listens, with its ``pid``. On exit the process was sent SIGTERM, killed
        if it did not end within ``timeout``, and reaped.

    Raises:
        RuntimeError: The server exited or did not accept connections in time; with its output.
        TypeError: A ``host``, ``port``, ``fd`` or ``uds`` option was given.
    """
    _check_options(options)
    environment = {**os.environ, **(env or {})}
    flags = _cli_flags({**_PROCESS_DEFAULTS, **options})
    with tempfile.TemporaryFile() as log:
        for attempt in range(1, 4):
            port = _free_port()
            command = [
                sys.executable, "-m", "uvicorn", import_string,
                "--host", HOST, "--port", str(port), "--app-dir", os.fspath(app_dir), *flags,
            ]  # fmt: skip
            log.seek(0)
            log.truncate()
            process = subprocess.Popen(
                command,
                cwd=app_dir,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                problem = _wait_accepting(process, port, timeout)
                if problem is None:
                    yield LiveServer(HOST, port, pid=process.pid)
                    return
            finally:
                _stop_process(process, timeout)
            output = _read_log(log)
            if attempt == 3 or "address already in use" not in output.lower():
                msg = f"uvicorn {import_string} on port {port} {problem}; its output:\n{output}"
                raise RuntimeError(msg)


def peak_rss_kib(pid: int) -> int:
    """The peak resident set size of a running process in KiB (``VmHWM`` in /proc/PID/status).

    Raises:
        ProcessLookupError: No such process, or it has exited and is waiting to be reaped.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        msg = f"no process {pid}"
        raise ProcessLookupError(msg) from None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    msg = f"process {pid} has exited and holds no memory"
    raise ProcessLookupError(msg)


def reset_peak_rss(pid: int) -> None:
    """Reset ``VmHWM`` of a process to its current RSS, to measure the peak of what comes next.

    Linux's ``/proc/PID/clear_refs`` value 5; needs the right to write to the process's files.

    Raises:
        ProcessLookupError: No such process.
    """
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5", encoding="ascii")
    except FileNotFoundError:
        msg = f"no process {pid}"
        raise ProcessLookupError(msg) from None


# --- Two origins ---------------------------------------------------------------------------

DEFAULT_PAGE_HTML = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>live page</title>'
    "</head><body></body></html>"
)


def html_page_app(html: str = DEFAULT_PAGE_HTML) -> ASGIApp:
    """A raw ASGI app serving ``html`` at ``/`` (GET and HEAD) and 404 everywhere else."""
    page = html.encode("utf-8")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] == "/":
            status, body, content_type = 200, page, b"text/html; charset=utf-8"
        else:
            status, body, content_type = 404, b"not found", b"text/plain; charset=utf-8"
        head = scope["method"] == "HEAD"
        await respond(send, body, status=status, content_type=content_type, head=head)

    return app


@dataclass(frozen=True, slots=True)
class TwoOrigins:
    """A page origin and an API origin; they differ by port only, which makes them cross-origin."""

    page: LiveServer
    api: LiveServer


class ServeTwoOrigins(Protocol):
    """The factory the ``two_origins`` fixture returns."""

    def __call__(self, api_app: ASGIApp, /, *, page_html: str = ...) -> TwoOrigins:
        """Start a page server for ``page_html`` and an API server for ``api_app``."""
        ...


@contextlib.contextmanager
def serve_two_origins(
    api_app: ASGIApp, *, page_html: str = DEFAULT_PAGE_HTML, **options: Any
) -> Iterator[TwoOrigins]:
    """Serve ``page_html`` at ``/`` on one origin and ``api_app`` on another.

    ``options`` go to both servers, as in :func:`serve`.
    """
    with serve(html_page_app(page_html), **options) as page, serve(api_app, **options) as api:
        yield TwoOrigins(page=page, api=api)


@pytest.fixture
def two_origins(live_server: ServeApp) -> ServeTwoOrigins:
    """Start a page origin and an API origin, ``two_origins(api_app, page_html=...)``."""

    def start(api_app: ASGIApp, /, *, page_html: str = DEFAULT_PAGE_HTML) -> TwoOrigins:
        return TwoOrigins(page=live_server(html_page_app(page_html)), api=live_server(api_app))

    return start


# --- Browser -------------------------------------------------------------------------------

CHROMIUM_HINT = (
    "install Debian's `chromium` package (apt-get install chromium; `.ci/run` does this) "
    "or set CHROMIUM_PATH to a Chromium binary"
)

#: Chromium flags. Playwright adds its own (a fresh temporary --user-data-dir among them).
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",  # the tests run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    # Every request goes to 127.0.0.1: a proxy from the environment must not see them.
    "--no-proxy-server",
)


def chromium_executable() -> str:
    """The Chromium binary: env ``CHROMIUM_PATH``, else ``chromium`` on PATH, else Debian's path.

    If it is missing, the calling test fails under CI (env ``CI`` true) and is skipped
    elsewhere, with a message saying how to install it.
    """
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if Path(path).is_file() and os.access(path, os.X_OK):
        return path
    msg = f"Chromium not found at {path}: {CHROMIUM_HINT}"
    if in_ci():
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


@dataclass(slots=True)
class _BrowserSession:
    """Playwright, its Chromium, and the event loop its sync API runs on."""

    playwright: Playwright
    browser: Browser
    loop: asyncio.AbstractEventLoop | None

    # Playwright's sync API leaves its event loop marked as this thread's running loop between
    # calls, and asyncio.run() (so every anyio test, and uvicorn run in this thread) refuses to
    # start while it is. The loop is marked running only while a test uses the browser.
    def resume(self) -> None:
        asyncio._set_running_loop(self.loop)

    @staticmethod
    def park() -> None:
        asyncio._set_running_loop(None)


@pytest.fixture(scope="session")
def _browser_session() -> Iterator[_BrowserSession]:
    executable = chromium_executable()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - 0.2 s, browser tests only

    playwright = sync_playwright().start()
    loop = asyncio._get_running_loop()
    try:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=list(CHROMIUM_ARGS), timeout=30_000
        )
    except BaseException:
        playwright.stop()
        raise
    session = _BrowserSession(playwright, browser, loop)
    session.park()
    try:
        yield session
    finally:
        session.resume()
        try:
            browser.close()
        finally:
            playwright.stop()


@pytest.fixture(autouse=True)
def _playwright_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    """Mark Playwright's loop running for the tests that use the browser, and only for them."""
    if "_browser_session" not in request.fixturenames:
        yield
        return
    session: _BrowserSession = request.getfixturevalue("_browser_session")
    session.resume()
    try:
        yield
    finally:
        session.park()


@pytest.fixture(scope="session")
def browser(_browser_session: _BrowserSession) -> Browser:
    """One headless Chromium (Debian's binary) for the whole session, closed at its end.

    Use it, and ``page``, in plain sync tests: Playwright's sync API cannot run inside a running
    event loop, so not in ``anyio`` tests, nor in fixtures of a scope wider than the test.
    """
    return _browser_session.browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies, no cache), closed after the test."""
    context = browser.new_context()
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


class FetchResult(TypedDict, total=False):
    """What :func:`browser_fetch` returns: the response, or the error ``fetch()`` rejected with."""

    ok: bool
    status: int
    headers: dict[str, str]
    body: str
    error: str


_FETCH_JS = """
async ([url, init]) => {
  try {
    const response = await fetch(url, init);
    const headers = {};
    response.headers.forEach((value, name) => { headers[name] = value; });
    return {ok: response.ok, status: response.status, headers, body: await response.text()};
  } catch (error) {
    return {error: String(error)};
  }
}
"""


def browser_fetch(page: Page, url: str, init: Mapping[str, Any] | None = None) -> FetchResult:
    """Run ``fetch(url, init)`` in ``page`` and return what the page's script can see.

    Returns ``{"ok", "status", "headers", "body"}`` with the headers the script may read (for a
    cross-origin response, the CORS-safelisted ones and those in ``Access-Control-Expose-Headers``),
    or ``{"error": "TypeError: Failed to fetch"}`` when ``fetch()`` rejects, as it does when a
    CORS check fails. Navigate ``page`` to its origin first: the fetch runs from there.
    """
    result: FetchResult = page.evaluate(_FETCH_JS, [url, dict(init or {})])
    return result
