"""The test kit itself: the ASGI validator accepts what the spec allows and refuses the rest."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import pytest

from asgi_middleware import Receive, Scope, Send
from tests.support.asgi import (
    ASGIValidator,
    Exchange,
    ProtocolError,
    body,
    body_of,
    headers_of,
    http_scope,
    lifespan_scope,
    run,
    start,
    start_of,
    websocket_scope,
)

Messages = Sequence[Mapping[str, Any]]

ACCEPT: dict[str, Any] = {"type": "websocket.accept", "subprotocol": None, "headers": []}
VALID: list[tuple[str, Messages]] = [
    ("http", [start(), body(b"x")]),
    ("http", [start(headers=[("x-a", "1")]), body(b"a", more_body=True), body(b"b")]),
    ("http", [{"type": "http.response.start", "status": 204}, {"type": "http.response.body"}]),
    ("http", [{"type": "http.response.early_hint", "links": []}, start(), body()]),
    ("http", [start(trailers=True), body(), {"type": "http.response.trailers", "headers": []}]),
    ("http", [start(), {"type": "http.response.pathsend", "path": "/f"}]),
    ("http", [start(), {"type": "http.response.zerocopysend", "file": 3}]),
    ("http", [start(), {"type": "http.response.x-future"}, body()]),
    ("websocket", [ACCEPT, {"type": "websocket.send", "text": "t"}, {"type": "websocket.close"}]),
    ("websocket", [ACCEPT, {"type": "websocket.send", "bytes": b"b"}]),
    ("websocket", [{"type": "websocket.close", "code": 1008, "reason": "no"}]),
    (
        "websocket",
        [
            {"type": "websocket.http.response.start", "status": 403, "headers": []},
            {"type": "websocket.http.response.body", "body": b"no"},
        ],
    ),
    ("lifespan", [{"type": "lifespan.startup.failed", "message": "db down"}]),
]

INVALID: list[tuple[str, Messages, str]] = [
    ("http", [body()], "before http.response.start"),
    ("http", [start(), start()], "sent twice"),
    ("http", [start(), body(), body()], "after the response completed"),
    ("http", [start(status=99)], "status must be an int"),
    ("http", [start(status=True)], "status must be an int"),
    ("http", [{"type": "http.response.start", "status": "200"}], "status must be an int"),
    ("http", [start(headers=[("X-Upper", "1")])], "lower case"),
    ("http", [{"type": "http.response.start", "status": 200, "headers": [("a", "b")]}], "bytes"),
    ("http", [{"type": "http.response.start", "status": 200, "headers": [(b"a",)]}], "pair"),
    ("http", [start(headers=[("x-a", "1\r\nx-b: 2")])], "CR, LF or NUL"),
    ("http", [start(), {"type": "http.response.body", "body": "text"}], "body must be bytes"),
    ("http", [start(), {"type": "http.response.body", "more_body": 1}], "more_body must be a bool"),
    ("http", [start(), body(), {"type": "http.response.trailers"}], "trailers not announced"),
    ("http", [start(), {"type": "http.response.early_hint"}], "after http.response.start"),
    ("http", [{"type": "http.response.pathsend", "path": "/f"}], "pathsend needs a start"),
    ("http", ["not a mapping"], "a mapping with a str 'type'"),  # type: ignore[list-item]
    ("http", [{"type": 1}], "a mapping with a str 'type'"),
    ("websocket", [{"type": "websocket.send", "text": "t"}], "before websocket.accept"),
    ("websocket", [ACCEPT, ACCEPT], "accept twice"),
    ("websocket", [{**ACCEPT, "subprotocol": b"x"}], "subprotocol must be str"),
    ("websocket", [ACCEPT, {"type": "websocket.send"}], "exactly one of bytes/text"),
    ("websocket", [ACCEPT, {"type": "websocket.send", "text": "a", "bytes": b"b"}], "exactly one"),
    ("websocket", [ACCEPT, {"type": "websocket.send", "text": b"t"}], "of the wrong type"),
    ("websocket", [{"type": "websocket.close", "code": 999}], "close code"),
    ("websocket", [{"type": "websocket.close", "code": True}], "close code"),
    ("websocket", [{"type": "websocket.close", "reason": 5}], "close reason must be a str"),
    ("websocket", [{"type": "websocket.close"}, ACCEPT], "after the WebSocket closed"),
    (
        "websocket",
        [ACCEPT, {"type": "websocket.http.response.start", "status": 403}],
        "denial response after accept",
    ),
    ("websocket", [{"type": "websocket.http.response.body"}], "without a denial start"),
    ("websocket", [ACCEPT, {"type": "websocket.http.response.body"}], "without a denial start"),
    ("lifespan", [{"type": "lifespan.startup.failed", "message": 5}], "must be a str"),
]


@pytest.mark.parametrize(("scope_type", "messages"), VALID, ids=[str(i) for i in range(len(VALID))])
def test_validator_accepts_valid_sequences(scope_type: str, messages: Messages) -> None:
    """Message sequences the ASGI spec allows pass the validator."""
    validator = ASGIValidator(scope_type)
    for message in messages:
        validator.check(message)


@pytest.mark.parametrize(
    ("scope_type", "messages", "error"), INVALID, ids=[e for _, _, e in INVALID]
)
def test_validator_refuses_invalid_sequences(
    scope_type: str, messages: Messages, error: str
) -> None:
    """Each violation of the ASGI spec raises ProtocolError naming the problem."""
    validator = ASGIValidator(scope_type)
    for message in messages[:-1]:
        validator.check(message)
    with pytest.raises(ProtocolError, match=error):
        validator.check(messages[-1])


def test_validator_complete_waits_for_announced_trailers() -> None:
    """A response announced with trailers completes only after the last trailers message."""
    validator = ASGIValidator("http")
    validator.check(start(trailers=True))
    validator.check(body())
    assert not validator.complete
    validator.check({"type": "http.response.trailers", "headers": [], "more_trailers": True})
    assert not validator.complete
    validator.check({"type": "http.response.trailers", "headers": []})
    assert validator.complete


@pytest.mark.anyio
async def test_receive_reports_disconnect_only_after_the_response() -> None:
    """Once the script is used up, receive waits for the response to complete, then disconnects."""
    exchange = Exchange("http")
    assert (await exchange.receive())["type"] == "http.request"
    with anyio.move_on_after(0.05) as scope:
        await exchange.receive()
    assert scope.cancelled_caught
    await exchange.send(start())
    await exchange.send(body(b"done"))
    assert await exchange.receive() == {"type": "http.disconnect"}


@pytest.mark.anyio
async def test_websocket_receive_disconnects_after_close() -> None:
    """A WebSocket exchange reports websocket.disconnect once the app has closed."""
    exchange = Exchange("websocket", [])
    await exchange.send({"type": "websocket.close", "code": 1000})
    assert (await exchange.receive())["type"] == "websocket.disconnect"


@pytest.mark.anyio
async def test_run_returns_the_sent_messages_and_helpers_read_them() -> None:
    """run() returns what the app sent; start_of, headers_of and body_of read it."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send(start(201, [("content-type", "text/plain")]))
        await send(body(b"a", more_body=True))
        await send(body(b"b"))

    messages = await run(app, http_scope("POST", "/x", headers=[("Host", "h")]))
    assert start_of(messages)["status"] == 201
    assert headers_of(messages) == [(b"content-type", b"text/plain")]
    assert body_of(messages) == b"ab"


@pytest.mark.anyio
async def test_run_fails_an_app_that_breaks_the_protocol() -> None:
    """run() validates by default, so a body before the start fails the test."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(body(b"early"))

    with pytest.raises(ProtocolError):
        await run(app, http_scope())
    assert await run(app, http_scope(), validate=False) == [body(b"early")]


@pytest.mark.anyio
async def test_run_times_out_a_hanging_app() -> None:
    """run() gives up on an app that never finishes."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await anyio.sleep_forever()

    with pytest.raises(TimeoutError):
        await run(app, http_scope(), timeout=0.05)


def test_scope_builders_match_the_asgi_spec_shapes() -> None:
    """The scope builders produce the keys servers send, headers as byte pairs in given case."""
    scope = http_scope("POST", "/p", headers=[("X-Mixed", b"v")], extensions={"e": {}})
    assert scope["type"] == "http"
    assert scope["method"] == "POST"
    assert scope["headers"] == [(b"X-Mixed", b"v")]
    assert scope["extensions"] == {"e": {}}
    ws = websocket_scope(subprotocols=["chat"])
    assert (ws["type"], ws["scheme"], ws["subprotocols"]) == ("websocket", "ws", ["chat"])
    assert "method" not in ws
    assert lifespan_scope()["type"] == "lifespan"


def test_start_of_requires_exactly_one_start() -> None:
    """start_of refuses a run without a start message."""
    with pytest.raises(AssertionError, match=r"expected one http\.response\.start"):
        start_of([body()])
