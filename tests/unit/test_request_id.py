"""RequestIDMiddleware in raw ASGI: IDs read, validated, generated, stored and sent back."""

from __future__ import annotations

import contextvars
import copy
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import structlog

from asgi_middleware import (
    ASGIApp,
    Receive,
    RequestIDLogFilter,
    RequestIDMiddleware,
    Scope,
    Send,
    get_request_id,
)
from asgi_middleware.request_id import uuid4_hex, uuid7_hex
from tests.support.asgi import body, headers_of, http_scope, run, start, websocket_scope

pytestmark = pytest.mark.anyio

HEX32 = re.compile(r"[0-9a-f]{32}")
VALID = "6f1c2b3a4d5e4f708192a3b4c5d6e7f8"


def seen_by(log: list[dict[str, Any]]) -> ASGIApp:
    """An app that records what it sees of the request ID, then answers 200 ``ok``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        log.append(
            {
                "get_request_id": get_request_id(),
                "state": scope.get("state", {}).get("request_id"),
                "header": dict(scope.get("headers", ())).get(b"x-request-id"),
                "structlog": structlog.contextvars.get_contextvars().get("request_id"),
                "scope": scope,
            }
        )
        await send(start(200, [("content-type", "text/plain")]))
        await send(body(b"ok"))

    return app


def response_ids(messages: list[Any]) -> list[bytes]:
    """The values of every x-request-id response header."""
    return [value for name, value in headers_of(messages) if name == b"x-request-id"]


async def test_generates_an_id_when_none_came_in() -> None:
    """Without a request header, a 32-hex ID is generated and sent on the start message."""
    log: list[dict[str, Any]] = []
    messages = await run(RequestIDMiddleware(seen_by(log)), http_scope())

    request_id = log[0]["get_request_id"]
    assert HEX32.fullmatch(request_id)
    assert messages == [
        start(200, [("content-type", "text/plain"), ("x-request-id", request_id)]),
        body(b"ok"),
    ]


async def test_generated_id_is_everywhere_inside_the_request() -> None:
    """get_request_id(), scope state, the request header and structlog all hold the one ID."""
    log: list[dict[str, Any]] = []
    await run(RequestIDMiddleware(seen_by(log)), http_scope())

    request_id = log[0]["get_request_id"]
    assert log[0]["state"] == request_id
    assert log[0]["header"] == request_id.encode()
    assert log[0]["structlog"] == request_id


@pytest.mark.parametrize(
    "incoming",
    [
        pytest.param("3b241101-e2bb-4255-8caf-4136c566a962", id="uuid-hyphenated"),
        pytest.param("3b241101e2bb42558caf4136c566a962", id="uuid-plain"),
        pytest.param("3B241101-E2BB-4255-8CAF-4136C566A962", id="uuid-upper"),
        pytest.param("7f3c2a90b1d84e6fa0c5d2e19b8a7c64", id="nginx-request-id"),
        pytest.param("Root=1-5759e988-bd862e3fe1be46a994272793", id="aws-root"),
        pytest.param(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            id="aws-full",
        ),
        pytest.param("Self=1-67891233-12456789abcdef012345678;Root=1-67891233-abc", id="alb"),
        pytest.param("4bf92f3577b34da6a3ce929d0e0e4736", id="w3c-trace-id"),
        pytest.param("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", id="traceparent"),
        pytest.param("a", id="one-char"),
        pytest.param("x" * 128, id="128-chars"),
        pytest.param("req_01H:abc.def+ghi/jkl@mno~pqr", id="other-safe-chars"),
    ],
)
async def test_valid_incoming_id_is_echoed(incoming: str) -> None:
    """A safe incoming ID is used as is: same in the app and in the response header."""
    log: list[dict[str, Any]] = []
    scope = http_scope(headers=[("X-Request-ID", incoming)])
    messages = await run(RequestIDMiddleware(seen_by(log)), scope)

    assert log[0]["get_request_id"] == incoming
    assert response_ids(messages) == [incoming.encode("ascii")]


INVALID = [
    pytest.param(b"", id="empty"),
    pytest.param(b"abc def", id="space"),
    pytest.param(b"abc\tdef", id="tab"),
    pytest.param(b"abc\x00def", id="nul"),
    pytest.param(b"abc\x1bdef", id="escape"),
    pytest.param(b"abc\x7fdef", id="del"),
    pytest.param(b'abc"def', id="double-quote"),
    pytest.param(b"abc'def", id="single-quote"),
    pytest.param(b"abc\\def", id="backslash"),
    pytest.param(b"<script>", id="angle-brackets"),
    pytest.param(b"a,b", id="comma"),
    pytest.param(b"100%s", id="percent"),
    pytest.param(b"x" * 129, id="129-chars"),
    pytest.param("caf\u00e9".encode("latin-1"), id="latin-1"),
    pytest.param("\u2603".encode(), id="utf-8"),
]


@pytest.mark.parametrize("raw", INVALID)
async def test_invalid_incoming_id_is_replaced(raw: bytes) -> None:
    """An unsafe incoming ID is replaced by a generated one, in the app and in the response."""
    log: list[dict[str, Any]] = []
    scope = http_scope(headers=[(b"x-request-id", raw)])
    messages = await run(RequestIDMiddleware(seen_by(log)), scope)

    request_id = log[0]["get_request_id"]
    assert HEX32.fullmatch(request_id)
    assert log[0]["header"] == request_id.encode()
    assert response_ids(messages) == [request_id.encode()]


@pytest.mark.parametrize("raw", INVALID)
async def test_rejected_value_is_never_logged(raw: bytes, caplog: pytest.LogCaptureFixture) -> None:
    """The replacement is logged at DEBUG without the raw value the client sent."""
    marker = b"INJECTED " + raw  # the space makes every marker invalid
    caplog.set_level(logging.DEBUG, logger="asgi_middleware.request_id")
    scope = http_scope(headers=[(b"x-request-id", marker)])
    await run(RequestIDMiddleware(seen_by([])), scope)

    assert caplog.records, "the replacement should be reported"
    assert all("INJECTED" not in record.getMessage() for record in caplog.records)
    assert all("INJECTED" not in repr(record.args) for record in caplog.records)


async def test_app_set_header_is_replaced_not_duplicated() -> None:
    """An X-Request-ID the app set (any case) is replaced by the one ID, sent once."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200, [("X-Request-Id", "from-app"), ("content-type", "text/plain")]))
        await send(body(b"ok"))

    messages = await run(RequestIDMiddleware(app), http_scope(headers=[("x-request-id", VALID)]))

    assert messages == [
        start(200, [("content-type", "text/plain"), ("x-request-id", VALID)]),
        body(b"ok"),
    ]


async def test_start_message_without_headers_gets_the_header() -> None:
    """A start message without ``headers`` (allowed by ASGI) gets one header list."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204})
        await send(body())

    messages = await run(RequestIDMiddleware(app), http_scope(headers=[("x-request-id", VALID)]))

    assert messages == [
        {
            "type": "http.response.start",
            "status": 204,
            "headers": [(b"x-request-id", VALID.encode())],
        },
        body(),
    ]


async def test_websocket_accept_carries_the_header() -> None:
    """``websocket.accept`` gets the header; frames and close pass unchanged."""
    frame = {"type": "websocket.send", "text": "hi"}
    close = {"type": "websocket.close", "code": 1000}
    ids: list[str | None] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        ids.append(get_request_id())
        await send({"type": "websocket.accept", "headers": [(b"x-app", b"1")]})
        await send(frame)
        await send(close)

    scope = websocket_scope(headers=[("x-request-id", VALID)])
    messages = await run(RequestIDMiddleware(app), scope)

    assert ids == [VALID]
    assert messages == [
        {
            "type": "websocket.accept",
            "headers": [(b"x-app", b"1"), (b"x-request-id", VALID.encode())],
        },
        frame,
        close,
    ]
    assert messages[1] is frame
    assert messages[2] is close


async def test_websocket_denial_response_carries_the_header() -> None:
    """A WebSocket denial response (``websocket.http.response.start``) gets the header too."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 403, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b"no"})

    scope = websocket_scope(headers=[("x-request-id", VALID)])
    messages = await run(RequestIDMiddleware(app), scope)

    assert messages[0] == {
        "type": "websocket.http.response.start",
        "status": 403,
        "headers": [(b"x-request-id", VALID.encode())],
    }


async def test_scope_and_messages_are_not_mutated() -> None:
    """The scope, its header list and the app's start message stay as given; state keeps its keys.

    The state dict is the one thing written into (SPEC §2.3): it gains ``request_id`` only.
    """
    start_message = start(200, [("content-type", "text/plain")])

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start_message)
        await send(body(b"ok"))

    scope = http_scope(state={"db": "pool"}, headers=[("x-request-id", VALID)])
    before = copy.deepcopy(scope)
    state, headers = scope["state"], scope["headers"]
    await run(RequestIDMiddleware(app), scope)

    assert {**scope, "state": None} == {**before, "state": None}
    assert scope["state"] is state
    assert state == {"db": "pool", "request_id": VALID}
    assert scope["headers"] is headers
    assert start_message == start(200, [("content-type", "text/plain")])


async def test_app_gets_the_servers_own_state_dict_with_the_id() -> None:
    """The app's ``state`` is the very dict the server gave, holding its state and the ID."""
    log: list[dict[str, Any]] = []
    scope = http_scope(state={"db": "pool"}, headers=[("x-request-id", VALID)])
    await run(RequestIDMiddleware(seen_by(log)), scope)

    inner = log[0]["scope"]
    assert inner["state"] is scope["state"]
    assert inner["state"] == {"db": "pool", "request_id": VALID}


async def test_empty_server_state_is_shared_not_replaced() -> None:
    """An empty state dict from the server is written into too, not swapped for a new one."""
    log: list[dict[str, Any]] = []
    scope = http_scope(headers=[("x-request-id", VALID)])
    await run(RequestIDMiddleware(seen_by(log)), scope)

    assert log[0]["scope"]["state"] is scope["state"]
    assert scope["state"] == {"request_id": VALID}


@pytest.mark.parametrize("scope_factory", [http_scope, websocket_scope], ids=["http", "websocket"])
async def test_what_the_app_stores_in_state_is_seen_outside(
    scope_factory: Callable[..., dict[str, Any]],
) -> None:
    """A value the app puts in ``state`` (``request.state.user``) is visible to an outer layer."""
    seen_outside: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"]["user"] = "alice"
        if scope["type"] == "http":
            await send(start(204))
            await send(body())
        else:
            await send({"type": "websocket.close", "code": 1000})

    inner = RequestIDMiddleware(app)

    async def outer(scope: Scope, receive: Receive, send: Send) -> None:
        # An outer layer as an access log or auth middleware is: it reads state afterwards.
        await inner(scope, receive, send)
        seen_outside.append(dict(scope["state"]))

    await run(outer, scope_factory(headers=[("x-request-id", VALID)]))

    assert seen_outside == [{"user": "alice", "request_id": VALID}]


async def test_scope_without_state_gets_one() -> None:
    """A server that gives no ``state`` still lets the app read the ID from a new one."""
    log: list[dict[str, Any]] = []
    scope = http_scope(headers=[("x-request-id", VALID)])
    del scope["state"]
    await run(RequestIDMiddleware(seen_by(log)), scope)

    assert log[0]["scope"]["state"] == {"request_id": VALID}
    assert "state" not in scope


async def test_context_is_reset_after_the_request() -> None:
    """After the request, get_request_id() is None and structlog's context has no request_id."""
    await run(RequestIDMiddleware(seen_by([])), http_scope(headers=[("x-request-id", VALID)]))

    assert get_request_id() is None
    assert "request_id" not in structlog.contextvars.get_contextvars()


async def test_context_is_reset_when_the_app_raises() -> None:
    """An exception from the app comes out unchanged, and the ID is reset all the same."""
    error = LookupError("boom")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise error

    with pytest.raises(LookupError) as caught:
        await run(RequestIDMiddleware(app), http_scope())

    assert caught.value is error
    assert get_request_id() is None
    assert "request_id" not in structlog.contextvars.get_contextvars()


async def test_sequential_requests_in_one_task_never_share_an_id() -> None:
    """Two requests handled one after the other in the same task each see only their own ID."""
    log: list[dict[str, Any]] = []
    middleware = RequestIDMiddleware(seen_by(log))

    await run(middleware, http_scope(headers=[("x-request-id", "first")]))
    between = get_request_id()
    await run(middleware, http_scope())

    assert between is None
    assert log[0]["get_request_id"] == "first"
    assert log[1]["get_request_id"] not in {None, "first"}
    assert log[1]["structlog"] == log[1]["get_request_id"]


def test_sequential_requests_in_one_context_never_share_an_id() -> None:
    """Two requests run in the same ``contextvars.Context`` never see each other's ID."""
    import anyio  # noqa: PLC0415 - only this sync test drives its own event loop

    log: list[dict[str, Any]] = []
    middleware = RequestIDMiddleware(seen_by(log))
    context = contextvars.copy_context()
    seen_between: list[str | None] = []

    async def two_requests() -> None:
        await run(middleware, http_scope(headers=[("x-request-id", "one")]))
        seen_between.append(get_request_id())
        await run(middleware, http_scope(headers=[("x-request-id", "two")]))

    context.run(anyio.run, two_requests)

    assert [entry["get_request_id"] for entry in log] == ["one", "two"]
    assert seen_between == [None]
    assert context.run(get_request_id) is None
    assert "request_id" not in context.run(structlog.contextvars.get_contextvars)


@pytest.mark.parametrize(
    ("update", "incoming", "app_sees"),
    [
        pytest.param(True, None, "generated", id="update-missing"),
        pytest.param(True, b"bad value", "generated", id="update-invalid"),
        pytest.param(True, VALID.encode(), VALID.encode(), id="update-valid"),
        pytest.param(False, None, None, id="keep-missing"),
        pytest.param(False, b"bad value", b"bad value", id="keep-invalid"),
    ],
)
async def test_update_request_header(update: bool, incoming: bytes | None, app_sees: Any) -> None:
    """``update_request_header`` decides whether the app's request header carries the ID."""
    log: list[dict[str, Any]] = []
    headers = [] if incoming is None else [(b"x-request-id", incoming)]
    middleware = RequestIDMiddleware(seen_by(log), update_request_header=update)
    await run(middleware, http_scope(headers=[(b"host", b"a"), *headers]))

    expected = log[0]["get_request_id"].encode() if app_sees == "generated" else app_sees
    assert log[0]["header"] == expected
    names = [name for name, _ in log[0]["scope"]["headers"]]
    assert names.count(b"x-request-id") == (0 if expected is None else 1)


async def test_mixed_case_invalid_request_header_is_replaced_once() -> None:
    """An invalid ``X-Request-ID`` in mixed case is replaced by one lower-case header."""
    log: list[dict[str, Any]] = []
    scope = http_scope(headers=[("X-Request-ID", "bad value"), ("host", "a")])
    await run(RequestIDMiddleware(seen_by(log)), scope)

    assert log[0]["scope"]["headers"] == [
        (b"host", b"a"),
        (b"x-request-id", log[0]["get_request_id"].encode()),
    ]


async def test_trust_incoming_false_always_generates() -> None:
    """With ``trust_incoming=False`` a valid incoming ID is ignored and replaced."""
    log: list[dict[str, Any]] = []
    middleware = RequestIDMiddleware(seen_by(log), trust_incoming=False)
    messages = await run(middleware, http_scope(headers=[("x-request-id", VALID)]))

    assert log[0]["get_request_id"] != VALID
    assert response_ids(messages) == [log[0]["get_request_id"].encode()]


async def test_response_header_false_sends_no_header() -> None:
    """With ``response_header=False`` the response is forwarded as the app sent it."""
    start_message = start(200, [("content-type", "text/plain")])

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start_message)
        await send(body(b"ok"))

    messages = await run(RequestIDMiddleware(app, response_header=False), http_scope())

    assert messages[0] is start_message


async def test_custom_header_name() -> None:
    """``header_name`` names both the request and the response header, matched in any case."""
    log: list[dict[str, Any]] = []
    middleware = RequestIDMiddleware(seen_by(log), header_name="X-Correlation-ID")
    messages = await run(middleware, http_scope(headers=[("x-correlation-id", VALID)]))

    assert log[0]["get_request_id"] == VALID
    assert (b"x-correlation-id", VALID.encode()) in headers_of(messages)
    assert response_ids(messages) == []


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("options", "headers", "expected"),
    [
        pytest.param({"traceparent": True}, [("traceparent", TRACEPARENT)], "trace", id="used"),
        pytest.param(
            {"traceparent": True},
            [("traceparent", TRACEPARENT), ("x-request-id", VALID)],
            VALID,
            id="request-id-wins",
        ),
        pytest.param(
            {"traceparent": True},
            [("traceparent", TRACEPARENT), ("x-request-id", "bad value")],
            "trace",
            id="invalid-request-id-falls-back",
        ),
        pytest.param({}, [("traceparent", TRACEPARENT)], None, id="off-by-default"),
        pytest.param(
            {"traceparent": True, "trust_incoming": False},
            [("traceparent", TRACEPARENT)],
            None,
            id="untrusted",
        ),
        pytest.param(
            {"traceparent": True},
            [("traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01")],
            None,
            id="invalid-traceparent",
        ),
        pytest.param({"traceparent": True}, [], None, id="absent"),
    ],
)
async def test_traceparent(
    options: dict[str, Any], headers: list[tuple[str, str]], expected: str | None
) -> None:
    """The W3C trace-id becomes the ID only when enabled, trusted, valid and no ID came in."""
    log: list[dict[str, Any]] = []
    scope = http_scope(headers=headers)
    messages = await run(RequestIDMiddleware(seen_by(log), **options), scope)

    request_id = log[0]["get_request_id"]
    assert response_ids(messages) == [request_id.encode()]
    assert log[0]["header"] == request_id.encode()
    if expected == "trace":
        assert request_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    elif expected is None:
        assert HEX32.fullmatch(request_id)
        assert request_id != "4bf92f3577b34da6a3ce929d0e0e4736"
    else:
        assert request_id == expected


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    ("incoming", "accepted"), [(VALID, True), ("not-a-uuid", False), ("a b", False)]
)
async def test_validator_adds_a_check(incoming: str, accepted: bool) -> None:
    """A custom ``validator`` narrows what is accepted; the built-in check still applies."""
    log: list[dict[str, Any]] = []
    middleware = RequestIDMiddleware(seen_by(log), validator=_is_uuid)
    await run(middleware, http_scope(headers=[("x-request-id", incoming)]))

    assert (log[0]["get_request_id"] == incoming) is accepted


async def test_transformer_changes_every_id() -> None:
    """``transformer`` is applied to incoming and generated IDs alike."""
    log: list[dict[str, Any]] = []
    middleware = RequestIDMiddleware(seen_by(log), transformer=lambda value: f"svc-{value}")
    await run(middleware, http_scope(headers=[("x-request-id", "ABC")]))
    await run(middleware, http_scope())

    assert log[0]["get_request_id"] == "svc-ABC"
    assert log[1]["get_request_id"].startswith("svc-")
    assert log[0]["header"] == b"svc-ABC"


@pytest.mark.parametrize("result", ["has space", "", 42, "x" * 200])
async def test_unsafe_transformer_result_is_replaced(result: object) -> None:
    """A transformer result the built-in check rejects is replaced by a generated ID."""
    log: list[dict[str, Any]] = []
    middleware = RequestIDMiddleware(seen_by(log), transformer=lambda _: result)  # type: ignore[arg-type,return-value]
    messages = await run(middleware, http_scope(headers=[("x-request-id", VALID)]))

    assert HEX32.fullmatch(log[0]["get_request_id"])
    assert response_ids(messages) == [log[0]["get_request_id"].encode()]


@pytest.mark.parametrize("generator", [uuid4_hex, uuid7_hex, lambda: "fixed-id"])
async def test_generator_is_used(generator: Callable[[], str]) -> None:
    """``generator`` makes the IDs: the UUID helpers or any safe ``str`` factory."""
    made: list[str] = []

    def recording() -> str:
        made.append(generator())
        return made[-1]

    log: list[dict[str, Any]] = []
    await run(RequestIDMiddleware(seen_by(log), generator=recording), http_scope())

    request_id = log[0]["get_request_id"]
    assert request_id == made[-1]
    if generator.__name__ == "<lambda>":
        assert request_id == "fixed-id"
    else:
        assert HEX32.fullmatch(request_id)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"header_name": "X Request"}, ValueError, "header_name must be an HTTP token"),
        ({"header_name": b"x-request-id"}, TypeError, "header_name must be a str"),
        ({"update_request_header": 1}, TypeError, "update_request_header must be a bool"),
        ({"trust_incoming": "yes"}, TypeError, "trust_incoming must be a bool"),
        ({"response_header": None}, TypeError, "response_header must be a bool"),
        ({"traceparent": 0}, TypeError, "traceparent must be a bool"),
        ({"generator": "uuid4"}, TypeError, "generator must be callable"),
        ({"generator": uuid.uuid4}, TypeError, "generator must return a str"),
        ({"generator": lambda: "has space"}, ValueError, "generator must return a str of 1"),
        ({"validator": True}, TypeError, "validator must be callable"),
        ({"transformer": "lower"}, TypeError, "transformer must be callable"),
    ],
)
def test_bad_options_fail_at_construction(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Every option is checked in ``__init__`` with the SPEC §2.1 message shape."""
    with pytest.raises(error, match=f"^{re.escape(message)}"):
        RequestIDMiddleware(seen_by([]), **options)


async def test_lifespan_passes_through_untouched() -> None:
    """A lifespan scope reaches the app with the very scope, receive and send."""
    calls: list[tuple[object, object, object]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append((scope, receive, send))

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}}

    async def receive() -> Any:
        return {}

    async def send(message: Any) -> None:
        pass

    await RequestIDMiddleware(app)(scope, receive, send)

    assert calls == [(scope, receive, send)]


def test_takes_part_in_compose_as_request_id() -> None:
    """Compose's order rules know this class as the request-ID layer."""
    assert RequestIDMiddleware._compose_role == "request_id"


def test_has_slots_and_no_instance_dict() -> None:
    """Per-request state cannot be stored on the middleware (SPEC §2.8)."""
    middleware = RequestIDMiddleware(seen_by([]))
    assert not hasattr(middleware, "__dict__")


def _record() -> logging.LogRecord:
    return logging.LogRecord("app", logging.INFO, __file__, 1, "hello", None, None)


async def test_log_filter_adds_the_id_inside_a_request() -> None:
    """RequestIDLogFilter sets ``record.request_id`` to the current ID and keeps the record."""
    records: list[logging.LogRecord] = []
    log_filter = RequestIDLogFilter()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        record = _record()
        assert log_filter.filter(record) is True
        records.append(record)
        await send(start(204))
        await send(body())

    await run(RequestIDMiddleware(app), http_scope(headers=[("x-request-id", VALID)]))

    assert records[0].request_id == VALID  # type: ignore[attr-defined]


@pytest.mark.parametrize(("kwargs", "expected"), [({}, "-"), ({"default_value": None}, None)])
def test_log_filter_outside_a_request(kwargs: dict[str, Any], expected: str | None) -> None:
    """Outside a request the attribute is ``default_value`` ("-" unless configured)."""
    record = _record()

    assert RequestIDLogFilter(**kwargs).filter(record) is True
    assert record.request_id == expected  # type: ignore[attr-defined]


async def test_log_filter_formats_stdlib_records() -> None:
    """On a handler, the filter lets ``%(request_id)s`` format the ID of the request."""
    logger = logging.getLogger("tests.request_id.filter")
    handler = logging.Handler()
    lines: list[str] = []
    handler.emit = lambda record: lines.append(handler.format(record))  # type: ignore[method-assign]
    handler.setFormatter(logging.Formatter("%(request_id)s %(message)s"))
    handler.addFilter(RequestIDLogFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        logger.info("inside")
        await send(start(204))
        await send(body())

    try:
        await run(RequestIDMiddleware(app), http_scope(headers=[("x-request-id", VALID)]))
        logger.info("outside")
    finally:
        logger.removeHandler(handler)

    assert lines == [f"{VALID} inside", "- outside"]
