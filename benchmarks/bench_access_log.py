"""Access-log scenarios: one JSON event per request; ours next to asgi-logger, a recipe, the floor.

The recipe is the usual structlog ``BaseHTTPMiddleware`` one; the floor is
`benchmarks.floor.FloorAccessLog`, which writes the same fields as ours and nothing else. All rows
render with the same structlog processors.

Nothing here configures structlog globally: each row gets its own logger built with
``structlog.wrap_logger`` (or, for asgi-logger, a stdlib logger whose handler renders through
structlog's ``ProcessorFormatter`` with the same processors) writing into its own counting sink,
which discards the text after keeping the last line for the check.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from asgi_logger.middleware import AccessLoggerMiddleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response

from asgi_middleware import AccessLogMiddleware
from benchmarks.checks import parse_response
from benchmarks.common import NO_BODY, OK_APP, OK_BODY, http_scope
from benchmarks.floor import FloorAccessLog
from benchmarks.floor_rules import RULES, RulesAccessLog
from benchmarks.model import ASGIApp, Check, Factory, Message, Scenario, Variant

#: The processors every row renders with: contextvars, level, ISO timestamp, JSON.
PROCESSORS: tuple[Any, ...] = (
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.JSONRenderer(),
)


class Sink:
    """A structlog output logger (and stdlib stream) that counts lines and keeps the last."""

    def __init__(self) -> None:
        self.count = 0
        self.checked = 0
        self.last = ""

    def msg(self, message: str) -> None:
        """Take one rendered event."""
        self.count += 1
        self.last = message

    debug = info = warning = error = critical = msg


def structlog_logger(sink: Sink) -> Any:
    """A bound structlog logger rendering ``PROCESSORS`` into ``sink``, filtering below INFO."""
    return structlog.wrap_logger(
        sink,
        processors=list(PROCESSORS),
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    ).bind()


class _SinkHandler(logging.Handler):
    def __init__(self, sink: Sink) -> None:
        super().__init__(logging.INFO)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.msg(self.format(record))


def stdlib_logger(sink: Sink) -> logging.Logger:
    """A stdlib logger (not registered globally) whose handler renders with ``PROCESSORS``."""
    # A private logger, outside logging's registry: nothing global is configured here.
    logger = logging.Logger("bench.access", logging.INFO)  # noqa: LOG001
    handler = _SinkHandler(sink)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=list(PROCESSORS[:-1]),
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, PROCESSORS[-1]],
        )
    )
    logger.addHandler(handler)
    logger.propagate = False
    return logger


class StructlogRecipeMiddleware(BaseHTTPMiddleware):
    """The access logger users copy from blog posts: ``BaseHTTPMiddleware`` plus structlog.

    Written for this benchmark (not copied): clear and bind the request's context, time the
    call, log one event with the request and response fields in ``finally``.
    """

    def __init__(self, app: ASGIApp, logger: Any) -> None:
        super().__init__(app)
        self.logger = logger

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Time the request and log one event for it."""
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(method=request.method, path=request.url.path)
        start = time.perf_counter_ns()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            client = request.client
            self.logger.info(
                "http_request",
                status=status,
                query=request.url.query,
                duration_ms=round((time.perf_counter_ns() - start) / 1e6, 3),
                client=f"{client.host}:{client.port}" if client else None,
                http_version=request.scope["http_version"],
                user_agent=request.headers.get("user-agent"),
            )


def _one_event(sink: Sink, *, needle: str) -> Check:
    def check(messages: list[Message]) -> None:
        response = parse_response(messages)
        if response.status != 200 or response.body != OK_BODY:
            msg = f"status {response.status} or body changed"
            raise AssertionError(msg)
        emitted, sink.checked = sink.count - sink.checked, sink.count
        if emitted != 1:
            msg = f"expected exactly one log event for the request, got {emitted}"
            raise AssertionError(msg)
        event = json.loads(sink.last)
        if needle not in json.dumps(event):
            msg = f"the event lacks {needle!r}: {sink.last}"
            raise AssertionError(msg)

    return check


def _drive(coroutine: Awaitable[None]) -> None:
    # Our middleware around an app that never waits finishes on the first step: no event loop
    # is needed, so this also works while the harness's loop is running.
    step = coroutine.__await__()
    try:
        next(step)
    except StopIteration:
        return
    msg = "the request waited for something; expected it to finish in one step"
    raise RuntimeError(msg)


@functools.cache
def our_event_fields() -> frozenset[str]:
    """The keys of the event our access log writes for a plain GET, as rendered by ``PROCESSORS``.

    Found by serving one request, so a field added to ours shows up here, and the floor's check
    (`same_fields`) then fails until `benchmarks.floor.FloorAccessLog` writes it too.
    """
    sink = Sink()
    scope = _scope()
    messages = iter((*NO_BODY, {"type": "http.disconnect"}))

    async def receive() -> Message:
        return dict(next(messages))

    async def send(message: Message) -> None:
        pass

    _drive(AccessLogMiddleware(OK_APP, logger=structlog_logger(sink))(scope, receive, send))
    return frozenset(json.loads(sink.last))


def same_fields(event: dict[str, Any]) -> None:
    """Fail unless ``event`` has exactly the keys of our access log's event.

    Args:
        event: A parsed JSON access-log event.

    Raises:
        AssertionError: Naming the missing and the extra keys.
    """
    ours = our_event_fields()
    if set(event) != ours:
        missing, extra = sorted(ours - set(event)), sorted(set(event) - ours)
        msg = (
            f"the event's fields differ from ours (missing {missing}, extra {extra}); "
            "the floor must write what AccessLogMiddleware writes (benchmarks/floor.py)"
        )
        raise AssertionError(msg)


def _variant(
    name: str, build: Callable[[ASGIApp, Sink], ASGIApp], needle: str, *, fields: bool = False
) -> Variant:
    sink = Sink()

    def factory(app: ASGIApp) -> ASGIApp:
        return build(app, sink)

    built: Factory = factory
    one_event = _one_event(sink, needle=needle)
    if not fields:
        return Variant(name, built, one_event)

    def check(messages: list[Message]) -> None:
        one_event(messages)
        same_fields(json.loads(sink.last))

    return Variant(name, built, check)


def _bare_check(messages: list[Message]) -> None:
    if parse_response(messages).body != OK_BODY:
        msg = "the bare app must answer its body"
        raise AssertionError(msg)


def _scope() -> dict[str, Any]:
    scope = dict(http_scope("GET", "/api/items", ()))
    scope["query_string"] = b"page=2&per_page=50"
    return scope


def _scenario(name: str, reference: str, variants: tuple[Variant, ...]) -> Scenario:
    return Scenario(
        name=name,
        description=f"GET with a query: one JSON access-log event per request, vs {reference}",
        app=OK_APP,
        scope=_scope(),
        request=NO_BODY,
        bare_check=_bare_check,
        reference=reference,
        variants=variants,
    )


def _asgi_logger() -> Variant:
    return _variant(
        "asgi-logger",
        lambda app, sink: AccessLoggerMiddleware(app, logger=stdlib_logger(sink)),
        "200 OK",
    )


def _recipe() -> Variant:
    return _variant(
        "structlog-recipe",
        lambda app, sink: StructlogRecipeMiddleware(app, structlog_logger(sink)),
        '"status": 200',
    )


def _ours() -> Variant:
    return _variant(
        "asgi-middleware",
        lambda app, sink: AccessLogMiddleware(app, logger=structlog_logger(sink)),
        '"status": 200',
        fields=True,
    )


def _floor() -> Variant:
    variant = _variant(
        "floor",
        lambda app, sink: FloorAccessLog(app, structlog_logger(sink)),
        '"status": 200',
        fields=True,
    )
    return Variant(variant.name, variant.factory, variant.check, "hand-written, same fields")


def _floor_rules() -> Variant:
    variant = _variant(
        "floor+rules",
        lambda app, sink: RulesAccessLog(app, structlog_logger(sink), RULES),
        '"status": 200',
        fields=True,
    )
    note = "the floor following the SPEC's rules (benchmarks/floor_rules.py)"
    return Variant(variant.name, variant.factory, variant.check, note)


SCENARIOS: tuple[Scenario, ...] = (
    _scenario("access-log-json", "asgi-logger", (_asgi_logger(), _ours())),
    _scenario("access-log-json-recipe", "structlog-recipe", (_recipe(), _ours())),
    # The floor as the reference: how much ours costs over a class that writes the same event,
    # and what the same class costs once it follows the SPEC's rules.
    _scenario("access-log-json-floor", "floor", (_floor(), _floor_rules(), _ours())),
)
