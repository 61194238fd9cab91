"""MetricsMiddleware in raw ASGI: what it records per request and session, and what it forwards."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import anyio
import pytest

from asgi_middleware import ASGIApp, Message, Receive, RequestIDMiddleware, Scope, Send
from asgi_middleware.metrics import (
    CANCELLED,
    DISCONNECTED,
    UNMATCHED_ROUTE,
    HTTPAttributes,
    MetricsMiddleware,
    WebSocketAttributes,
    capture_route,
)
from asgi_middleware.metrics._instruments import KNOWN_METHODS
from asgi_middleware.metrics._route import ROUTING_KEY
from tests.support.asgi import (
    Exchange,
    body,
    http_scope,
    lifespan_scope,
    run,
    start,
    websocket_scope,
)

pytestmark = pytest.mark.anyio


class Recorder:
    """An exporter that keeps every call, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def request_started(self, method: str, scheme: str) -> None:
        self.calls.append(("request_started", method, scheme))

    def request_finished(
        self, attributes: HTTPAttributes, duration: float, request_size: int, response_size: int
    ) -> None:
        assert 0 <= duration < 5
        self.calls.append(("request_finished", attributes, request_size, response_size))

    def session_started(self, scheme: str) -> None:
        self.calls.append(("session_started", scheme))

    def session_finished(self, attributes: WebSocketAttributes, duration: float) -> None:
        assert 0 <= duration < 5
        self.calls.append(("session_finished", attributes))

    @property
    def finished(self) -> HTTPAttributes:
        """The attributes of the one finished request."""
        [attributes] = [call[1] for call in self.calls if call[0] == "request_finished"]
        assert isinstance(attributes, HTTPAttributes)
        return attributes


class Failing(Recorder):
    """An exporter whose every method raises."""

    def request_started(self, method: str, scheme: str) -> None:  # noqa: ARG002
        raise RuntimeError("started")

    def request_finished(self, *args: Any) -> None:  # noqa: ARG002
        raise RuntimeError("finished")


def responder(status: int = 200, chunks: tuple[bytes, ...] = (b"hello",)) -> ASGIApp:
    """An app answering ``status`` with ``chunks`` as a streamed body."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(status, [("content-type", "text/plain")]))
        for index, chunk in enumerate(chunks):
            await send(body(chunk, more_body=index < len(chunks) - 1))

    return app


def attributes(**changes: Any) -> HTTPAttributes:
    """The attributes of a plain GET answered 200, with ``changes``."""
    return HTTPAttributes("GET", "http", "1.1", UNMATCHED_ROUTE, 200, None)._replace(**changes)


async def test_lifespan_passes_through_untouched() -> None:
    """A lifespan scope reaches the app as the very objects the server gave; nothing recorded."""
    seen: list[tuple[Any, ...]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, receive, send))

    recorder = Recorder()
    scope = lifespan_scope()
    exchange = Exchange("lifespan")
    await MetricsMiddleware(app, exporters=recorder)(scope, exchange.receive, exchange.send)
    assert seen == [(scope, exchange.receive, exchange.send)]
    assert recorder.calls == []


@pytest.mark.parametrize("path", ["/metrics", "/metrics/"])
async def test_excluded_path_is_not_measured(path: str) -> None:
    """``/metrics`` and ``/metrics/`` (a mounted metrics_app), excluded by default, pass unrecorded.

    They reach the app with the server's own scope and send.
    """
    seen: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, send))
        await responder()(scope, receive, send)

    recorder = Recorder()
    scope = http_scope(path=path)
    exchange = Exchange("http")
    await MetricsMiddleware(app, exporters=recorder)(scope, exchange.receive, exchange.send)
    assert seen == [(scope, exchange.send)]
    assert recorder.calls == []


@pytest.mark.parametrize("path", ["/metrics/x", "/metricsx", "/api/metrics"])
async def test_the_default_exclusion_is_exact(path: str) -> None:
    """The default patterns are exact: a path below or beside ``/metrics`` is measured."""
    recorder = Recorder()
    await run(MetricsMiddleware(responder(), exporters=recorder), http_scope(path=path))
    assert [call[0] for call in recorder.calls] == ["request_started", "request_finished"]


async def test_request_is_recorded_and_messages_forwarded_unchanged() -> None:
    """A GET is counted active, then finished with its status and body size; messages untouched."""
    sent = [start(200, [("content-type", "text/plain")]), body(b"hel", more_body=True), body(b"lo")]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in sent:
            await send(message)

    recorder = Recorder()
    messages = await run(MetricsMiddleware(app, exporters=[recorder]), http_scope())
    assert messages == sent
    assert all(got is original for got, original in zip(messages, sent, strict=True))
    assert recorder.calls == [
        ("request_started", "GET", "http"),
        ("request_finished", attributes(), 0, 5),
    ]


async def test_scope_is_passed_on_as_given() -> None:
    """With a state dict, the app gets the very scope: the router's keys land where we read."""
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        await responder()(scope, receive, send)

    scope = http_scope()
    await run(MetricsMiddleware(app, exporters=Recorder()), scope)
    assert seen == [scope]
    assert seen[0] is scope


async def test_scope_without_state_gets_one_and_is_not_edited() -> None:
    """A scope without ``state`` is copied with a new one; the server's scope is left as it was."""
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        await responder()(scope, receive, send)

    scope = http_scope()
    del scope["state"]
    before = dict(scope)
    await run(MetricsMiddleware(app, exporters=Recorder()), scope)
    assert scope == before
    assert seen[0]["state"] == {}
    assert seen[0] == {**before, "state": {}}


async def test_request_body_is_counted_from_what_the_app_read() -> None:
    """Request body bytes are those of the ``http.request`` messages the app received."""
    script = [
        {"type": "http.request", "body": b"abc", "more_body": True},
        {"type": "http.request", "body": b"defg", "more_body": False},
    ]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass
        await responder(chunks=(b"",))(scope, receive, send)

    recorder = Recorder()
    await run(MetricsMiddleware(app, exporters=recorder), http_scope("POST"), script)
    assert recorder.calls[-1] == ("request_finished", attributes(method="POST"), 7, 0)


async def test_scheme_and_protocol_version_come_from_the_scope() -> None:
    """``url.scheme`` and ``network.protocol.version`` come from ``scheme`` and ``http_version``."""
    recorder = Recorder()
    scope = http_scope(scheme="https", http_version="2")
    await run(MetricsMiddleware(responder(), exporters=recorder), scope)
    assert recorder.calls[0] == ("request_started", "GET", "https")
    assert recorder.finished == attributes(scheme="https", protocol_version="2")


@pytest.mark.parametrize(
    ("method", "known", "recorded"),
    [
        ("PATCH", None, "PATCH"),
        ("BREW", None, "_OTHER"),
        ("get", None, "_OTHER"),
        ("PURGE", ("GET", "PURGE"), "PURGE"),
        ("POST", ("GET", "PURGE"), "_OTHER"),
    ],
)
async def test_methods_outside_the_known_list_are_other(
    method: str, known: tuple[str, ...] | None, recorded: str
) -> None:
    """Known methods are recorded as sent (case-sensitive); any other as ``_OTHER``."""
    recorder = Recorder()
    methods = KNOWN_METHODS if known is None else known
    app = MetricsMiddleware(responder(), exporters=recorder, known_methods=methods)
    await run(app, http_scope(method))
    assert recorder.calls[0] == ("request_started", recorded, "http")
    assert recorder.finished.method == recorded


async def test_server_error_response_sets_error_type_to_the_status() -> None:
    """A 5xx response is an error: ``error.type`` is its status code."""
    recorder = Recorder()
    await run(MetricsMiddleware(responder(503), exporters=recorder), http_scope())
    assert recorder.finished == attributes(status_code=503, error_type="503")


async def test_client_error_response_is_no_error() -> None:
    """A 4xx response is the client's doing: no ``error.type``."""
    recorder = Recorder()
    await run(MetricsMiddleware(responder(404), exporters=recorder), http_scope())
    assert recorder.finished == attributes(status_code=404)


async def test_exception_before_the_response_is_500_with_its_class() -> None:
    """An exception before the start is status 500, ``error.type`` its class; it propagates."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise LookupError("boom")

    recorder = Recorder()
    with pytest.raises(LookupError, match="boom"):
        await run(MetricsMiddleware(app, exporters=recorder), http_scope())
    assert recorder.finished == attributes(status_code=500, error_type="LookupError")


async def test_exception_after_the_start_keeps_the_status() -> None:
    """An exception mid-body keeps the status sent, with the exception's class as error."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200))
        await send(body(b"par", more_body=True))
        raise ValueError("midway")

    recorder = Recorder()
    with pytest.raises(ValueError, match="midway"):
        await run(MetricsMiddleware(app, exporters=recorder), http_scope())
    assert recorder.calls[-1] == ("request_finished", attributes(error_type="ValueError"), 0, 3)


async def test_cancelled_request_is_499_cancelled() -> None:
    """A request cancelled before any response is 499 with ``error.type`` cancelled, not 500."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await anyio.sleep_forever()

    recorder = Recorder()
    middleware = MetricsMiddleware(app, exporters=recorder)
    exchange = Exchange("http")
    with anyio.move_on_after(0.05):
        await middleware(http_scope(), exchange.receive, exchange.send)
    assert recorder.finished == attributes(status_code=499, error_type=CANCELLED)


async def test_cancelled_after_the_start_keeps_the_status() -> None:
    """A request cancelled mid-body keeps its status, marked cancelled."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200))
        await anyio.sleep_forever()

    recorder = Recorder()
    exchange = Exchange("http")
    with anyio.move_on_after(0.05):
        await MetricsMiddleware(app, exporters=recorder)(
            http_scope(), exchange.receive, exchange.send
        )
    assert recorder.finished == attributes(error_type=CANCELLED)


async def test_client_disconnect_before_the_response_is_499_disconnected() -> None:
    """A client that left before the response is 499 ``disconnected``, however the app ends."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    recorder = Recorder()
    script: list[dict[str, Any]] = [
        {"type": "http.request", "body": b"", "more_body": False},
        {"type": "http.disconnect"},
    ]
    await run(MetricsMiddleware(app, exporters=recorder), http_scope(), script)
    assert recorder.finished == attributes(status_code=499, error_type=DISCONNECTED)


async def test_send_oserror_is_a_disconnect_not_an_app_error() -> None:
    """The ``OSError`` send raises for a gone client is recorded as a disconnect and propagates."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200))
        await send(body(b"x"))

    async def gone(message: Message) -> None:
        if message["type"] == "http.response.body":
            raise ConnectionResetError("gone")

    recorder = Recorder()
    exchange = Exchange("http")
    with pytest.raises(ConnectionResetError):
        await MetricsMiddleware(app, exporters=recorder)(http_scope(), exchange.receive, gone)
    assert recorder.finished == attributes(error_type=DISCONNECTED)


async def test_oserror_of_the_app_is_an_error() -> None:
    """An ``OSError`` the app raised itself (a missing file) is an error of the app's."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise FileNotFoundError("missing")

    recorder = Recorder()
    with pytest.raises(FileNotFoundError):
        await run(MetricsMiddleware(app, exporters=recorder), http_scope())
    assert recorder.finished == attributes(status_code=500, error_type="FileNotFoundError")


async def test_every_exporter_gets_every_measurement() -> None:
    """Several exporters each get the same calls."""
    first, second = Recorder(), Recorder()
    await run(MetricsMiddleware(responder(), exporters=(first, second)), http_scope())
    assert first.calls == second.calls
    assert len(first.calls) == 2


async def test_failing_exporter_is_logged_and_the_others_still_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An exporter that raises never breaks the request; the next exporter still records."""
    recorder = Recorder()
    app = MetricsMiddleware(responder(), exporters=[Failing(), recorder])
    with caplog.at_level(logging.ERROR, logger="asgi_middleware.metrics"):
        messages = await run(app, http_scope())
    assert messages[0]["status"] == 200
    assert [record.getMessage() for record in caplog.records] == [
        "a metrics exporter failed in request_started",
        "a metrics exporter failed in request_finished",
    ]
    assert recorder.finished == attributes()


async def test_failing_session_exporter_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Session recording failures are logged the same way."""

    class FailingSessions(Recorder):
        def session_started(self, scheme: str) -> None:  # noqa: ARG002
            raise RuntimeError("started")

        def session_finished(self, *args: Any) -> None:  # noqa: ARG002
            raise RuntimeError("finished")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "websocket.close", "code": 1000})

    with caplog.at_level(logging.ERROR, logger="asgi_middleware.metrics"):
        await run(MetricsMiddleware(app, exporters=FailingSessions()), websocket_scope())
    assert [record.getMessage() for record in caplog.records] == [
        "a metrics exporter failed in session_started",
        "a metrics exporter failed in session_finished",
    ]


# --- http.route --------------------------------------------------------------------------------


def routed(**keys: Any) -> ASGIApp:
    """An app that writes ``keys`` into its scope, as a router does, then answers 200."""

    async def app(scope: Any, receive: Receive, send: Send) -> None:
        scope.update(keys)
        await responder()(scope, receive, send)

    return app


class Route:
    """A route object as Starlette's: a ``path`` template."""

    def __init__(self, path: str) -> None:
        self.path = path


async def test_route_read_from_the_scope_the_app_routed() -> None:
    """Directly around a router, the route's template is read from the scope it wrote into."""
    recorder = Recorder()
    app = routed(route=Route("/items/{id}"), router=object())
    await run(MetricsMiddleware(app, exporters=recorder), http_scope(path="/items/3"))
    assert recorder.finished.route == "/items/{id}"


async def test_route_through_a_copying_layer_needs_capture_route() -> None:
    """Through a layer that copies the scope the route is lost, unless capture_route keeps it."""
    lost, kept = Recorder(), Recorder()
    inner = routed(path_template="/users/{user_id}", litestar_app=object())
    for recorder, app in ((lost, inner), (kept, capture_route(inner))):
        stack = MetricsMiddleware(RequestIDMiddleware(app), exporters=recorder)
        await run(stack, http_scope(path="/users/7"))
    assert lost.finished.route == UNMATCHED_ROUTE
    assert kept.finished.route == "/users/{user_id}"


async def test_capture_route_works_without_a_server_state() -> None:
    """A scope without ``state`` still gets the route through: the middleware made one."""
    recorder = Recorder()
    scope = http_scope(path="/users/7")
    del scope["state"]
    inner = capture_route(routed(path_template="/users/{user_id}"))
    await run(MetricsMiddleware(RequestIDMiddleware(inner), exporters=recorder), scope)
    assert recorder.finished.route == "/users/{user_id}"


async def test_capture_route_passes_other_scopes_and_stateless_ones_through() -> None:
    """capture_route hands lifespan and state-less scopes to the app as they came."""
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    captured = capture_route(app)
    assert captured.app is app  # type: ignore[attr-defined]
    lifespan = lifespan_scope()
    stateless = http_scope()
    del stateless["state"]
    for scope in (lifespan, stateless):
        exchange = Exchange(scope["type"])
        await captured(scope, exchange.receive, exchange.send)
    assert seen == [lifespan, stateless]
    assert ROUTING_KEY not in lifespan["state"]


async def test_capture_route_keeps_the_route_when_the_app_raises() -> None:
    """The router's keys are kept even when the app raises after routing."""

    async def app(scope: Any, receive: Receive, send: Send) -> None:
        scope["path_template"] = "/boom"
        raise RuntimeError("after routing")

    recorder = Recorder()
    with pytest.raises(RuntimeError):
        await run(MetricsMiddleware(capture_route(app), exporters=recorder), http_scope())
    assert recorder.finished.route == "/boom"


async def test_route_function_supplies_the_template() -> None:
    """``route`` gets the scope the app was given and its answer is the template."""
    seen: list[Scope] = []

    def route(scope: Scope) -> str | None:
        seen.append(scope)
        return "/from/function"

    recorder = Recorder()
    app = routed(path_template="/ignored")
    await run(MetricsMiddleware(app, exporters=recorder, route=route), http_scope())
    assert recorder.finished.route == "/from/function"
    assert seen[0]["path_template"] == "/ignored"


@pytest.mark.parametrize("answer", [None, 42])
async def test_route_function_without_an_answer_falls_back(answer: object) -> None:
    """``None`` (or anything not a str) from ``route`` falls back to the router's keys."""
    recorder = Recorder()
    app = routed(path_template="/from/router")
    middleware = MetricsMiddleware(app, exporters=recorder, route=lambda _: answer)  # type: ignore[arg-type, return-value]
    await run(middleware, http_scope())
    assert recorder.finished.route == "/from/router"


async def test_route_function_that_raises_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A ``route`` that raises is logged; the request is recorded with the router's template."""

    def route(scope: Scope) -> str | None:
        raise KeyError("no route")

    recorder = Recorder()
    app = MetricsMiddleware(routed(path_template="/r"), exporters=recorder, route=route)
    with caplog.at_level(logging.ERROR, logger="asgi_middleware.metrics"):
        await run(app, http_scope())
    assert recorder.finished.route == "/r"
    assert caplog.records[0].getMessage() == "the route function of MetricsMiddleware raised"


async def test_unreadable_route_object_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A route object whose attributes raise is logged and recorded as unmatched."""

    class Broken:
        @property
        def path(self) -> str:
            raise RuntimeError("broken")

    recorder = Recorder()
    app = MetricsMiddleware(routed(route=Broken(), router=object()), exporters=recorder)
    with caplog.at_level(logging.ERROR, logger="asgi_middleware.metrics"):
        await run(app, http_scope())
    assert recorder.finished.route == UNMATCHED_ROUTE
    assert caplog.records[0].getMessage() == "could not read the route template of a request"


async def test_unmatched_route_value_is_configurable() -> None:
    """``unmatched_route`` names the unmatched series; ``None`` leaves the route out."""
    named, absent = Recorder(), Recorder()
    await run(
        MetricsMiddleware(responder(404), exporters=named, unmatched_route="none"), http_scope()
    )
    await run(
        MetricsMiddleware(responder(404), exporters=absent, unmatched_route=None), http_scope()
    )
    assert named.finished.route == "none"
    assert absent.finished.route is None


async def test_missing_router_keys_are_warned_about_once(caplog: pytest.LogCaptureFixture) -> None:
    """With no router's keys in the scope, one warning says how to get routes; then silence."""
    app = MetricsMiddleware(responder(), exporters=Recorder())
    with caplog.at_level(logging.WARNING, logger="asgi_middleware.metrics"):
        await run(app, http_scope())
        await run(app, http_scope())
    [record] = caplog.records
    assert "capture_route()" in record.getMessage()


async def test_refusals_by_outer_layers_are_no_reason_to_warn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 4xx that never reached a router (an outer layer's refusal) has no router keys: silence."""
    app = MetricsMiddleware(responder(401), exporters=Recorder())
    with caplog.at_level(logging.WARNING, logger="asgi_middleware.metrics"):
        await run(app, http_scope())
    assert caplog.records == []


@pytest.mark.parametrize(
    "options",
    [{"route": lambda _: None}, {}],
    ids=["with-route-function", "routed"],
)
async def test_no_warning_when_routes_can_be_known(
    options: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A router that found no route (404), or a route function, is no reason to warn."""
    app = MetricsMiddleware(routed(router=object()), exporters=Recorder(), **options)
    with caplog.at_level(logging.WARNING, logger="asgi_middleware.metrics"):
        await run(app, http_scope())
    assert caplog.records == []


# --- WebSocket --------------------------------------------------------------------------------


def session(*messages: dict[str, Any], error: BaseException | None = None) -> ASGIApp:
    """A WebSocket app that sends ``messages``, then raises ``error`` if given."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        for message in messages:
            await send(message)
        if error is not None:
            raise error

    return app


@pytest.mark.parametrize(
    ("messages", "status"),
    [
        (({"type": "websocket.accept"}, {"type": "websocket.close", "code": 1000}), 101),
        (({"type": "websocket.close", "code": 1008},), 403),
        (
            (
                {"type": "websocket.http.response.start", "status": 401, "headers": []},
                {"type": "websocket.http.response.body", "body": b""},
            ),
            401,
        ),
        ((), 403),
    ],
    ids=["accepted", "closed-before-accept", "denial-response", "returned-without-answer"],
)
async def test_session_status_is_the_handshakes(
    messages: tuple[dict[str, Any], ...], status: int
) -> None:
    """A session is recorded with its handshake's outcome; messages pass unchanged."""
    recorder = Recorder()
    scope = websocket_scope(extensions={"websocket.http.response": {}})
    sent = await run(MetricsMiddleware(session(*messages), exporters=recorder), scope)
    assert sent == list(messages)
    assert recorder.calls == [
        ("session_started", "ws"),
        ("session_finished", WebSocketAttributes("ws", UNMATCHED_ROUTE, status, None)),
    ]


async def test_session_exception_is_recorded_with_its_class() -> None:
    """An exception before accepting is 500 with its class; after accepting, 101 with its class."""
    before, after = Recorder(), Recorder()
    with pytest.raises(OSError, match="x"):
        await run(
            MetricsMiddleware(session(error=OSError("x")), exporters=before), websocket_scope()
        )
    app = MetricsMiddleware(
        session({"type": "websocket.accept"}, error=OSError("y")), exporters=after
    )
    with pytest.raises(OSError, match="y"):
        await run(app, websocket_scope())
    assert before.calls[-1][1] == WebSocketAttributes("ws", UNMATCHED_ROUTE, 500, "OSError")
    assert after.calls[-1][1] == WebSocketAttributes("ws", UNMATCHED_ROUTE, 101, "OSError")


async def test_cancelled_session_is_recorded_as_cancelled() -> None:
    """A session cancelled before accepting is 499 ``cancelled``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await anyio.sleep_forever()

    recorder = Recorder()
    exchange = Exchange("websocket")
    with anyio.move_on_after(0.05):
        await MetricsMiddleware(app, exporters=recorder)(
            websocket_scope(), exchange.receive, exchange.send
        )
    assert recorder.calls[-1][1] == WebSocketAttributes("ws", UNMATCHED_ROUTE, 499, CANCELLED)


async def test_session_route_comes_from_the_router() -> None:
    """A WebSocket route is read like an HTTP one, without a method to check."""

    class WebSocketRoute(Route):
        methods = None

    async def app(scope: Any, receive: Receive, send: Send) -> None:
        scope.update(route=WebSocketRoute("/ws/{room}"), router=object())
        await send({"type": "websocket.close", "code": 1000})

    recorder = Recorder()
    await run(MetricsMiddleware(app, exporters=recorder), websocket_scope("/ws/lobby"))
    assert recorder.calls[-1][1].route == "/ws/{room}"


# --- Options ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"exporters": object()}, TypeError, "exporters must be an exporter"),
        ({"exporters": []}, ValueError, "exporters must be an exporter"),
        ({"exporters": "prometheus"}, TypeError, "exporters must be an exporter"),
        ({"exporters": [Recorder(), object()]}, TypeError, r"exporters\[1\] must be an exporter"),
        ({"route": "/x"}, TypeError, "route must be callable"),
        ({"route": lambda _: None, "exporters": Recorder()}, None, ""),
        ({"unmatched_route": 404}, TypeError, "unmatched_route must be a str or None, got 404"),
        ({"unmatched_route": ""}, ValueError, "unmatched_route must be a non-empty printable"),
        ({"unmatched_route": "a\nb"}, ValueError, "unmatched_route must be a non-empty printable"),
        ({"exclude_paths": "/metrics"}, TypeError, "exclude_paths must be a list"),
        ({"exclude_paths": ["metrics"]}, ValueError, r"exclude_paths\[0\] must be a path"),
        ({"known_methods": ["GET", "NOT A TOKEN"]}, ValueError, r"known_methods\[1\] must be"),
    ],
)
def test_options_are_validated(
    options: dict[str, Any], error: type[Exception] | None, message: str
) -> None:
    """Bad options raise at construction, naming the option and the value."""
    options = {"exporters": Recorder(), **options}
    if error is None:
        MetricsMiddleware(responder(), **options)
        return
    with pytest.raises(error, match=message):
        MetricsMiddleware(responder(), **options)


def test_async_route_function_is_refused() -> None:
    """An ``async def`` route function is refused: its answer would be a coroutine."""

    async def route(scope: Scope) -> str:
        return "/x"

    with pytest.raises(TypeError, match="route must be a plain"):
        MetricsMiddleware(responder(), exporters=Recorder(), route=route)  # type: ignore[arg-type]


def test_compose_role_is_metrics() -> None:
    """The layer's role for compose's order checks is "metrics"."""
    assert MetricsMiddleware._compose_role == "metrics"


def test_import_works_without_the_extras() -> None:
    """``import asgi_middleware.metrics`` imports neither prometheus-client nor OpenTelemetry."""
    code = (
        "import sys\n"
        "import asgi_middleware, asgi_middleware.metrics\n"
        "loaded = sorted(name for name in sys.modules if name.split('.')[0] in "
        "{'prometheus_client', 'opentelemetry'})\n"
        "print(loaded)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert completed.stdout.strip() == "[]"


def test_exporters_name_their_extra_when_it_is_missing() -> None:
    """Without prometheus-client or opentelemetry-api, building an exporter says which extra."""
    code = (
        "import sys\n"
        "sys.modules['prometheus_client'] = None\n"
        "sys.modules['opentelemetry'] = None\n"
        "from asgi_middleware.metrics import OpenTelemetryExporter, PrometheusExporter\n"
        "for exporter in (PrometheusExporter, OpenTelemetryExporter):\n"
        "    try:\n"
        "        exporter()\n"
        "    except ImportError as error:\n"
        "        print(error)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert completed.stdout.splitlines() == [
        (
            "the Prometheus exporter needs prometheus-client: "
            "pip install 'asgi-middleware[prometheus]'"
        ),
        "the OpenTelemetry exporter needs opentelemetry-api: pip install 'asgi-middleware[otel]'",
    ]


def test_attributes_are_tuples_for_keys() -> None:
    """The attributes are hashable tuples, equal to plain tuples of their values."""
    key: Mapping[Any, int] = {attributes(): 1}
    assert key[("GET", "http", "1.1", UNMATCHED_ROUTE, 200, None)] == 1


# --- PrometheusExporter and metrics_app ---------------------------------------------------------

from prometheus_client import CollectorRegistry  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from asgi_middleware.metrics import PrometheusExporter, metrics_app  # noqa: E402
from asgi_middleware.metrics import prometheus as prometheus_module  # noqa: E402

HTTP_LABELS = {
    "http_request_method": "GET",
    "url_scheme": "http",
    "network_protocol_version": "1.1",
    "http_route": UNMATCHED_ROUTE,
    "http_response_status_code": "200",
    "error_type": "",
}


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    """One sample of ``registry``."""
    return registry.get_sample_value(name, labels)


async def test_prometheus_names_labels_and_buckets() -> None:
    """The histograms and gauges have the conventional names, labels and bucket bounds."""
    registry = CollectorRegistry()
    app = MetricsMiddleware(responder(), exporters=PrometheusExporter(registry=registry))
    await run(app, http_scope(), [{"type": "http.request", "body": b"12345", "more_body": False}])
    duration = "http_server_request_duration_seconds"
    assert value(registry, f"{duration}_count", **HTTP_LABELS) == 1
    assert value(registry, f"{duration}_bucket", **HTTP_LABELS, le="10.0") == 1
    bounds = [
        sample.labels["le"]
        for family in registry.collect()
        if family.name == duration
        for sample in family.samples
        if sample.name.endswith("_bucket")
    ]
    assert bounds == [
        "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1.0", "2.5",
        "5.0", "7.5", "10.0", "+Inf",
    ]  # fmt: skip
    # The app read no body (responder never receives): no request size observed.
    assert value(registry, "http_server_request_body_size_bytes_count", **HTTP_LABELS) == 0
    assert value(registry, "http_server_response_body_size_bytes_sum", **HTTP_LABELS) == 5
    assert (
        value(registry, "http_server_response_body_size_bytes_bucket", **HTTP_LABELS, le="256.0")
        == 1
    )
    active = {"http_request_method": "GET", "url_scheme": "http"}
    assert value(registry, "http_server_active_requests", **active) == 0


async def test_prometheus_counts_active_requests_while_they_run() -> None:
    """The active gauge is 1 while a request runs and 0 afterwards."""
    registry = CollectorRegistry()
    during: list[float | None] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        during.append(
            value(
                registry,
                "http_server_active_requests",
                http_request_method="POST",
                url_scheme="http",
            )
        )
        await receive()
        await responder()(scope, receive, send)

    script = [{"type": "http.request", "body": b"abc", "more_body": False}]
    await run(
        MetricsMiddleware(app, exporters=PrometheusExporter(registry=registry)),
        http_scope("POST"),
        script,
    )
    labels = {**HTTP_LABELS, "http_request_method": "POST"}
    assert during == [1]
    assert (
        value(
            registry, "http_server_active_requests", http_request_method="POST", url_scheme="http"
        )
        == 0
    )
    assert value(registry, "http_server_request_body_size_bytes_sum", **labels) == 3


async def test_prometheus_error_label_and_empty_route() -> None:
    """``error.type`` and a left-out route are labels with an empty value when absent."""
    registry = CollectorRegistry()
    app = MetricsMiddleware(
        responder(503), exporters=PrometheusExporter(registry=registry), unmatched_route=None
    )
    await run(app, http_scope())
    labels = {
        **HTTP_LABELS,
        "http_route": "",
        "http_response_status_code": "503",
        "error_type": "503",
    }
    assert value(registry, "http_server_request_duration_seconds_count", **labels) == 1


async def test_prometheus_namespace_and_own_buckets() -> None:
    """``namespace`` prefixes every name; bucket options replace the defaults."""
    registry = CollectorRegistry()
    exporter = PrometheusExporter(
        registry=registry, namespace="shop", duration_buckets=[0.5, 1], size_buckets=[10]
    )
    await run(MetricsMiddleware(responder(), exporters=exporter), http_scope())
    name = "shop_http_server_request_duration_seconds_bucket"
    assert value(registry, name, **HTTP_LABELS, le="1.0") == 1
    assert value(registry, name, **HTTP_LABELS, le="0.005") is None
    assert (
        value(
            registry, "shop_http_server_response_body_size_bytes_bucket", **HTTP_LABELS, le="10.0"
        )
        == 1
    )


def test_two_exporters_in_one_registry_are_refused_with_a_hint() -> None:
    """The same names twice in a registry are refused; another namespace or registry works."""
    registry = CollectorRegistry()
    PrometheusExporter(registry=registry)
    with pytest.raises(
        ValueError, match="already has a metric named http_server_request_duration_seconds"
    ):
        PrometheusExporter(registry=registry)
    PrometheusExporter(registry=registry, namespace="admin")
    PrometheusExporter(registry=CollectorRegistry())


def test_prometheus_exporter_uses_the_default_registry_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without ``registry``, prometheus-client's default REGISTRY holds the instruments."""
    import prometheus_client  # noqa: PLC0415

    registry = CollectorRegistry()
    monkeypatch.setattr(prometheus_client, "REGISTRY", registry)
    assert PrometheusExporter().registry is registry
    assert repr(PrometheusExporter(namespace="x")) == f"PrometheusExporter(registry={registry!r})"


async def test_two_middleware_keep_their_own_instruments() -> None:
    """Two middleware with their own exporters record apart: no class-level cache."""
    first, second = CollectorRegistry(), CollectorRegistry()
    await run(
        MetricsMiddleware(responder(), exporters=PrometheusExporter(registry=first)), http_scope()
    )
    app = MetricsMiddleware(
        responder(404), exporters=PrometheusExporter(registry=second, duration_buckets=[1])
    )
    await run(app, http_scope())
    await run(app, http_scope())
    duration = "http_server_request_duration_seconds_count"
    assert value(first, duration, **HTTP_LABELS) == 1
    assert value(second, duration, **{**HTTP_LABELS, "http_response_status_code": "404"}) == 2
    assert value(second, duration, **HTTP_LABELS) is None


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"namespace": 3}, TypeError, "namespace must be a str, got 3"),
        ({"namespace": "my-app"}, ValueError, "namespace must be empty or a Prometheus name"),
        ({"namespace": "1app"}, ValueError, "namespace must be empty or a Prometheus name"),
        ({"duration_buckets": "1,2"}, TypeError, "duration_buckets must be a non-empty increasing"),
        ({"duration_buckets": [1, "2"]}, TypeError, "duration_buckets must be"),
        ({"duration_buckets": [True]}, TypeError, "duration_buckets must be"),
        ({"size_buckets": []}, ValueError, "size_buckets must be a non-empty increasing"),
        ({"size_buckets": [2, 1]}, ValueError, "size_buckets must be a non-empty increasing"),
        ({"exemplars": 1}, TypeError, "exemplars must be a bool, got 1"),
        (
            {"registry": object()},
            TypeError,
            "registry must be a prometheus_client.CollectorRegistry",
        ),
    ],
)
def test_prometheus_options_are_validated(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Bad exporter options raise at construction, naming the option."""
    with pytest.raises(error, match=message):
        PrometheusExporter(**{"registry": CollectorRegistry(), **options})


def exemplar_of(registry: CollectorRegistry) -> dict[str, str] | None:
    """The labels of the one exemplar on the duration histogram, if any."""
    found = [
        sample.exemplar.labels
        for family in registry.collect()
        if family.name == "http_server_request_duration_seconds"
        for sample in family.samples
        if sample.exemplar is not None
    ]
    assert len(found) <= 1
    return found[0] if found else None


async def test_exemplar_carries_the_request_id() -> None:
    """Inside RequestIDMiddleware, the duration's exemplar is the request ID."""
    registry = CollectorRegistry()
    app = RequestIDMiddleware(
        MetricsMiddleware(responder(), exporters=PrometheusExporter(registry=registry))
    )
    await run(app, http_scope(headers=[("x-request-id", "req-42")]))
    assert exemplar_of(registry) == {"request_id": "req-42"}


async def test_exemplar_carries_the_trace_and_span_ids() -> None:
    """With an OpenTelemetry span current, the exemplar has its trace and span IDs too."""
    from opentelemetry import trace  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415

    registry = CollectorRegistry()
    tracer = TracerProvider().get_tracer("test")
    app = RequestIDMiddleware(
        MetricsMiddleware(responder(), exporters=PrometheusExporter(registry=registry))
    )
    with tracer.start_as_current_span("request") as span:
        await run(app, http_scope(headers=[("x-request-id", "req-42")]))
        context = span.get_span_context()
    assert trace.get_current_span() is trace.INVALID_SPAN
    assert exemplar_of(registry) == {
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "request_id": "req-42",
    }


async def test_long_request_id_is_left_out_of_a_trace_exemplar() -> None:
    """OpenMetrics caps an exemplar at 128 characters: a long request ID is left out then."""
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415

    registry = CollectorRegistry()
    app = RequestIDMiddleware(
        MetricsMiddleware(responder(), exporters=PrometheusExporter(registry=registry))
    )
    with TracerProvider().get_tracer("test").start_as_current_span("request"):
        await run(app, http_scope(headers=[("x-request-id", "r" * 100)]))
    exemplar = exemplar_of(registry)
    assert exemplar is not None
    assert set(exemplar) == {"trace_id", "span_id"}


async def test_no_exemplar_without_ids_or_when_disabled() -> None:
    """No trace and no request ID, or ``exemplars=False``: no exemplar."""
    plain, disabled = CollectorRegistry(), CollectorRegistry()
    await run(
        MetricsMiddleware(responder(), exporters=PrometheusExporter(registry=plain)), http_scope()
    )
    exporter = PrometheusExporter(registry=disabled, exemplars=False)
    await run(RequestIDMiddleware(MetricsMiddleware(responder(), exporters=exporter)), http_scope())
    assert exemplar_of(plain) is None
    assert exemplar_of(disabled) is None


async def test_prometheus_children_past_the_limit_are_looked_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the cache limit each request looks its series up, and is still recorded."""
    monkeypatch.setattr(prometheus_module, "_CHILDREN_LIMIT", 1)
    registry = CollectorRegistry()
    exporter = PrometheusExporter(registry=registry)
    for status in (200, 404, 404):
        await run(MetricsMiddleware(responder(status), exporters=exporter), http_scope("HEAD"))
    for method in ("PUT", "PUT"):
        await run(MetricsMiddleware(responder(), exporters=exporter), http_scope(method))
    duration = "http_server_request_duration_seconds_count"
    assert (
        value(
            registry,
            duration,
            **{**HTTP_LABELS, "http_request_method": "HEAD", "http_response_status_code": "404"},
        )
        == 2
    )
    assert value(registry, duration, **{**HTTP_LABELS, "http_request_method": "PUT"}) == 2
    assert len(exporter._children) == 1
    assert len(exporter._active_children) == 1


async def test_prometheus_sessions() -> None:
    """WebSocket sessions: an open-sessions gauge and a duration histogram by outcome."""
    registry = CollectorRegistry()
    exporter = PrometheusExporter(registry=registry)
    during: list[float | None] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        during.append(value(registry, "asgi_websocket_active_sessions", url_scheme="ws"))
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 1000})

    for _ in range(2):
        await run(MetricsMiddleware(app, exporters=exporter), websocket_scope())
    labels = {
        "url_scheme": "ws",
        "http_route": UNMATCHED_ROUTE,
        "http_response_status_code": "101",
        "error_type": "",
    }
    assert during == [1, 1]
    assert value(registry, "asgi_websocket_active_sessions", url_scheme="ws") == 0
    assert value(registry, "asgi_websocket_session_duration_seconds_count", **labels) == 2


async def scrape(
    app: ASGIApp, method: str = "GET", accept: str | None = None
) -> tuple[list[Message], str]:
    """One request to the metrics app; its messages and its body as text."""
    headers = [] if accept is None else [("accept", accept)]
    messages = await run(app, http_scope(method, "/metrics", headers=headers))
    return messages, b"".join(m.get("body", b"") for m in messages[1:]).decode()


async def test_metrics_app_serves_the_text_format() -> None:
    """GET serves the registry in Prometheus' text format, complete with content-length."""
    registry = CollectorRegistry()
    await run(
        MetricsMiddleware(responder(), exporters=PrometheusExporter(registry=registry)),
        http_scope(),
    )
    messages, text = await scrape(metrics_app(registry))
    headers = dict(messages[0]["headers"])
    assert messages[0]["status"] == 200
    assert headers[b"content-type"] == b"text/plain; version=0.0.4; charset=utf-8"
    assert headers[b"content-length"] == str(len(text.encode())).encode()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert "http_server_request_duration_seconds" in families
    assert repr(metrics_app(registry)) == f"metrics_app({registry!r})"


async def test_metrics_app_serves_openmetrics_with_exemplars_when_asked() -> None:
    """A client asking for OpenMetrics, as Prometheus does, gets it, exemplars included."""
    registry = CollectorRegistry()
    app = RequestIDMiddleware(
        MetricsMiddleware(responder(), exporters=PrometheusExporter(registry=registry))
    )
    await run(app, http_scope(headers=[("x-request-id", "req-7")]))
    accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    messages, text = await scrape(metrics_app(registry), accept=accept)
    assert dict(messages[0]["headers"])[b"content-type"].startswith(b"application/openmetrics-text")
    assert '# {request_id="req-7"}' in text
    assert text.endswith("# EOF\n")


async def test_metrics_app_answers_head_and_refuses_other_methods() -> None:
    """HEAD gets the headers and no body; POST gets a 405 naming GET and HEAD."""
    app = metrics_app(CollectorRegistry())
    head, text = await scrape(app, "HEAD")
    assert head[0]["status"] == 200
    assert text == ""
    post, text = await scrape(app, "POST")
    assert post[0]["status"] == 405
    assert (b"allow", b"GET, HEAD") in post[0]["headers"]
    assert text == "Method Not Allowed"


async def test_metrics_app_falls_back_on_a_malformed_accept() -> None:
    """A malformed OpenMetrics version in Accept gets the text format, never a 500."""
    messages, _ = await scrape(
        metrics_app(CollectorRegistry()), accept="application/openmetrics-text;version=x"
    )
    assert messages[0]["status"] == 200
    assert dict(messages[0]["headers"])[b"content-type"].startswith(b"text/plain")


async def test_metrics_app_refuses_websockets_and_answers_lifespan() -> None:
    """A WebSocket handshake is refused with a 404; lifespan startup and shutdown complete."""
    app = metrics_app(CollectorRegistry())
    denied = await run(app, websocket_scope(extensions={"websocket.http.response": {}}))
    assert denied[0]["status"] == 404
    lifespan = await run(app, lifespan_scope())
    assert [m["type"] for m in lifespan] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


def test_metrics_app_serves_the_default_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a registry, the app serves prometheus-client's default one."""
    import prometheus_client  # noqa: PLC0415

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    registry = CollectorRegistry()
    monkeypatch.setattr(prometheus_client, "REGISTRY", registry)
    assert metrics_app().registry is registry
    with pytest.raises(TypeError, match=r"registry must be a prometheus_client\.CollectorRegistry"):
        metrics_app(object())  # type: ignore[arg-type]


async def test_metrics_app_in_multiprocess_mode_reads_the_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """With PROMETHEUS_MULTIPROC_DIR set, a new registry collects the workers' files."""
    from prometheus_client.multiprocess import MultiProcessCollector  # noqa: PLC0415

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    app = metrics_app()
    collectors = list(app.registry._collector_to_names)
    assert [type(collector) for collector in collectors] == [MultiProcessCollector]
    given = CollectorRegistry()
    assert metrics_app(given).registry is given
    assert [type(c) for c in given._collector_to_names] == [MultiProcessCollector]
    messages, text = await scrape(app)
    assert messages[0]["status"] == 200
    assert text == ""


def test_exemplars_are_off_in_multiprocess_mode(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """prometheus-client keeps no exemplars across processes, so none are made."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert PrometheusExporter(registry=CollectorRegistry())._exemplars is False


# --- OpenTelemetryExporter -----------------------------------------------------------------------

from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402

from asgi_middleware.metrics import OpenTelemetryExporter  # noqa: E402


def otel_metrics(reader: InMemoryMetricReader) -> dict[str, Any]:
    """The collected metrics by name."""
    data = reader.get_metrics_data()
    assert data is not None
    return {
        metric.name: metric
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }


async def test_otel_instruments_units_and_attributes() -> None:
    """The conventions' instruments, units, boundaries and attributes; no value, no attribute."""
    reader = InMemoryMetricReader()
    exporter = OpenTelemetryExporter(meter_provider=MeterProvider(metric_readers=[reader]))
    script = [{"type": "http.request", "body": b"12", "more_body": False}]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await responder()(scope, receive, send)

    await run(MetricsMiddleware(app, exporters=exporter), http_scope("POST"), script)
    metrics = otel_metrics(reader)
    duration = metrics["http.server.request.duration"]
    assert duration.unit == "s"
    [point] = duration.data.data_points
    assert dict(point.attributes) == {
        "http.request.method": "POST",
        "url.scheme": "http",
        "network.protocol.version": "1.1",
        "http.route": UNMATCHED_ROUTE,
        "http.response.status_code": 200,
    }
    assert list(point.explicit_bounds) == [
        0.005,
        0.01,
        0.025,
        0.05,
        0.075,
        0.1,
        0.25,
        0.5,
        0.75,
        1,
        2.5,
        5,
        7.5,
        10,
    ]
    assert metrics["http.server.request.body.size"].unit == "By"
    assert metrics["http.server.request.body.size"].data.data_points[0].sum == 2
    assert metrics["http.server.response.body.size"].data.data_points[0].sum == 5
    active = metrics["http.server.active_requests"]
    assert active.unit == "{request}"
    assert active.data.is_monotonic is False
    assert [(dict(p.attributes), p.value) for p in active.data.data_points] == [
        ({"http.request.method": "POST", "url.scheme": "http"}, 0)
    ]
    assert [m.name for m in (await _scope_of(reader))] == ["asgi_middleware.metrics"]


async def _scope_of(reader: InMemoryMetricReader) -> list[Any]:
    data = reader.get_metrics_data()
    return (
        [scope.scope for resource in data.resource_metrics for scope in resource.scope_metrics]
        if data
        else []
    )


async def test_otel_active_requests_while_running_and_errors() -> None:
    """The active counter reads 1 during a request; a 500 has ``error.type``, no body size."""
    reader = InMemoryMetricReader()
    exporter = OpenTelemetryExporter(meter_provider=MeterProvider(metric_readers=[reader]))
    during: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        during.append(
            [p.value for p in otel_metrics(reader)["http.server.active_requests"].data.data_points]
        )
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await run(MetricsMiddleware(app, exporters=exporter, unmatched_route=None), http_scope())
    metrics = otel_metrics(reader)
    [point] = metrics["http.server.request.duration"].data.data_points
    assert dict(point.attributes)["error.type"] == "RuntimeError"
    assert "http.route" not in point.attributes
    assert "http.server.request.body.size" not in metrics
    assert during == [[1]]


async def test_otel_sessions_and_attribute_cache_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sessions are recorded; past the cache limit attributes are built per request."""
    from asgi_middleware.metrics import otel as otel_module  # noqa: PLC0415

    monkeypatch.setattr(otel_module, "_ATTRIBUTES_LIMIT", 0)
    reader = InMemoryMetricReader()
    exporter = OpenTelemetryExporter(meter_provider=MeterProvider(metric_readers=[reader]))
    await run(
        MetricsMiddleware(
            session({"type": "websocket.accept"}, {"type": "websocket.close"}), exporters=exporter
        ),
        websocket_scope(),
    )
    await run(MetricsMiddleware(responder(), exporters=exporter), http_scope())
    metrics = otel_metrics(reader)
    [point] = metrics["asgi.websocket.session.duration"].data.data_points
    assert dict(point.attributes) == {
        "url.scheme": "ws",
        "http.route": UNMATCHED_ROUTE,
        "http.response.status_code": 101,
    }
    assert [p.value for p in metrics["asgi.websocket.active_sessions"].data.data_points] == [0]
    assert exporter._attributes == {}
    assert exporter._session_attributes == {}


def test_otel_global_provider_and_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a provider the global one is used; bad options are refused."""
    from opentelemetry import metrics  # noqa: PLC0415

    asked: list[Any] = []

    def get_meter(*args: Any) -> Any:
        asked.append(args)
        return metrics.NoOpMeter("x")

    monkeypatch.setattr(metrics, "get_meter", get_meter)
    OpenTelemetryExporter()
    assert asked[0][0] == "asgi_middleware.metrics"
    assert asked[0][2] is None
    with pytest.raises(TypeError, match="meter_provider must be a MeterProvider or None"):
        OpenTelemetryExporter(meter_provider=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="duration_buckets must be a non-empty increasing"):
        OpenTelemetryExporter(duration_buckets=[])


async def test_otel_series_are_reused_for_repeated_attributes() -> None:
    """Repeated requests and sessions land in one series each."""
    reader = InMemoryMetricReader()
    exporter = OpenTelemetryExporter(meter_provider=MeterProvider(metric_readers=[reader]))
    ws = session({"type": "websocket.accept"}, {"type": "websocket.close"})
    for _ in range(2):
        await run(MetricsMiddleware(responder(), exporters=exporter), http_scope())
        await run(MetricsMiddleware(ws, exporters=exporter), websocket_scope())
    metrics = otel_metrics(reader)
    assert [p.count for p in metrics["http.server.request.duration"].data.data_points] == [2]
    assert [p.count for p in metrics["asgi.websocket.session.duration"].data.data_points] == [2]
    assert len(exporter._attributes) == len(exporter._session_attributes) == 1


async def test_prometheus_session_series_past_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the cache limit a session's series is looked up each time, still recorded."""
    monkeypatch.setattr(prometheus_module, "_CHILDREN_LIMIT", 0)
    registry = CollectorRegistry()
    exporter = PrometheusExporter(registry=registry)
    app = MetricsMiddleware(session({"type": "websocket.close"}), exporters=exporter)
    await run(app, websocket_scope())
    await run(app, websocket_scope())
    labels = {
        "url_scheme": "ws",
        "http_route": UNMATCHED_ROUTE,
        "http_response_status_code": "403",
        "error_type": "",
    }
    assert value(registry, "asgi_websocket_session_duration_seconds_count", **labels) == 2
    assert exporter._session_children == {}


async def test_exemplar_without_opentelemetry_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """An app that never imported OpenTelemetry still gets request-ID exemplars."""
    monkeypatch.delitem(sys.modules, "opentelemetry.trace", raising=False)
    registry = CollectorRegistry()
    app = RequestIDMiddleware(
        MetricsMiddleware(responder(), exporters=PrometheusExporter(registry=registry))
    )
    await run(app, http_scope(headers=[("x-request-id", "req-1")]))
    assert exemplar_of(registry) == {"request_id": "req-1"}


async def test_metrics_app_ignores_unknown_scope_types() -> None:
    """A scope type the app does not know gets no answer."""
    exchange = Exchange("custom")
    await metrics_app(CollectorRegistry())({"type": "custom"}, exchange.receive, exchange.send)
    assert exchange.sent == []


async def test_session_status_is_the_first_handshake_message() -> None:
    """Messages before the handshake's answer (an extension) leave the status to that answer."""
    recorder = Recorder()
    app = session(
        {"type": "websocket.debug"}, {"type": "websocket.accept"}, {"type": "websocket.close"}
    )
    await run(MetricsMiddleware(app, exporters=recorder), websocket_scope())
    assert recorder.calls[-1][1].status_code == 101
