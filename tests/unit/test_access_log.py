"""AccessLogMiddleware in raw ASGI: one event per request or session, its fields and levels."""

from __future__ import annotations

import builtins
import copy
import importlib
import logging
import re
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
import structlog
from structlog.testing import LogCapture

from asgi_middleware import (
    AccessLogMiddleware,
    ASGIApp,
    Receive,
    RequestIDMiddleware,
    Scope,
    Send,
    compose,
)
from asgi_middleware.access_log import HTTP_EVENT, WEBSOCKET_EVENT
from tests.support.asgi import Exchange, body, http_scope, run, start, websocket_scope

# Built in since Python 3.11; before, the backport anyio depends on (mypy checks as 3.10).
GroupType: Any = (
    getattr(builtins, "BaseExceptionGroup", None)
    or importlib.import_module("exceptiongroup").BaseExceptionGroup
)


pytestmark = pytest.mark.anyio


def responder(status: int = 200, chunks: tuple[bytes, ...] = (b"hello",)) -> ASGIApp:
    """An app answering ``status`` with ``chunks`` as a streamed body."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(status, [("content-type", "text/plain")]))
        for index, chunk in enumerate(chunks):
            await send(body(chunk, more_body=index < len(chunks) - 1))

    return app


def only_event(capture: LogCapture) -> dict[str, Any]:
    """The one event captured, without the (variable) durations."""
    assert len(capture.entries) == 1, capture.entries
    event = dict(capture.entries[0])
    assert isinstance(event.pop("duration_ms"), float)
    return event


async def test_one_event_with_the_documented_fields(logger: Any, capture: LogCapture) -> None:
    """A request produces one ``http_request`` event with every documented field."""
    scope = http_scope(
        "POST",
        "/items",
        query_string=b"page=2",
        headers=[("user-agent", "curl/8.5"), ("host", "api.example")],
        http_version="2",
    )
    await run(AccessLogMiddleware(responder(201), logger=logger), scope)

    event = only_event(capture)
    assert isinstance(event.pop("ttfb_ms"), float)
    assert event == {
        "event": HTTP_EVENT,
        "log_level": "info",
        "method": "POST",
        "path": "/items",
        "query": "page=2",
        "status": 201,
        "bytes_sent": 5,
        "client": "127.0.0.1:51000",
        "http_version": "2",
        "user_agent": "curl/8.5",
        "request_id": None,
        "disconnected": False,
        "cancelled": False,
    }


async def test_event_comes_after_the_last_body_byte(logger: Any, capture: LogCapture) -> None:
    """The event is emitted once the final body message was sent, not before."""
    order: list[str] = []
    exchange = Exchange("http")

    async def server_send(message: Any) -> None:
        await exchange.send(message)
        order.append(f"{message['type']}:{len(capture.entries)}")

    app = AccessLogMiddleware(responder(200, (b"a", b"bb", b"ccc")), logger=logger)
    await app(http_scope(), exchange.receive, server_send)

    assert order == [
        "http.response.start:0",
        "http.response.body:0",
        "http.response.body:0",
        "http.response.body:0",
    ]
    assert only_event(capture)["bytes_sent"] == 6


async def test_event_waits_for_the_app_but_times_the_response(
    logger: Any, capture: LogCapture
) -> None:
    """Work after the last byte (background tasks) comes before the event, not in duration_ms."""
    seen: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200))
        await send(body(b"done"))
        await anyio.sleep(0.2)
        seen.append(len(capture.entries))

    await run(AccessLogMiddleware(app, logger=logger), http_scope())

    assert seen == [0]
    assert only_event(capture)["status"] == 200
    assert capture.entries[0]["duration_ms"] < 200


async def test_durations_are_measured_from_the_call(logger: Any, capture: LogCapture) -> None:
    """ttfb_ms is at most duration_ms, both non-negative milliseconds."""
    await run(AccessLogMiddleware(responder(), logger=logger), http_scope())

    event = capture.entries[0]
    assert 0 <= event["ttfb_ms"] <= event["duration_ms"]


async def test_messages_are_forwarded_unchanged(logger: Any) -> None:
    """The app's messages reach the server as the very same objects, in order."""
    messages = [start(200, [("content-type", "text/plain")]), body(b"a", more_body=True), body()]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)

    sent = await run(AccessLogMiddleware(app, logger=logger), http_scope())

    assert sent == messages
    assert all(a is b for a, b in zip(sent, messages, strict=True))


@pytest.mark.parametrize(
    ("status", "levels", "level"),
    [
        (101, None, "info"),
        (200, None, "info"),
        (304, None, "info"),
        (404, None, "warning"),
        (499, None, "warning"),
        (500, None, "error"),
        (503, None, "error"),
        (404, {"4xx": "info"}, "info"),
        (200, {"2xx": "debug"}, "debug"),
        (500, {"5xx": "critical"}, "critical"),
        (302, {"3xx": "warning"}, "warning"),
    ],
)
async def test_level_by_status(
    status: int, levels: dict[str, str] | None, level: str, logger: Any, capture: LogCapture
) -> None:
    """5xx logs at error, 4xx at warning, the rest at info; ``levels`` overrides per class."""
    middleware = AccessLogMiddleware(responder(status), logger=logger, levels=levels)
    await run(middleware, http_scope())

    assert capture.entries[0]["log_level"] == level
    assert capture.entries[0]["status"] == status


async def test_exception_before_the_response(logger: Any, capture: LogCapture) -> None:
    """An exception before any response is logged once as status 500 with it, then re-raised."""
    error = RuntimeError("boom")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise error

    with pytest.raises(RuntimeError) as caught:
        await run(AccessLogMiddleware(app, logger=logger), http_scope())

    assert caught.value is error
    event = only_event(capture)
    assert event["status"] == 500
    assert event["log_level"] == "error"
    assert event["exc_info"] is error
    assert event["ttfb_ms"] is None
    assert event["bytes_sent"] == 0


async def test_exception_after_a_200_keeps_the_200(logger: Any, capture: LogCapture) -> None:
    """A response already started as 200 is never relabelled 500; the error is still logged."""
    error = ValueError("mid-stream")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200))
        await send(body(b"part", more_body=True))
        raise error

    with pytest.raises(ValueError, match="mid-stream"):
        await run(AccessLogMiddleware(app, logger=logger), http_scope(), validate=False)

    event = only_event(capture)
    assert event["status"] == 200
    assert event["exc_info"] is error
    assert event["log_level"] == "error"
    assert event["bytes_sent"] == 4


async def test_exception_after_the_response_is_in_the_event(
    logger: Any, capture: LogCapture
) -> None:
    """An error after the last byte (a background task, a re-raise) joins the one event."""
    error = KeyError("background")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(201))
        await send(body(b"ok"))
        raise error

    with pytest.raises(KeyError):
        await run(AccessLogMiddleware(app, logger=logger), http_scope())

    event = only_event(capture)
    assert (event["status"], event["exc_info"], event["bytes_sent"]) == (201, error, 2)


async def test_client_disconnect_before_the_response(logger: Any, capture: LogCapture) -> None:
    """A client gone before any response is recorded: ``disconnected`` and status 499."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    script: list[dict[str, Any]] = [
        {"type": "http.request", "body": b"", "more_body": True},
        {"type": "http.disconnect"},
    ]
    await run(AccessLogMiddleware(app, logger=logger), http_scope(), script)

    event = only_event(capture)
    assert event["disconnected"] is True
    assert event["status"] == 499
    assert event["log_level"] == "warning"


async def test_client_disconnect_mid_stream(logger: Any, capture: LogCapture) -> None:
    """A disconnect during a streamed body keeps the status and records the bytes sent."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200))
        await send(body(b"first", more_body=True))
        assert (await receive())["type"] == "http.disconnect"

    await run(AccessLogMiddleware(app, logger=logger), http_scope(), [{"type": "http.disconnect"}])

    event = only_event(capture)
    assert (event["status"], event["bytes_sent"], event["disconnected"]) == (200, 5, True)


async def test_disconnect_after_the_response_is_not_a_client_disconnect(
    logger: Any, capture: LogCapture
) -> None:
    """The disconnect a server reports after a complete response is not counted."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send(start(200))
        await send(body(b"ok"))
        assert (await receive())["type"] == "http.disconnect"

    await run(AccessLogMiddleware(app, logger=logger), http_scope())

    assert only_event(capture)["disconnected"] is False


async def test_oserror_from_send_is_a_disconnect(logger: Any, capture: LogCapture) -> None:
    """The OSError a server raises from send for a gone client is recorded as a disconnect."""
    gone = OSError("client went away")

    async def server_send(message: Any) -> None:
        if message["type"] == "http.response.body":
            raise gone

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    with pytest.raises(OSError, match="went away"):
        await AccessLogMiddleware(responder(), logger=logger)(http_scope(), receive, server_send)

    event = only_event(capture)
    assert event["disconnected"] is True
    assert event["status"] == 200
    assert "exc_info" not in event


async def test_app_returning_without_a_response(logger: Any, capture: LogCapture) -> None:
    """An app that returns without responding is logged as the server's 500."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        return

    await run(AccessLogMiddleware(app, logger=logger), http_scope())

    assert only_event(capture)["status"] == 500


def cancelled_app(cancel_scope: anyio.CancelScope, *messages: dict[str, Any]) -> ASGIApp:
    """An app that sends ``messages``, then waits and is cancelled from outside (by a server)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)
        cancel_scope.cancel()
        await anyio.sleep_forever()

    return app


async def serve_cancelled(app: ASGIApp, cancel_scope: anyio.CancelScope, scope: Scope) -> None:
    """Call ``app`` inside ``cancel_scope`` and check the cancellation came out of it."""
    exchange = Exchange(scope["type"], validate=False)
    with cancel_scope:
        await app(scope, exchange.receive, exchange.send)
        pytest.fail("the cancellation was swallowed")
    assert cancel_scope.cancelled_caught


async def test_cancelled_before_the_response_is_499_not_an_error(
    logger: Any, capture: LogCapture
) -> None:
    """A request cancelled before responding: status 499, ``cancelled``, warning, propagated."""
    cancel_scope = anyio.CancelScope()
    app = AccessLogMiddleware(cancelled_app(cancel_scope), logger=logger)
    await serve_cancelled(app, cancel_scope, http_scope())

    event = only_event(capture)
    assert (event["status"], event["log_level"], event["ttfb_ms"]) == (499, "warning", None)
    assert "exc_info" not in event
    assert event["cancelled"] is True


async def test_cancelled_mid_stream_keeps_the_status(logger: Any, capture: LogCapture) -> None:
    """A stream cancelled half-way keeps its 200, with ``cancelled`` at the 4xx level."""
    cancel_scope = anyio.CancelScope()
    inner = cancelled_app(cancel_scope, start(200), body(b"part", more_body=True))
    await serve_cancelled(AccessLogMiddleware(inner, logger=logger), cancel_scope, http_scope())

    event = only_event(capture)
    assert (event["status"], event["bytes_sent"], event["log_level"]) == (200, 4, "warning")
    assert "exc_info" not in event
    assert event["cancelled"] is True


async def test_cancelled_after_a_complete_response_logs_its_status(
    logger: Any, capture: LogCapture
) -> None:
    """Cancelled after the last byte (background work): the response's own level, ``cancelled``."""
    cancel_scope = anyio.CancelScope()
    inner = cancelled_app(cancel_scope, start(200), body(b"done"))
    await serve_cancelled(AccessLogMiddleware(inner, logger=logger), cancel_scope, http_scope())

    event = only_event(capture)
    assert (event["status"], event["cancelled"], event["log_level"]) == (200, True, "info")


async def test_cancelled_task_group_is_a_cancellation(logger: Any, capture: LogCapture) -> None:
    """A group holding only cancellations (a trio nursery cancelled whole) is one too."""
    cancel_scope = anyio.CancelScope()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        cancel_scope.cancel()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class() as cancelled:
            raise GroupType("nursery", [cancelled, copy.copy(cancelled)]) from None

    await serve_cancelled(AccessLogMiddleware(app, logger=logger), cancel_scope, http_scope())

    event = only_event(capture)
    assert (event["status"], event["log_level"]) == (499, "warning")
    assert event["cancelled"] is True


async def test_error_beside_a_cancellation_is_logged_as_the_error(
    logger: Any, capture: LogCapture
) -> None:
    """A group with an app error besides the cancellation is a failure: 500 with the group."""
    cancel_scope = anyio.CancelScope()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        cancel_scope.cancel()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class() as cancelled:
            raise GroupType("nursery", [cancelled, RuntimeError("boom")]) from None

    exchange = Exchange("http")
    # The cancel scope takes its own cancellation out of the group and lets the rest through.
    with pytest.raises(GroupType) as caught, cancel_scope:
        await AccessLogMiddleware(app, logger=logger)(http_scope(), exchange.receive, exchange.send)

    event = only_event(capture)
    assert (event["status"], event["log_level"]) == (500, "error")
    [error] = caught.value.exceptions
    assert isinstance(error, RuntimeError)
    assert error in event["exc_info"].exceptions
    assert event["cancelled"] is False


async def test_cancelled_on_an_excluded_path_is_not_logged(
    logger: Any, capture: LogCapture
) -> None:
    """A cancellation is no failure: an excluded path stays out of the log."""
    cancel_scope = anyio.CancelScope()
    app = AccessLogMiddleware(cancelled_app(cancel_scope), logger=logger, exclude_paths=["/poll"])
    await serve_cancelled(app, cancel_scope, http_scope(path="/poll"))

    assert capture.entries == []


@pytest.mark.parametrize(
    ("messages", "status", "level"),
    [
        ([], 499, "warning"),
        ([{"type": "websocket.accept"}], 101, "warning"),
        ([{"type": "websocket.accept"}, {"type": "websocket.close", "code": 1000}], 101, "info"),
    ],
    ids=["before-accept", "accepted", "closed"],
)
async def test_websocket_cancelled(
    messages: list[dict[str, Any]], status: int, level: str, logger: Any, capture: LogCapture
) -> None:
    """A cancelled session: ``cancelled``, 499 before accept, 4xx level unless it had closed."""
    cancel_scope = anyio.CancelScope()
    app = AccessLogMiddleware(cancelled_app(cancel_scope, *messages), logger=logger)
    await serve_cancelled(app, cancel_scope, websocket_scope())

    event = only_event(capture)
    assert (event["status"], event["log_level"]) == (status, level)
    assert "exc_info" not in event
    assert event["cancelled"] is True


@pytest.mark.parametrize(
    ("disconnect_after", "disconnected"),
    [(1, True), (2, True), (3, False)],
)
async def test_trailers_end_the_response(
    disconnect_after: int, disconnected: bool, logger: Any, capture: LogCapture
) -> None:
    """With trailers announced, the response ends with the final trailers, not the body."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        messages: list[dict[str, Any]] = [
            start(200, trailers=True),
            body(b"data"),
            {"type": "http.response.trailers", "headers": [], "more_trailers": True},
            {"type": "http.response.trailers", "headers": [(b"x-sum", b"1")]},
        ]
        for index, message in enumerate(messages):
            await send(message)
            if index == disconnect_after:
                await receive()

    scope = http_scope(extensions={"http.response.trailers": {}})
    script: list[dict[str, Any]] = [{"type": "http.disconnect"}]
    await run(AccessLogMiddleware(app, logger=logger), scope, script, validate=False)

    assert only_event(capture)["disconnected"] is disconnected


async def test_pathsend_ends_the_response(logger: Any, capture: LogCapture) -> None:
    """``http.response.pathsend`` is the final message: a later disconnect is not counted."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200))
        await send({"type": "http.response.pathsend", "path": "/srv/file"})
        await receive()

    scope = http_scope(extensions={"http.response.pathsend": {}})
    await run(AccessLogMiddleware(app, logger=logger), scope, [{"type": "http.disconnect"}])

    event = only_event(capture)
    assert (event["bytes_sent"], event["disconnected"]) == (0, False)


@pytest.mark.parametrize(
    ("query", "logged"),
    [
        (b"", ""),
        (b"page=2&sort=name", "page=2&sort=name"),
        (b"token=abc&page=2", "token=[redacted]&page=2"),
        (b"PASSWORD=x", "PASSWORD=[redacted]"),
        (b"api%5Fkey=x&q=1", "api%5Fkey=[redacted]&q=1"),
        (b"client+secret=x", "client+secret=x"),
        (b"secret", "secret"),
        (
            b"a=1&access_token=t&refresh_token=r",
            "a=1&access_token=[redacted]&refresh_token=[redacted]",
        ),
        (b"q=%0Aforged", "q=%0Aforged"),
        (b"q=\nforged", "q=\\nforged"),
    ],
)
async def test_query_redaction(query: bytes, logged: str, logger: Any, capture: LogCapture) -> None:
    """Sensitive query parameters are redacted by name, case-insensitively, percent-decoded."""
    await run(AccessLogMiddleware(responder(), logger=logger), http_scope(query_string=query))

    assert capture.entries[0]["query"] == logged


async def test_query_redaction_is_configurable(logger: Any, capture: LogCapture) -> None:
    """``redact_query_params`` replaces the default list; an empty list logs the raw query."""
    middleware = AccessLogMiddleware(responder(), logger=logger, redact_query_params=["Email"])
    await run(middleware, http_scope(query_string=b"email=a@b&token=t"))
    plain = AccessLogMiddleware(responder(), logger=logger, redact_query_params=[])
    await run(plain, http_scope(query_string=b"token=t"))

    assert [entry["query"] for entry in capture.entries] == ["email=[redacted]&token=t", "token=t"]


async def test_headers_are_not_logged_by_default(logger: Any, capture: LogCapture) -> None:
    """Without ``log_headers`` the event has no header fields at all."""
    scope = http_scope(headers=[("authorization", "Bearer secret")])
    await run(AccessLogMiddleware(responder(), logger=logger), scope)

    assert "request_headers" not in capture.entries[0]
    assert "Bearer secret" not in repr(capture.entries)


async def test_logged_headers_are_redacted(logger: Any, capture: LogCapture) -> None:
    """With ``log_headers`` both header sets are logged, credentials redacted in any case."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200, [("Set-Cookie", "sid=1"), ("Set-Cookie", "t=2"), ("X-App", "a")]))
        await send(body())

    scope = http_scope(
        headers=[
            ("Authorization", "Bearer secret"),
            ("cookie", "sid=1"),
            ("x-api-key", "k"),
            ("accept", "text/html"),
            ("accept", "application/json"),
        ]
    )
    await run(AccessLogMiddleware(app, logger=logger, log_headers=True), scope, validate=False)

    event = capture.entries[0]
    assert event["request_headers"] == {
        "authorization": "[redacted]",
        "cookie": "[redacted]",
        "x-api-key": "[redacted]",
        "accept": "text/html, application/json",
    }
    assert event["response_headers"] == {"set-cookie": "[redacted]", "x-app": "a"}


async def test_header_redaction_is_configurable(logger: Any, capture: LogCapture) -> None:
    """``redact_headers`` replaces the default list of redacted names."""
    middleware = AccessLogMiddleware(
        responder(), logger=logger, log_headers=True, redact_headers=["X-Tenant"]
    )
    await run(middleware, http_scope(headers=[("x-tenant", "t1"), ("cookie", "c")]))

    assert capture.entries[0]["request_headers"] == {"x-tenant": "[redacted]", "cookie": "c"}


async def test_amz_security_token_header_is_redacted(logger: Any, capture: LogCapture) -> None:
    """An AWS session token sent as a header is redacted, as it is as a query parameter."""
    scope = http_scope(
        query_string=b"X-Amz-Security-Token=q-secret",
        headers=[("X-Amz-Security-Token", "h-secret"), ("api_key", "k-secret")],
    )
    await run(AccessLogMiddleware(responder(), logger=logger, log_headers=True), scope)

    event = capture.entries[0]
    assert event["request_headers"] == {
        "x-amz-security-token": "[redacted]",
        "api_key": "[redacted]",
    }
    assert event["query"] == "X-Amz-Security-Token=[redacted]"
    assert "secret" not in repr(capture.entries)


async def test_long_header_values_are_capped(logger: Any, capture: LogCapture) -> None:
    """A 100 KB header value is logged cut at 512 characters, escaped and marked as cut."""
    huge = "\x1b" + "h" * 100_000

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200, [("x-echo", huge), ("x-short", "s")]))
        await send(body())

    scope = http_scope(headers=[("x-huge", huge), ("x-huge", "second")])
    await run(AccessLogMiddleware(app, logger=logger, log_headers=True), scope)

    event = capture.entries[0]
    cut = "\\x1b" + "h" * 511 + "[truncated]"
    assert event["request_headers"] == {"x-huge": cut}
    assert event["response_headers"] == {"x-echo": cut, "x-short": "s"}


async def test_client_text_is_escaped(logger: Any, capture: LogCapture) -> None:
    """Control characters in path and user agent are escaped: no forged log lines."""
    scope = http_scope("GET", "/a\nINFO forged", headers=[(b"user-agent", b"ua\r\nX: y\x1b[31m")])
    await run(AccessLogMiddleware(responder(), logger=logger), scope)

    event = capture.entries[0]
    assert event["path"] == "/a\\nINFO forged"
    assert event["user_agent"] == "ua\\r\\nX: y\\x1b[31m"


async def test_long_user_agent_is_cut(logger: Any, capture: LogCapture) -> None:
    """The user agent is cut at 512 characters and marked as cut."""
    scope = http_scope(headers=[("user-agent", "u" * 5000)])
    await run(AccessLogMiddleware(responder(), logger=logger), scope)

    assert capture.entries[0]["user_agent"] == "u" * 512 + "[truncated]"


@pytest.mark.parametrize(
    ("client", "text"),
    [
        (("10.0.0.1", 443), "10.0.0.1:443"),
        (["::1", 8080], "[::1]:8080"),
        (None, None),
        (("only-host",), None),
    ],
)
async def test_client_field(
    client: Any, text: str | None, logger: Any, capture: LogCapture
) -> None:
    """``client`` is ``host:port``, IPv6 in brackets, ``None`` when the server gives none."""
    await run(AccessLogMiddleware(responder(), logger=logger), http_scope(client=client))

    assert capture.entries[0]["client"] == text


async def test_minimal_scope_is_logged(logger: Any, capture: LogCapture) -> None:
    """A scope with only ``type`` still yields an event with defaults, not an exception."""
    await run(AccessLogMiddleware(responder(), logger=logger), {"type": "http"})

    event = only_event(capture)
    assert (event["method"], event["path"], event["query"], event["client"]) == ("", "", "", None)
    assert event["http_version"] == "1.1"
    assert event["user_agent"] is None


@pytest.mark.parametrize(
    ("patterns", "path", "status", "logged"),
    [
        (["/health"], "/health", 200, False),
        (["/health"], "/healthz", 200, True),
        (["/health"], "/health/deep", 200, True),
        (["/static/*"], "/static/app.js", 200, False),
        (["/static/*"], "/static", 304, False),
        (["/static/*"], "/static-admin", 200, True),
        (["/health"], "/health", 404, False),
        (["/health"], "/health", 500, True),
        (["/health"], "/health", 503, True),
        ([], "/health", 200, True),
    ],
)
async def test_exclude_paths(  # noqa: PLR0917 - pytest passes parameters and fixtures by name
    patterns: list[str], path: str, status: int, logged: bool, logger: Any, capture: LogCapture
) -> None:
    """Excluded paths (exact or prefix, anchored) are not logged unless the status is 5xx."""
    middleware = AccessLogMiddleware(responder(status), logger=logger, exclude_paths=patterns)
    await run(middleware, http_scope(path=path))

    assert len(capture.entries) == (1 if logged else 0)


async def test_excluded_path_relative_to_root_path(logger: Any, capture: LogCapture) -> None:
    """Exclusions match the path relative to ``root_path``, as mounted apps see it."""
    middleware = AccessLogMiddleware(responder(), logger=logger, exclude_paths=["/health"])
    await run(middleware, http_scope(path="/api/health", root_path="/api"))

    assert capture.entries == []


async def test_excluded_path_still_logs_an_exception(logger: Any, capture: LogCapture) -> None:
    """An exception on an excluded path is logged."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200))
        raise RuntimeError("late")

    middleware = AccessLogMiddleware(app, logger=logger, exclude_paths=["/health"])
    with pytest.raises(RuntimeError):
        await run(middleware, http_scope(path="/health"), validate=False)

    assert capture.entries[0]["status"] == 200
    assert isinstance(capture.entries[0]["exc_info"], RuntimeError)


async def test_request_id_from_the_request_id_middleware(logger: Any, capture: LogCapture) -> None:
    """Behind RequestIDMiddleware the event carries the request's ID."""
    app = compose(
        responder(), RequestIDMiddleware, lambda inner: AccessLogMiddleware(inner, logger=logger)
    )
    await run(app, http_scope(headers=[("x-request-id", "abc-123")]))

    assert capture.entries[0]["request_id"] == "abc-123"


async def test_request_id_from_scope_state(logger: Any, capture: LogCapture) -> None:
    """Without get_request_id(), a ``request_id`` in scope state is used; a non-str is not."""
    middleware = AccessLogMiddleware(responder(), logger=logger)
    await run(middleware, http_scope(state={"request_id": "from-state"}))
    await run(middleware, http_scope(state={"request_id": 12}))
    await run(middleware, http_scope(state=None))

    assert [entry["request_id"] for entry in capture.entries] == ["from-state", None, None]


async def test_app_logs_carry_the_bound_context(logger: Any, capture: LogCapture) -> None:
    """An app's structlog event inside the request carries method, path and request_id."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        logger.info("inside", item=7)
        await send(start(204))
        await send(body())

    stack = compose(
        app, RequestIDMiddleware, lambda inner: AccessLogMiddleware(inner, logger=logger)
    )
    await run(stack, http_scope("DELETE", "/items/7", headers=[("x-request-id", "r-1")]))

    assert capture.entries[0] == {
        "event": "inside",
        "item": 7,
        "log_level": "info",
        "method": "DELETE",
        "path": "/items/7",
        "request_id": "r-1",
    }


async def test_context_is_reset_after_the_request(logger: Any) -> None:
    """After the request (and after a failed one) structlog's context is as it was."""
    before = structlog.contextvars.get_contextvars()

    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError

    await run(
        AccessLogMiddleware(responder(), logger=logger), http_scope(state={"request_id": "x"})
    )
    with pytest.raises(RuntimeError):
        await run(AccessLogMiddleware(failing, logger=logger), http_scope())

    assert structlog.contextvars.get_contextvars() == before


class BrokenLogger:
    """A logger whose every level method raises, as a misconfigured sink would."""

    def info(self, *_: Any, **__: Any) -> None:
        raise RuntimeError("sink down")

    debug = warning = error = critical = info


async def test_a_failing_logger_never_breaks_the_request(caplog: pytest.LogCaptureFixture) -> None:
    """A logger that raises is reported to stdlib logging; the response goes out as sent."""
    caplog.set_level(logging.ERROR, logger="asgi_middleware.access_log")
    messages = await run(AccessLogMiddleware(responder(), logger=BrokenLogger()), http_scope())

    assert [m["type"] for m in messages] == ["http.response.start", "http.response.body"]
    assert "could not emit the access-log event http_request" in caplog.text


async def test_a_failing_logger_in_a_websocket_session(caplog: pytest.LogCaptureFixture) -> None:
    """The WebSocket event's failure is reported the same way; the session ends normally."""
    caplog.set_level(logging.ERROR, logger="asgi_middleware.access_log")
    messages = await run(
        AccessLogMiddleware(accept_and_close(), logger=BrokenLogger()), websocket_scope()
    )

    assert messages[-1]["type"] == "websocket.close"
    assert "could not emit the access-log event websocket_session" in caplog.text


def test_a_lazy_logger_is_not_bound_at_construction() -> None:
    """A ``structlog.get_logger()`` proxy stays lazy, so a later ``configure()`` still applies."""
    structlog.configure(cache_logger_on_first_use=True)
    try:
        proxy = structlog.get_logger("tests.lazy")
        AccessLogMiddleware(responder(), logger=proxy)
        assert "bind" not in vars(proxy), "the proxy was bound (and cached) at construction"
    finally:
        structlog.reset_defaults()


async def test_default_logger_is_structlogs() -> None:
    """Without ``logger`` the event goes through structlog's own configuration."""
    with structlog.testing.capture_logs() as entries:
        await run(AccessLogMiddleware(responder()), http_scope())

    assert [entry["event"] for entry in entries] == [HTTP_EVENT]


def accept_and_close(code: int = 1000) -> ASGIApp:
    """A WebSocket app that accepts, sends one frame and closes with ``code``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "hi"})
        await send({"type": "websocket.close", "code": code})

    return app


async def test_websocket_session_event(logger: Any, capture: LogCapture) -> None:
    """A WebSocket session gives one ``websocket_session`` event with status and close code."""
    scope = websocket_scope("/ws", headers=[("user-agent", "ws-client")])
    await run(AccessLogMiddleware(accept_and_close(4001), logger=logger), scope)

    event = only_event(capture)
    assert event == {
        "event": WEBSOCKET_EVENT,
        "log_level": "info",
        "path": "/ws",
        "query": "",
        "status": 101,
        "close_code": 4001,
        "client": "127.0.0.1:51000",
        "http_version": "1.1",
        "user_agent": "ws-client",
        "request_id": None,
        "disconnected": False,
        "cancelled": False,
    }


async def test_websocket_closed_by_the_client(logger: Any, capture: LogCapture) -> None:
    """A client close is recorded with the client's code and ``disconnected``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass

    script: list[dict[str, Any]] = [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": "x"},
        {"type": "websocket.disconnect", "code": 1001},
    ]
    await run(AccessLogMiddleware(app, logger=logger), websocket_scope(), script)

    event = only_event(capture)
    assert (event["status"], event["close_code"], event["disconnected"]) == (101, 1001, True)


async def test_websocket_close_after_the_client_left(logger: Any, capture: LogCapture) -> None:
    """When the client closed first, its code is the one logged, not the app's later close."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        await send({"type": "websocket.close", "code": 1011})

    script: list[dict[str, Any]] = [
        {"type": "websocket.connect"},
        {"type": "websocket.disconnect"},
    ]
    await run(AccessLogMiddleware(app, logger=logger), websocket_scope(), script, validate=False)

    event = only_event(capture)
    assert (event["close_code"], event["disconnected"]) == (1005, True)


@pytest.mark.parametrize(
    ("messages", "status", "level"),
    [
        ([{"type": "websocket.close", "code": 1008}], 403, "warning"),
        (
            [
                {"type": "websocket.http.response.start", "status": 401, "headers": []},
                {"type": "websocket.http.response.body", "body": b"no"},
            ],
            401,
            "warning",
        ),
        ([], None, "info"),
    ],
)
async def test_websocket_refused(
    messages: list[dict[str, Any]], status: int | None, level: str, logger: Any, capture: LogCapture
) -> None:
    """A session refused before accept logs the refusal's status (403 for a close)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        for message in messages:
            await send(message)

    await run(AccessLogMiddleware(app, logger=logger), websocket_scope())

    event = only_event(capture)
    assert (event["status"], event["log_level"]) == (status, level)


async def test_websocket_exception(logger: Any, capture: LogCapture) -> None:
    """An exception before accept logs status 500 with the error, then propagates."""
    error = RuntimeError("ws boom")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise error

    with pytest.raises(RuntimeError):
        await run(AccessLogMiddleware(app, logger=logger), websocket_scope())

    event = only_event(capture)
    assert (event["status"], event["exc_info"], event["log_level"]) == (500, error, "error")


async def test_websocket_excluded_unless_failed(logger: Any, capture: LogCapture) -> None:
    """``exclude_paths`` applies to WebSocket sessions too, except for errors."""
    middleware = AccessLogMiddleware(accept_and_close(), logger=logger, exclude_paths=["/ws"])
    await run(middleware, websocket_scope("/ws"))

    assert capture.entries == []


async def test_websocket_headers_logged_when_asked(logger: Any, capture: LogCapture) -> None:
    """With ``log_headers`` a WebSocket event carries the redacted request headers."""
    middleware = AccessLogMiddleware(accept_and_close(), logger=logger, log_headers=True)
    await run(middleware, websocket_scope(headers=[("cookie", "c"), ("origin", "https://a")]))

    assert capture.entries[0]["request_headers"] == {
        "cookie": "[redacted]",
        "origin": "https://a",
    }


async def test_websocket_context_bound_without_method(logger: Any, capture: LogCapture) -> None:
    """Inside a WebSocket session path and request_id are bound, method is not."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        logger.info("in-session")
        await receive()
        await send({"type": "websocket.close"})

    stack = compose(
        app, RequestIDMiddleware, lambda inner: AccessLogMiddleware(inner, logger=logger)
    )
    await run(stack, websocket_scope("/live", headers=[("x-request-id", "w-1")]))

    assert capture.entries[0] == {
        "event": "in-session",
        "log_level": "info",
        "path": "/live",
        "request_id": "w-1",
    }


async def test_websocket_request_id_from_state_is_bound_then_reset(
    logger: Any, capture: LogCapture
) -> None:
    """Without RequestIDMiddleware, a session binds the ID in its state, and unbinds it after."""
    before = structlog.contextvars.get_contextvars()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        logger.info("in-session")
        await send({"type": "websocket.close"})

    middleware = AccessLogMiddleware(app, logger=logger)
    await run(middleware, websocket_scope("/live", state={"request_id": "w-2"}))

    assert capture.entries[0]["request_id"] == "w-2"
    assert capture.entries[1]["request_id"] == "w-2"
    assert structlog.contextvars.get_contextvars() == before


async def test_lifespan_passes_through(logger: Any, capture: LogCapture) -> None:
    """A lifespan scope reaches the app untouched and logs nothing."""
    seen: list[object] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    scope = {"type": "lifespan"}
    await AccessLogMiddleware(app, logger=logger)(scope, None, None)  # type: ignore[arg-type]

    assert seen == [scope]
    assert capture.entries == []


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"logger": object()}, TypeError, "logger must be a structlog logger with"),
        ({"logger": logging.getLogger("x")}, TypeError, "logger must be a structlog logger, not"),
        (
            {"logger": logging.LoggerAdapter(logging.getLogger("x"))},
            TypeError,
            "logger must be a structlog logger, not",
        ),
        ({"levels": ["error"]}, TypeError, "levels must be a mapping"),
        ({"levels": {"5XX": "error"}}, ValueError, "levels keys must be one of"),
        ({"levels": {"5xx": 40}}, TypeError, "levels['5xx'] must be a str"),
        ({"levels": {"5xx": "fatal"}}, ValueError, "levels['5xx'] must be one of"),
        ({"exclude_paths": "/health"}, TypeError, "exclude_paths must be a list or tuple"),
        ({"exclude_paths": ["health"]}, ValueError, "exclude_paths[0] must be a path"),
        ({"log_headers": "yes"}, TypeError, "log_headers must be a bool"),
        ({"redact_headers": "cookie"}, TypeError, "redact_headers must be a list or tuple"),
        ({"redact_headers": ["bad name"]}, ValueError, "redact_headers[0] must be an HTTP token"),
        ({"redact_query_params": [1]}, TypeError, "redact_query_params[0] must be a str"),
    ],
)
def test_bad_options_fail_at_construction(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Every option is checked in ``__init__`` with the SPEC §2.1 message shape."""
    with pytest.raises(error, match=f"^{re.escape(message)}"):
        AccessLogMiddleware(responder(), **options)


def test_takes_part_in_compose_as_access_log() -> None:
    """Compose's order rules know this class as the access-log layer."""
    assert AccessLogMiddleware._compose_role == "access_log"


def test_has_slots_and_no_instance_dict() -> None:
    """Per-request state cannot be stored on the middleware (SPEC §2.8)."""
    assert not hasattr(AccessLogMiddleware(responder()), "__dict__")


@pytest.fixture(autouse=True)
def _no_context_left() -> Iterator[None]:
    """Every test leaves structlog's contextvars as it found them."""
    before = structlog.contextvars.get_contextvars()
    yield
    assert structlog.contextvars.get_contextvars() == before
