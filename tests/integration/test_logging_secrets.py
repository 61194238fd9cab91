"""No documented logging set-up writes a request's credentials into the logs.

A traceback renderer that records local variables (structlog's ``dict_tracebacks``, Rich's
console tracebacks) prints the middleware's frames, and those hold the ASGI scope with the raw
``Authorization`` and ``Cookie`` headers and the query string. Each example file that configures
logging is found by a scan of docs/examples and examples, set up as written, and sent one request
that carries secrets to an endpoint that raises; everything written is then searched for them.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from asgi_middleware import ASGIApp, Receive, Scope, Send
from tests.support.asgi import Exchange, http_scope
from tests.support.samples import load

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("sibling_imports", "restore_logging")]

REPO = Path(__file__).resolve().parent.parent.parent
#: What a file that sets up logging (rather than only logging) contains.
CONFIGURES_LOGGING = re.compile(
    r"structlog\.configure\(|basicConfig\(|dictConfig\(|fileConfig\(|addHandler\("
    r"|logging\.(?:handlers\.)?\w*Handler\("
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class BoomError(Exception):
    """The failure the endpoint raises; its name and message prove a traceback was logged."""


MESSAGE = "the endpoint failed on purpose"


async def explode(request: Request) -> Response:
    """A Starlette endpoint that raises."""
    raise BoomError(MESSAGE)


async def explode_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    """A raw ASGI app that raises."""
    raise BoomError(MESSAGE)


def explode_upstream(request: httpx.Request) -> httpx.Response:
    """An httpx mock handler that raises: the recipe's upstream call fails."""
    raise BoomError(MESSAGE)


def squeeze(text: str) -> str:
    """``text`` with everything but ASCII letters and digits removed."""
    return re.sub("[^0-9A-Za-z]", "", text)


def served(app: ASGIApp) -> ASGIApp:
    """The app as uvicorn runs it: an exception is logged on ``uvicorn.error``, then re-raised.

    Without uvicorn's own logging config (``log_config=None``) that record reaches the root
    logger, so the handlers an example installs there render it too.
    """

    async def server(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        except Exception:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application\n")
            raise

    return server


def access_log_app(name: str) -> Any:
    """An access_log_* sample whose shared Starlette app has a failing ``/boom`` route."""
    module = load(name)
    module.starlette_app.add_route("/boom", explode)
    return module


@dataclass(frozen=True)
class Sample:
    """An example set up as written: the app, a path that raises, the root handler it added.

    ``bearer`` is the token to send when the app lets only a known one through (the demo's).
    """

    app: ASGIApp
    path: str
    handler: logging.Handler | None = None
    bearer: str | None = None


def json_setup() -> Sample:
    """access_log_json: structlog's JSON lines on stdout."""
    module = access_log_app("access_log_json")
    module.configure_json_logging(sys.stdout)
    return Sample(module.app, "/boom")


def console_setup(*, colors: bool) -> Callable[[], Sample]:
    """access_log_console: ConsoleRenderer lines on stdout, with or without colours."""

    def setup() -> Sample:
        module = access_log_app("access_log_console")
        module.configure_console_logging(sys.stdout, colors=colors)
        return Sample(module.app, "/boom")

    return setup


def stdlib_setup() -> Sample:
    """access_log_stdlib: every record through a root handler rendering JSON."""
    module = access_log_app("access_log_stdlib")
    handler = module.configure_stdlib_logging(sys.stdout)
    return Sample(module.app, "/boom", handler)


def recipe_setup() -> Sample:
    """recipe_end_to_end: what the recipe's lifespan sets up; the upstream call raises."""
    module = load("recipe_end_to_end")
    handler = module.configure_logging(sys.stdout)
    return Sample(module.create_app(httpx.MockTransport(explode_upstream)), "/orders/7", handler)


def request_id_handler_setup() -> Sample:
    """request_id_logging: its handler on the root logger, writing to stderr as by default."""
    module = load("request_id_logging")
    handler = module.request_id_handler()
    logging.getLogger().addHandler(handler)
    return Sample(module.RequestIDMiddleware(explode_asgi), "/", handler)


def demo_setup() -> Sample:
    """examples/demo.py: what its lifespan sets up; a failing route behind its whole stack."""
    # Executed afresh, so no logger of its stack was bound (and cached) under another test's set-up.
    spec = importlib.util.spec_from_file_location("demo_for_logging", REPO / "examples" / "demo.py")
    assert spec is not None
    assert spec.loader is not None
    module: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.configure_logging()
    module.starlette_app.add_route("/explode", explode)
    return Sample(module.app, "/explode", bearer=module.DEMO_TOKEN)


Setup = Callable[[], Sample]

#: Each file's set-ups, by variant name; a file the scan finds but this table lacks fails.
CASES: dict[str, dict[str, Setup]] = {
    "docs/examples/access_log_json.py": {"": json_setup},
    "docs/examples/access_log_console.py": {
        "no-colors": console_setup(colors=False),
        "colors": console_setup(colors=True),
    },
    "docs/examples/access_log_stdlib.py": {"": stdlib_setup},
    "docs/examples/recipe_end_to_end.py": {"": recipe_setup},
    "docs/examples/request_id_logging.py": {"": request_id_handler_setup},
    "examples/demo.py": {"": demo_setup},
}


def logging_examples() -> dict[str, tuple[str, Setup | None]]:
    """Every set-up of every example file that configures logging, by test ID."""
    files = sorted([*(REPO / "docs" / "examples").glob("*.py"), *(REPO / "examples").glob("*.py")])
    found: dict[str, tuple[str, Setup | None]] = {}
    for path in files:
        if not CONFIGURES_LOGGING.search(path.read_text(encoding="utf-8")):
            continue
        name = path.relative_to(REPO).as_posix()
        setups: dict[str, Setup | None] = {**CASES.get(name, {"": None})}
        for variant, setup in setups.items():
            found[f"{path.stem}-{variant}" if variant else path.stem] = (name, setup)
    return found


EXAMPLES = logging_examples()


@pytest.fixture
def uvicorn_loggers_as_configured_by_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``uvicorn`` loggers as ``log_config=None`` leaves them: propagating, with no handler.

    Set for the test, whatever another test configured in this process before (a framework's or a
    server's logging set-up may give them handlers and stop their propagation).
    """
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "handlers", [])
        monkeypatch.setattr(logger, "propagate", True)
        monkeypatch.setattr(logger, "disabled", False)
        monkeypatch.setattr(logger, "level", logging.NOTSET)


@pytest.mark.usefixtures("uvicorn_loggers_as_configured_by_none")
@pytest.mark.parametrize(("file", "setup"), list(EXAMPLES.values()), ids=list(EXAMPLES))
async def test_failing_request_logs_its_traceback_without_credentials(
    file: str, setup: Setup | None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A raising request is logged with its traceback, and none of its credentials appear."""
    if setup is None:
        pytest.fail(f"{file} configures logging: add its set-up to CASES in this file")
    sample = setup()
    secret_values = {name: secrets.token_hex(16) for name in ("bearer", "session", "key", "token")}
    if sample.bearer is not None:
        secret_values["bearer"] = sample.bearer
    scope = http_scope(
        path=sample.path,
        query_string=f"token={secret_values['token']}".encode(),
        headers=[
            # An address the demo's trusted-host layer allows; the other samples ignore it.
            ("host", "127.0.0.1:8000"),
            ("authorization", f"Bearer {secret_values['bearer']}"),
            ("cookie", f"session={secret_values['session']}"),
            ("x-api-key", secret_values["key"]),
        ],
    )
    exchange = Exchange("http")
    try:
        with pytest.raises(BoomError):
            await served(sample.app)(scope, exchange.receive, exchange.send)
    finally:
        if sample.handler is not None:
            logging.getLogger().removeHandler(sample.handler)

    out, err = capsys.readouterr()
    written = ANSI.sub("", out + err)
    for proof in ("BoomError", MESSAGE, "explode"):
        assert proof in written, f"the traceback is missing from the output:\n{written}"
    assert "could not emit the access-log event" not in written
    # Rich wraps long lines and draws boxes: compare with everything but letters and digits gone.
    squeezed = squeeze(written)
    leaked = {name: squeezed.count(squeeze(value)) for name, value in secret_values.items()}
    assert leaked == dict.fromkeys(secret_values, 0), f"secrets written (times): {leaked}"
