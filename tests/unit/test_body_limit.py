"""BodyLimitMiddleware on raw ASGI: the exact messages for each length, body, path and message.

Every test runs under asyncio and trio (the counting ``receive`` awaits the server's).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from asgi_middleware import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware.body_limit import BodyLimitMiddleware, RequestBodyTooLargeError
from asgi_middleware.body_limit._limits import declared_length, too_large_text
from tests.support.asgi import (
    Exchange,
    body,
    http_scope,
    lifespan_scope,
    respond,
    run,
    start,
    websocket_scope,
)

pytestmark = pytest.mark.anyio

LIMIT = 10
PLAIN = (b"content-type", b"text/plain; charset=utf-8")
CLOSE = (b"connection", b"close")
TOO_LARGE = [start(413, [PLAIN, (b"content-length", b"17"), CLOSE]), body(b"Content Too Large")]
OK = [
    start(200, [(b"content-type", b"text/plain"), (b"content-length", b"2")]),
    {"type": "http.response.body", "body": b"ok"},
]


def refusal(status: int, reason: bytes) -> list[dict[str, Any]]:
    """The complete refusal the middleware sends over HTTP/1.1."""
    length = str(len(reason)).encode()
    return [start(status, [PLAIN, (b"content-length", length), CLOSE]), body(reason)]


def chunk(data: bytes, *, more: bool = True) -> dict[str, Any]:
    """One ``http.request`` message."""
    return {"type": "http.request", "body": data, "more_body": more}


def length(value: str | bytes) -> list[tuple[str | bytes, str | bytes]]:
    """Request headers with one Content-Length field."""
    return [("host", "example.com"), ("content-length", value)]


CHUNKED = [("host", "example.com"), ("transfer-encoding", "chunked")]


class Reader:
    """An app that reads the whole body, records it, and answers ``ok``.

    It records the receive and send it was given and every message it received; the error it
    got from ``receive``, if any, is recorded and re-raised.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[Scope, Receive, Send]] = []
        self.received: list[Message] = []
        self.error: BaseException | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls.append((scope, receive, send))
        if scope["type"] == "http":
            await self.read(receive)
            await respond(send, b"ok")

    async def read(self, receive: Receive) -> None:
        """Read to the end of the body, recording each message."""
        while True:
            try:
                message = await receive()
            except RequestBodyTooLargeError as error:
                self.error = error
                raise
            self.received.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                return

    @property
    def body(self) -> bytes:
        """The body bytes the app received."""
        return b"".join(m.get("body", b"") for m in self.received if m["type"] == "http.request")


async def serve(
    scope: Mapping[str, Any],
    script: Sequence[Mapping[str, Any]] | None = None,
    app: ASGIApp | None = None,
    **options: Any,
) -> tuple[list[Mapping[str, Any]], Any]:
    """Run one request through the middleware (``max_body_size=LIMIT`` unless given)."""
    inner = Reader() if app is None else app
    options.setdefault("max_body_size", LIMIT)
    messages = await run(BodyLimitMiddleware(inner, **options), scope, script)
    return messages, inner


# --- Options -------------------------------------------------------------------------------------


def test_max_body_size_is_required() -> None:
    """There is no default: a service says how large a body it takes."""
    with pytest.raises(TypeError, match="max_body_size"):
        BodyLimitMiddleware(Reader())  # type: ignore[call-arg]


ZERO_HINT = "; 0 would refuse every body: for no limit on some paths, map them to None"
PATTERN_RULE = 'must be a path starting with "/"'
PATH_RULE = "a mapping of path pattern to a limit in bytes or None"


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"max_body_size": "10"}, TypeError, "max_body_size must be an int >= 1, got '10'"),
        ({"max_body_size": True}, TypeError, "max_body_size must be an int >= 1, got True"),
        ({"max_body_size": 1.5}, TypeError, "max_body_size must be an int >= 1, got 1.5"),
        ({"max_body_size": None}, TypeError, "max_body_size must be an int >= 1, got None"),
        ({"max_body_size": 0}, ValueError, f"max_body_size must be an int >= 1, got 0{ZERO_HINT}"),
        (
            {"max_body_size": -1},
            ValueError,
            f"max_body_size must be an int >= 1, got -1{ZERO_HINT}",
        ),
        (
            {"websocket_max_message_size": 0},
            ValueError,
            "websocket_max_message_size must be an int >= 1, got 0",
        ),
        (
            {"websocket_max_message_size": "1"},
            TypeError,
            "websocket_max_message_size must be an int >= 1, got",
        ),
        (
            {"path_limits": [("/x", 1)]},
            TypeError,
            f"path_limits must be {PATH_RULE}, got [('/x', 1)]",
        ),
        ({"path_limits": {"x": 1}}, ValueError, f"path_limits[0] {PATTERN_RULE}"),
        ({"path_limits": {"/a/*": 1, "/b*": 1}}, ValueError, f"path_limits[1] {PATTERN_RULE}"),
        ({"path_limits": {1: 1}}, TypeError, "path_limits[0] must be a str, got 1"),
        (
            {"path_limits": {"/x": 0}},
            ValueError,
            f"path_limits['/x'] must be an int >= 1, got 0{ZERO_HINT}",
        ),
        ({"path_limits": {"/x": "1"}}, TypeError, "path_limits['/x'] must be an int >= 1, got '1'"),
        (
            {"path_limits": {"/x": False}},
            TypeError,
            "path_limits['/x'] must be an int >= 1, got False",
        ),
    ],
)
def test_bad_options_are_refused_at_construction(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Each bad option fails at start-up with the SPEC §2.1 message, naming the item."""
    options.setdefault("max_body_size", LIMIT)
    with pytest.raises(error, match="^" + re.escape(message)):
        BodyLimitMiddleware(Reader(), **options)


LIMITS = {"/upload/avatar": 1, "/upload/*": 5, "/uploads": 7, "/a": 2, "/a-b/*": None, "/*": 9}


@pytest.mark.parametrize("reverse", [False, True], ids=["as-listed", "reversed"])
@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/upload/avatar", 1),
        ("/upload/x", 5),
        ("/upload", 5),
        ("/uploads", 7),
        ("/a", 2),
        ("/a-b/x", None),
        ("/b", 9),
    ],
)
async def test_the_most_specific_pattern_decides_whatever_the_order(
    path: str, limit: int | None, reverse: bool
) -> None:
    """Exact before prefix, longer prefix before shorter, "/*" last, in either order."""
    limits = dict(reversed(LIMITS.items())) if reverse else LIMITS
    statuses = []
    for size in (LIMIT if limit is None else limit, (LIMIT if limit is None else limit) + 1):
        scope = http_scope("POST", path, headers=length(str(size)))
        messages, _ = await serve(scope, [chunk(b"", more=False)], path_limits=limits)
        statuses.append(messages[0]["status"])

    assert statuses == ([200, 200] if limit is None else [200, 413])


@pytest.mark.parametrize(
    ("limits", "path", "declared"),
    [
        ({"/*": None, "/upload": 1}, "/upload", "2"),
        ({"/a/*": 5, "/a/b/*": 2}, "/a/b/c", "3"),
        ({"/a/*": 5, "/a": 2}, "/a", "3"),
    ],
)
async def test_a_general_pattern_listed_first_hides_nothing(
    limits: dict[str, int | None], path: str, declared: str
) -> None:
    """A catch-all or a shorter prefix listed first: the specific entry's smaller limit applies."""
    scope = http_scope("POST", path, headers=length(declared))

    messages, _ = await serve(scope, [chunk(b"", more=False)], path_limits=limits)

    assert messages == TOO_LARGE


def test_compose_role() -> None:
    """``compose`` knows the layer by its role."""
    assert BodyLimitMiddleware._compose_role == "body_limit"


def test_the_error_carries_the_limit() -> None:
    """The app's error says which limit the body went over, in its message and attribute."""
    error = RequestBodyTooLargeError(1024)

    assert error.limit == 1024
    assert str(error) == "the request body is larger than the limit of 1024 bytes"


# --- Parsers -------------------------------------------------------------------------------------


@given(st.binary(max_size=30))
@example(b"")
@example(b" 12\t")
@example(b"1" * 5000)
@example(b"0" * 40 + b"7")
@example("١٢".encode())
def test_declared_length_never_raises(value: bytes) -> None:
    """Any bytes: ``None`` unless digits (blanks around allowed), then their value, capped."""
    result = declared_length(value)

    stripped = value.strip(b" \t")
    if not (stripped.isdigit() and stripped.isascii()):
        assert result is None
    elif len(stripped.lstrip(b"0")) <= 19:
        assert result == int(stripped)
    else:
        assert result is not None
        assert result > 10**19


def test_declared_length_of_thousands_of_digits_is_over_every_limit() -> None:
    """int() of 5000 digits raises on Python 3.11+; the value is read as over every limit."""
    assert declared_length(b"9" * 5000) == 1 << 64
    assert declared_length(b"0" * 5000 + b"12") == 12


@given(st.text(max_size=40), st.integers(min_value=1, max_value=120))
@example("é" * 6, 11)
@example("é" * 6, 12)
@example("\U0001f600" * 3, 11)
@example("\ud800", 2)
def test_too_large_text_is_the_utf8_size(text: str, limit: int) -> None:
    """A text message's size is its UTF-8 length, whatever the characters."""
    assert too_large_text(text, limit) == (len(text.encode("utf-8", "surrogatepass")) > limit)


# --- Pass-through --------------------------------------------------------------------------------


async def test_lifespan_passes_through_untouched() -> None:
    """The very scope, receive and send reach the app."""
    seen: list[tuple[Any, ...]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, receive, send))

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        raise AssertionError

    scope = lifespan_scope()
    await BodyLimitMiddleware(app, max_body_size=1)(scope, receive, send)

    assert seen == [(scope, receive, send)]


@pytest.mark.parametrize("size", [0, 1, LIMIT])
async def test_a_content_length_within_the_limit_over_http1_passes_untouched(size: int) -> None:
    """The one fast path: the app gets the very scope, receive and send (no count needed)."""
    scope = http_scope("POST", headers=length(str(size)))
    exchange = Exchange("http", [chunk(b"x" * size, more=False)])
    app = Reader()

    await BodyLimitMiddleware(app, max_body_size=LIMIT)(scope, exchange.receive, exchange.send)

    assert app.calls == [(scope, exchange.receive, exchange.send)]
    assert app.body == b"x" * size
    assert exchange.sent == OK


async def test_a_request_without_a_body_is_answered() -> None:
    """A GET without Content-Length is counted (zero bytes) and answered as the app does."""
    scope = http_scope()

    messages, app = await serve(scope)

    assert messages == OK
    assert app.calls[0][0] is scope


async def test_a_path_without_a_limit_passes_untouched() -> None:
    """``None`` in path_limits: no check at all there, not even of a bad Content-Length."""
    scope = http_scope("POST", "/stream/in", headers=length("nope"))
    exchange = Exchange("http", [chunk(b"x" * 100, more=False)])
    app = Reader()
    middleware = BodyLimitMiddleware(app, max_body_size=LIMIT, path_limits={"/stream/*": None})

    await middleware(scope, exchange.receive, exchange.send)

    assert app.calls == [(scope, exchange.receive, exchange.send)]
    assert exchange.sent == OK


async def test_websockets_pass_untouched_without_a_message_limit() -> None:
    """Without websocket_max_message_size, the very scope, receive and send reach the app."""
    seen: list[tuple[Any, ...]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, receive, send))

    scope = websocket_scope()
    exchange = Exchange("websocket")
    await BodyLimitMiddleware(app, max_body_size=1)(scope, exchange.receive, exchange.send)

    assert seen == [(scope, exchange.receive, exchange.send)]


# --- Content-Length ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["11", "1000000", "9" * 5000, "00000000000000000000011"])
async def test_a_content_length_over_the_limit_gets_413_before_the_app(value: str) -> None:
    """413 with a complete plain body and connection: close; the app is never called."""
    messages, app = await serve(http_scope("POST", headers=length(value)))

    assert messages == TOO_LARGE
    assert app.calls == []


async def test_the_413_over_http2_has_no_connection_field() -> None:
    """HTTP/2 has no connection-specific fields (RFC 9113 §8.2.2): no ``connection: close``."""
    scope = http_scope("POST", headers=length("11"), http_version="2")

    messages, _ = await serve(scope)

    assert messages == [
        start(413, [PLAIN, (b"content-length", b"17")]),
        body(b"Content Too Large"),
    ]


@pytest.mark.parametrize(
    "value", ["abc", "-1", "+5", "1.0", "0x10", "", "1 0", "١٢".encode(), b"1\xff", b"\xb2"]
)
async def test_an_invalid_content_length_gets_400(value: str | bytes) -> None:
    """Not 1*DIGIT (RFC 9110 §8.6): 400 with the reason, and the app is never called."""
    messages, app = await serve(http_scope("POST", headers=length(value)))

    assert messages == refusal(400, b"Invalid Content-Length header")
    assert app.calls == []


@pytest.mark.parametrize(
    "headers",
    [
        [("content-length", "5"), ("content-length", "5")],
        [("Content-Length", "5"), ("content-length", "50")],
        [("content-length", "5, 5")],
        [("content-length", "5,5")],
    ],
)
async def test_a_repeated_content_length_gets_400(headers: list[tuple[str, str]]) -> None:
    """Two fields, even equal, or their combined list form: ambiguous framing, refused."""
    messages, app = await serve(http_scope("POST", headers=headers))

    assert messages == refusal(400, b"Repeated Content-Length header")
    assert app.calls == []


@pytest.mark.parametrize("name", ["Content-Length", "CONTENT-LENGTH", b"content-LENGTH"])
async def test_the_content_length_name_is_matched_in_any_case(name: str | bytes) -> None:
    """Servers lower-case names, raw ASGI callers may not."""
    messages, _ = await serve(http_scope("POST", headers=[(name, "11")]))

    assert messages == TOO_LARGE


async def test_blanks_around_the_content_length_are_ignored() -> None:
    """A server that leaves the field's blanks: the value is still read."""
    scope = http_scope("POST", headers=length(" 5\t"))

    messages, app = await serve(scope, [chunk(b"12345", more=False)])

    assert messages == OK
    assert app.body == b"12345"


async def test_leading_zeros_are_a_valid_length() -> None:
    """``0005`` is five bytes (1*DIGIT allows leading zeros)."""
    messages, _ = await serve(http_scope("POST", headers=length("0" * 30 + "5")))

    assert messages == OK


# --- Counting ------------------------------------------------------------------------------------


async def test_a_chunked_body_within_the_limit_reaches_the_app_as_it_came() -> None:
    """Every message is handed over, the very objects, in order."""
    script = [chunk(b"1234"), chunk(b"56789"), chunk(b"0", more=False)]

    messages, app = await serve(http_scope("POST", headers=CHUNKED), script)

    assert messages == OK
    assert app.received == script
    assert all(got is sent for got, sent in zip(app.received, script, strict=True))


async def test_the_crossing_chunk_is_never_handed_over_and_the_client_gets_413() -> None:
    """The app gets the chunks within the limit, then the error; the client the 413."""
    script = [chunk(b"1234"), chunk(b"56789"), chunk(b"01"), chunk(b"x", more=False)]

    messages, app = await serve(http_scope("POST", headers=CHUNKED), script)

    assert messages == TOO_LARGE
    assert app.body == b"123456789"
    assert isinstance(app.error, RequestBodyTooLargeError)
    assert app.error.limit == LIMIT


async def test_every_read_after_the_crossing_fails_too() -> None:
    """A body cut at the limit can never be read on as if it went on."""
    errors: list[BaseException] = []

    async def read(receive: Receive) -> None:
        try:
            await receive()
        except RequestBodyTooLargeError as error:
            errors.append(error)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for _ in range(3):
            await read(receive)

    script = [chunk(b"x" * 11), chunk(b"y", more=False)]
    messages, _ = await serve(http_scope("POST", headers=CHUNKED), script, app)

    assert messages == TOO_LARGE
    assert len(errors) == 3


@pytest.mark.parametrize(
    ("headers", "http_version"),
    [
        ([("content-length", "4"), ("transfer-encoding", "chunked")], "1.1"),
        ([("content-length", "4")], "2"),
        ([("content-length", "4")], "3"),
    ],
    ids=["length-beside-transfer-encoding", "http2", "http3"],
)
async def test_a_body_longer_than_its_content_length_is_counted(
    headers: list[tuple[str, str]], http_version: str
) -> None:
    """Where the server frames the body otherwise, a short length does not skip the count."""
    scope = http_scope("POST", headers=headers, http_version=http_version)
    script = [chunk(b"1234"), chunk(b"5678"), chunk(b"9", more=False)]

    messages, app = await serve(scope, script, max_body_size=8)

    too_large = (
        TOO_LARGE
        if http_version == "1.1"
        else [
            start(413, [PLAIN, (b"content-length", b"17")]),
            body(b"Content Too Large"),
        ]
    )
    assert messages == too_large
    assert app.body == b"12345678"


async def test_a_scope_without_http_version_is_counted() -> None:
    """Without ``http_version`` the framing is unknown: counted, and the 413 closes."""
    scope = http_scope("POST", headers=length("4"))
    del scope["http_version"]

    messages, _ = await serve(scope, [chunk(b"12345678901", more=False)])

    assert messages == TOO_LARGE


async def test_an_app_error_page_after_the_crossing_is_replaced_by_the_413() -> None:
    """The app catches the error and answers 500 itself: the client gets the 413 only."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            while (await receive()).get("more_body"):
                pass
        except RequestBodyTooLargeError:
            await send({"type": "http.response.early_hint", "links": []})
            await respond(send, b"Internal Server Error", status=500)

    messages, _ = await serve(http_scope("POST"), [chunk(b"x" * 11), chunk(b"")], app)

    assert messages == TOO_LARGE


async def test_an_error_group_of_the_limit_is_swallowed() -> None:
    """The app read in a task group, which wraps the error: still a 413, nothing raised."""
    app = Reader()

    async def grouped(scope: Scope, receive: Receive, send: Send) -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(app.read, receive)

    messages, _ = await serve(http_scope("POST"), [chunk(b"x" * 11, more=False)], grouped)

    assert messages == TOO_LARGE


async def test_another_error_after_the_crossing_propagates_after_the_413() -> None:
    """The app turns the error into its own: the client gets the 413, the server the error."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await receive()
        except RequestBodyTooLargeError as error:
            msg = "upload failed"
            raise RuntimeError(msg) from error

    exchange = Exchange("http", [chunk(b"x" * 11, more=False)])
    middleware = BodyLimitMiddleware(app, max_body_size=LIMIT)

    with pytest.raises(RuntimeError, match="upload failed"):
        await middleware(http_scope("POST"), exchange.receive, exchange.send)

    assert exchange.sent == TOO_LARGE


async def test_an_app_error_without_a_crossing_propagates_unchanged() -> None:
    """The middleware sends nothing of its own and the very exception comes out."""
    error = ValueError("boom")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        raise error

    exchange = Exchange("http", [chunk(b"x", more=False)])
    middleware = BodyLimitMiddleware(app, max_body_size=LIMIT)

    with pytest.raises(ValueError, match="boom") as raised:
        await middleware(http_scope("POST"), exchange.receive, exchange.send)

    assert raised.value is error
    assert exchange.sent == []


async def test_cancellation_after_the_crossing_is_never_swallowed() -> None:
    """The request is cancelled while the app handles the error: no 413, the cancel goes on."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await receive()
        except RequestBodyTooLargeError:
            await anyio.sleep_forever()

    exchange = Exchange("http", [chunk(b"x" * 11, more=False)])
    middleware = BodyLimitMiddleware(app, max_body_size=LIMIT)

    with anyio.move_on_after(0.05) as scope:
        await middleware(http_scope("POST"), exchange.receive, exchange.send)

    assert scope.cancelled_caught
    assert exchange.sent == []


async def test_a_crossing_after_the_response_started_aborts_it() -> None:
    """No 413 can follow a start: the app's next send raises, and so does the middleware."""
    sends: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200, [("content-type", "text/plain")]))
        await send(body(b"echo:", more_body=True))
        while True:
            try:
                message = await receive()
            except RequestBodyTooLargeError:
                try:
                    await send(body(b"more", more_body=True))
                except RequestBodyTooLargeError:
                    sends.append("refused")
                raise
            await send(body(message["body"], more_body=True))

    exchange = Exchange("http", [chunk(b"12345"), chunk(b"678901"), chunk(b"", more=False)])
    middleware = BodyLimitMiddleware(app, max_body_size=LIMIT)

    with pytest.raises(RequestBodyTooLargeError):
        await middleware(http_scope("POST"), exchange.receive, exchange.send)

    assert sends == ["refused"]
    assert exchange.sent == [
        start(200, [("content-type", "text/plain")]),
        body(b"echo:", more_body=True),
        body(b"12345", more_body=True),
    ]


async def test_an_app_that_swallows_the_error_after_starting_still_aborts() -> None:
    """The app returns as if all went well: the middleware raises so the server cuts the link."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200))
        try:
            await receive()
        except RequestBodyTooLargeError:
            return

    exchange = Exchange("http", [chunk(b"x" * 11, more=False)])

    with pytest.raises(RequestBodyTooLargeError, match="limit of 10 bytes"):
        await BodyLimitMiddleware(app, max_body_size=LIMIT)(
            http_scope("POST"), exchange.receive, exchange.send
        )

    assert exchange.sent == [start(200)]


async def test_another_error_after_a_started_crossing_propagates() -> None:
    """After a start, the app's own error is what the server sees; nothing more is sent."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200))
        try:
            await receive()
        except RequestBodyTooLargeError:
            msg = "stream broke"
            raise OSError(msg) from None

    exchange = Exchange("http", [chunk(b"x" * 11, more=False)])

    with pytest.raises(OSError, match="stream broke"):
        await BodyLimitMiddleware(app, max_body_size=LIMIT)(
            http_scope("POST"), exchange.receive, exchange.send
        )

    assert exchange.sent == [start(200)]


async def test_a_disconnect_passes_through_the_count() -> None:
    """``http.disconnect`` reaches the app as it came and counts nothing."""
    disconnect = {"type": "http.disconnect"}
    got: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        got.append(await receive())
        got.append(await receive())

    await serve(http_scope("POST"), [chunk(b"x" * 10), disconnect], app)

    assert got[1] is disconnect


async def test_extension_messages_pass_through_the_send_wrapper() -> None:
    """Messages the middleware does not know are forwarded as they came, in order."""
    hint = {"type": "http.response.early_hint", "links": ["</a.css>; rel=preload"]}
    debug = {"type": "http.response.debug", "info": {}}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send(hint)
        await send(debug)
        await respond(send, b"ok")

    messages, _ = await serve(http_scope("POST"), [chunk(b"x", more=False)], app)

    assert messages[0] is hint
    assert messages[1] is debug
    assert messages[2:] == OK


async def test_the_scope_and_messages_are_left_untouched() -> None:
    """The app gets the very scope; headers and messages are not edited."""
    scope = http_scope("POST", headers=CHUNKED)
    headers = list(scope["headers"])
    script = [chunk(b"x" * 11, more=False)]

    _, app = await serve(scope, script)

    assert app.calls[0][0] is scope
    assert scope["headers"] == headers
    assert script == [chunk(b"x" * 11, more=False)]


# --- Paths ---------------------------------------------------------------------------------------

PATHS = {"/upload/avatar": 4, "/upload/*": 100, "/stream": None}


@pytest.mark.parametrize(
    ("path", "root_path", "declared", "status"),
    [
        ("/upload/avatar", "", "5", 413),
        ("/upload/avatar", "", "4", 200),
        ("/upload/big", "", "100", 200),
        ("/upload/big", "", "101", 413),
        ("/upload", "", "100", 200),
        ("/uploads", "", "11", 413),
        ("/other", "", "10", 200),
        ("/other", "", "11", 413),
        ("/stream", "", "99999999", 200),
        ("/stream/x", "", "11", 413),
        ("/api/upload/big", "/api", "100", 200),
        ("/api/upload/avatar", "/api", "5", 413),
    ],
)  # fmt: skip
async def test_the_matching_path_decides_the_limit(
    path: str, root_path: str, declared: str, status: int
) -> None:
    """Exact and prefix patterns, relative to root_path; others get max_body_size."""
    scope = http_scope("POST", path, headers=length(declared), root_path=root_path)

    messages, _ = await serve(scope, path_limits=PATHS)

    assert messages[0]["status"] == status


async def test_a_path_limit_applies_to_a_counted_body() -> None:
    """The path's limit, not the default one, stops a chunked body."""
    scope = http_scope("POST", "/upload/avatar", headers=CHUNKED)

    messages, app = await serve(scope, [chunk(b"1234"), chunk(b"5")], path_limits=PATHS)

    assert messages == TOO_LARGE
    assert app.body == b"1234"


# --- WebSocket -----------------------------------------------------------------------------------


def ws_receive(*, data: bytes | None = None, text: str | None = None) -> dict[str, Any]:
    """One ``websocket.receive`` message."""
    return {"type": "websocket.receive", "bytes": data, "text": text}


class Echo:
    """A WebSocket app that accepts, echoes each message and records what it received."""

    def __init__(self) -> None:
        self.received: list[Message] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "websocket"
        self.received.append(await receive())  # websocket.connect
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            self.received.append(message)
            if message["type"] == "websocket.disconnect":
                await send({"type": "websocket.close"})  # dropped: already closed
                return
            data, text = message.get("bytes"), message.get("text")
            await send({"type": "websocket.send", "bytes": data, "text": text})


CONNECT = {"type": "websocket.connect"}
ACCEPT = {"type": "websocket.accept"}
TOO_BIG = {"type": "websocket.close", "code": 1009, "reason": "Message too big"}
DISCONNECTED = {"type": "websocket.disconnect", "code": 1009, "reason": ""}


@pytest.mark.parametrize(
    "message",
    [ws_receive(data=b"x" * LIMIT), ws_receive(text="x" * LIMIT), ws_receive(text="é" * 5)],
    ids=["bytes", "text", "text-multibyte"],
)
async def test_a_message_within_the_limit_reaches_the_app(message: dict[str, Any]) -> None:
    """At the limit exactly, in bytes of UTF-8 for text, the very message is handed over."""
    app = Echo()
    closing = {"type": "websocket.disconnect", "code": 1000}

    messages, _ = await serve(
        websocket_scope(), [CONNECT, message, closing], app, websocket_max_message_size=LIMIT
    )

    assert app.received[1] is message
    assert messages[:2] == [ACCEPT, {**message, "type": "websocket.send"}]


@pytest.mark.parametrize(
    "message",
    [ws_receive(data=b"x" * (LIMIT + 1)), ws_receive(text="x" * 11), ws_receive(text="é" * 6)],
    ids=["bytes", "text", "text-multibyte"],
)
async def test_a_message_over_the_limit_closes_with_1009(message: dict[str, Any]) -> None:
    """The server gets close 1009, the app a disconnect 1009; its later sends are dropped."""
    app = Echo()
    script = [CONNECT, ws_receive(data=b"ok"), message, ws_receive(data=b"late")]

    messages, _ = await serve(websocket_scope(), script, app, websocket_max_message_size=LIMIT)

    assert messages == [ACCEPT, {"type": "websocket.send", "bytes": b"ok", "text": None}, TOO_BIG]
    assert app.received[-1] == DISCONNECTED
    assert message not in app.received


async def test_reads_after_the_1009_close_return_the_disconnect_again() -> None:
    """The server is not asked again: its connection is closed."""
    got: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        got.extend([await receive(), await receive()])

    script = [CONNECT, ws_receive(data=b"x" * 11), ws_receive(data=b"never read")]
    exchange = Exchange("websocket", script)
    middleware = BodyLimitMiddleware(app, max_body_size=1, websocket_max_message_size=LIMIT)

    await middleware(websocket_scope(), exchange.receive, exchange.send)

    assert got == [DISCONNECTED, DISCONNECTED]
    assert exchange.script == [ws_receive(data=b"never read")]


async def test_the_websocket_limit_ignores_path_limits() -> None:
    """path_limits are for request bodies: a WebSocket on such a path keeps its own limit."""
    app = Echo()
    script = [CONNECT, ws_receive(data=b"x" * 11)]

    messages, _ = await serve(
        websocket_scope("/upload/ws"),
        script,
        app,
        path_limits={"/upload/*": None},
        websocket_max_message_size=LIMIT,
    )

    assert messages == [ACCEPT, TOO_BIG]
