"""The conformance checks: SPEC §2's rules, as executable checks over any middleware factory.

Each check is an async function taking a factory (``app -> wrapped app``) and the extra request
headers the middleware needs, and raising ``AssertionError`` when the rule is broken. The suite runs
every check against every registered middleware (``test_conformance.py``) and runs them against
deliberately broken middleware to prove each check can fail (``test_checks.py``).
"""

from __future__ import annotations

import contextvars
import copy
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import anyio

from asgi_middleware import ASGIApp, Receive, Scope, Send
from tests.conformance.registry import SUITE_REQUEST_HEADERS
from tests.support.asgi import Exchange, body, http_scope, lifespan_scope, websocket_scope

Factory = Callable[[ASGIApp], ASGIApp]
Headers = Sequence[tuple[bytes, bytes]]
Check = Callable[[Factory, Headers], Awaitable[None]]

_BODY = b'{"message": "hello"}' * 64


class Boom(Exception):  # noqa: N818 - a test exception, named for what it does
    """Raised by test apps; must come out of the middleware as the very same object."""


def _scope(extra_headers: Headers, **kwargs: Any) -> dict[str, Any]:
    return http_scope(headers=[*SUITE_REQUEST_HEADERS, *extra_headers], **kwargs)


async def _drive(
    wrapped: ASGIApp, scope: Mapping[str, Any], exchange: Exchange
) -> list[Mapping[str, Any]]:
    with anyio.fail_after(5):
        await wrapped(scope, exchange.receive, exchange.send)
    return exchange.sent


async def check_lifespan_passes_through(factory: Factory, extra_headers: Headers) -> None:
    """Lifespan reaches the app with the very scope, receive and send the server gave."""
    seen: list[tuple[object, object, object]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, receive, send))
        assert (await receive())["type"] == "lifespan.startup"
        await send({"type": "lifespan.startup.complete"})
        assert (await receive())["type"] == "lifespan.shutdown"
        await send({"type": "lifespan.shutdown.complete"})

    scope = lifespan_scope()
    exchange = Exchange("lifespan")
    sent = await _drive(factory(app), scope, exchange)
    assert seen == [(scope, exchange.receive, exchange.send)], "lifespan was not passed through"
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def check_unknown_scope_type_passes_through(factory: Factory, extra_headers: Headers) -> None:
    """A scope type nobody knows yet reaches the app untouched."""
    seen: list[tuple[object, object, object]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, receive, send))
        await send({"type": "x-future.event", "value": await receive()})

    scope = {"type": "x-future", "asgi": {"version": "3.0"}}
    exchange = Exchange("x-future", [{"type": "x-future.hello"}], validate=False)
    sent = await _drive(factory(app), scope, exchange)
    assert seen == [(scope, exchange.receive, exchange.send)], "unknown scope type was not passed"
    assert sent == [{"type": "x-future.event", "value": {"type": "x-future.hello"}}]


def _responder(start: Mapping[str, Any], *bodies: Mapping[str, Any]) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start)
        for message in bodies:
            await send(message)

    return app


async def check_start_without_headers(factory: Factory, extra_headers: Headers) -> None:
    """A start message without ``headers`` (allowed by ASGI) is handled, status kept."""
    app = _responder({"type": "http.response.start", "status": 201}, {"type": "http.response.body"})
    sent = await _drive(factory(app), _scope(extra_headers), Exchange("http"))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 201


async def check_scope_without_headers(
    factory: Factory, extra_headers: Headers, *, status: int = 200
) -> None:
    """An http scope without ``headers`` gets a response, not an exception.

    ``status`` is the one expected: the app's 200, or 400 from a layer that must refuse a
    request without ``Host`` (RFC 9112 §3.2), as a complete response.
    """
    scope = _scope(extra_headers)
    del scope["headers"]
    app = _responder(_start([(b"content-type", b"text/plain")]), body(b"ok"))
    sent = await _drive(factory(app), scope, Exchange("http"))
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == status
    assert sent[-1]["type"] == "http.response.body"
    assert not sent[-1].get("more_body", False)


def _start(headers: Any, status: int = 200) -> dict[str, Any]:
    # Not the kit's start(): these checks pass header lists exactly as given (tuples included).
    return {"type": "http.response.start", "status": status, "headers": headers}


async def check_tuple_headers(factory: Factory, extra_headers: Headers) -> None:
    """Header lists given as tuples (of tuples or of lists) work in scopes and start messages."""
    headers = ((b"content-type", b"application/json"), [b"x-app", b"1"])
    scope = _scope(extra_headers)
    scope["headers"] = tuple((name, value) for name, value in scope["headers"])
    app = _responder(_start(headers), body(_BODY))
    sent = await _drive(factory(app), scope, Exchange("http"))
    names = {bytes(name).lower() for name, _ in sent[0].get("headers", ())}
    assert {b"content-type", b"x-app"} <= names, f"app headers lost: {sent[0]!r}"


async def check_mixed_case_header_names(factory: Factory, extra_headers: Headers) -> None:
    """Mixed-case names from the app are understood and kept; names added are lower case."""
    app_headers = [(b"Content-Type", b"application/json"), (b"X-App", b"1")]
    app = _responder(_start(app_headers), body(_BODY))
    exchange = Exchange("http", validate=False)
    sent = await _drive(factory(app), _scope(extra_headers), exchange)
    out = [(bytes(name), bytes(value)) for name, value in sent[0].get("headers", ())]
    assert {name.lower() for name, _ in out} >= {b"content-type", b"x-app"}, out
    added = [name for name, _ in out if name not in {n for n, _ in app_headers}]
    assert all(name == name.lower() for name in added), f"upper-case names added: {added!r}"


async def check_inputs_never_mutated(factory: Factory, extra_headers: Headers) -> None:
    """The scope, the app's messages and their header lists are never changed in place.

    The one exception is the scope's ``state`` dict (SPEC §2.3): layers write into the server's,
    and add none to a scope that had none.

    The app reuses one start message for every response (as module-level constants do), so a
    middleware that edits it in place shows up as a changed object and as a second response that
    differs from the first.
    """
    start_message = _start([(b"content-type", b"application/json"), (b"vary", b"Cookie")])
    body_message = body(_BODY)
    app = _responder(start_message, body_message)
    wrapped = factory(app)
    snapshots = copy.deepcopy((start_message, body_message))
    responses = []
    for with_state in (True, False):
        scope = _scope(extra_headers)
        if not with_state:
            del scope["state"]
        scope_before = copy.deepcopy(scope)
        state = scope.get("state")
        sent = await _drive(wrapped, scope, Exchange("http"))
        # SPEC §2.3: the server's state dict is shared by every layer and may be written into;
        # it is never replaced, and a layer needing one where there is none creates its own.
        assert scope.get("state") is state, "the scope's state dict was replaced or added"
        assert {**scope, "state": None} == {**scope_before, "state": None}, (
            "the scope was changed in place"
        )
        assert (start_message, body_message) == snapshots, "the app's messages were changed"
        responses.append([dict(message) for message in sent])
    assert responses[0] == responses[1], "the second response differs from the first"


async def check_extension_messages_forwarded(factory: Factory, extra_headers: Headers) -> None:
    """Early hints, debug, unknown types and announced trailers are forwarded as sent, in order."""
    hint = {"type": "http.response.early_hint", "links": [b"</style.css>; rel=preload"]}
    debug = {"type": "http.response.debug", "info": {"template": "x"}}
    future = {"type": "http.response.x-future", "value": 1}
    trailers = {"type": "http.response.trailers", "headers": [(b"x-checksum", b"1")]}
    messages = [
        hint,
        debug,
        _start([(b"content-type", b"application/json")]) | {"trailers": True},
        future,
        body(_BODY),
        trailers,
    ]
    scope = _scope(
        [*extra_headers, (b"te", b"trailers")],
        extensions={"http.response.early_hint": {}, "http.response.trailers": {}},
    )

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)

    sent = await _drive(factory(app), scope, Exchange("http"))
    forwarded = [
        m for m in sent if any(m is original for original in (hint, debug, future, trailers))
    ]
    assert forwarded == [hint, debug, future, trailers], f"extension messages lost: {sent!r}"
    assert sent[-1] is trailers, "trailers must come after the final body"


async def check_pathsend_forwarded(factory: Factory, extra_headers: Headers) -> None:
    """``http.response.pathsend`` reaches the server unchanged (nobody reads the file)."""
    pathsend = {"type": "http.response.pathsend", "path": "/srv/static/big.bin"}
    app = _responder(
        _start([(b"content-type", b"application/octet-stream"), (b"content-length", b"9999")]),
        pathsend,
    )
    scope = _scope(extra_headers, extensions={"http.response.pathsend": {}})
    sent = await _drive(factory(app), scope, Exchange("http"))
    assert sent[-1] is pathsend, f"pathsend not forwarded as sent: {sent!r}"


async def check_zerocopysend_forwarded_when_offered(
    factory: Factory, extra_headers: Headers
) -> None:
    """If the app is still offered zero-copy send, its message reaches the server unchanged."""
    offered: list[bool] = []
    zerocopy = {"type": "http.response.zerocopysend", "file": 3, "more_body": False}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        offered.append("http.response.zerocopysend" in scope.get("extensions", {}))
        await send(_start([(b"content-type", b"application/octet-stream")]))
        if offered[0]:
            await send(zerocopy)
        else:
            await send(body(_BODY))

    scope = _scope(extra_headers, extensions={"http.response.zerocopysend": {}})
    sent = await _drive(factory(app), scope, Exchange("http"))
    if offered[0]:
        assert sent[-1] is zerocopy, f"zerocopysend not forwarded: {sent!r}"
    else:
        assert sent[-1]["type"] == "http.response.body"


async def check_disconnect_passes_through_receive(factory: Factory, extra_headers: Headers) -> None:
    """``http.request`` and ``http.disconnect`` reach the app as the server sent them."""
    script: list[dict[str, Any]] = [
        {"type": "http.request", "body": b"abc", "more_body": False},
        {"type": "http.disconnect"},
    ]
    received: list[Mapping[str, Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        received.extend([await receive(), await receive()])
        await send(_start([(b"content-type", b"text/plain")]))
        await send(body(b"bye"))

    await _drive(factory(app), _scope(extra_headers), Exchange("http", list(script)))
    assert received == script, f"receive changed the messages: {received!r}"


async def check_exception_propagates(factory: Factory, extra_headers: Headers) -> None:
    """An exception from the app comes out unchanged, before or after the response started."""
    for started in (False, True):
        error = Boom(f"started={started}")

        async def app(
            scope: Scope, receive: Receive, send: Send, *, _s: bool = started, _e: Boom = error
        ) -> None:
            if _s:
                await send(_start([(b"content-type", b"text/plain")]))
            raise _e

        try:
            await _drive(factory(app), _scope(extra_headers), Exchange("http"))
        except Boom as exc:
            # Checks raise AssertionError, which pytest.raises would not: compare by hand.
            if exc is not error:
                raise AssertionError("a different exception came out") from exc
        else:
            raise AssertionError(f"the exception was swallowed (started={started})")


async def check_streaming_not_buffered(factory: Factory, extra_headers: Headers) -> None:
    """Each streamed body chunk reaches the server before the app produces the next one."""
    exchange = Exchange("http")
    arrived = anyio.Event()
    chunk = b'{"event": "tick", "payload": "' + b"x" * 600 + b'"}\n'

    async def server_send(message: Mapping[str, Any]) -> None:
        await exchange.send(message)
        if message["type"] == "http.response.body" and message.get("body"):
            arrived.set()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal arrived
        await send(_start([(b"content-type", b"application/x-ndjson")]))
        for _ in range(3):
            arrived = anyio.Event()
            await send(body(chunk, more_body=True))
            with anyio.move_on_after(1):
                await arrived.wait()
            assert arrived.is_set(), "a streamed chunk was held back"
        await send(body(b"", more_body=False))

    with anyio.fail_after(10):
        await factory(app)(_scope(extra_headers), exchange.receive, server_send)


async def check_no_contextvar_leak(factory: Factory, extra_headers: Headers) -> None:
    """Every context variable is back to its value once the request is over."""
    wrapped = factory(_responder(_start([(b"content-type", b"text/plain")]), body(b"ok")))
    scope = _scope(extra_headers)
    exchange = Exchange("http")
    before = dict(contextvars.copy_context())
    await wrapped(scope, exchange.receive, exchange.send)
    after = dict(contextvars.copy_context())
    assert after == before, f"context variables leaked: {set(after.items()) ^ set(before.items())}"


async def check_websocket_messages_forwarded(factory: Factory, extra_headers: Headers) -> None:
    """A WebSocket session's frames and close reach each side unchanged."""
    frames = [
        {"type": "websocket.send", "text": "hello"},
        {"type": "websocket.send", "bytes": b"\x00"},
    ]
    close = {"type": "websocket.close", "code": 1000, "reason": "done"}
    incoming = {"type": "websocket.receive", "text": "ping"}
    received: list[Mapping[str, Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        received.append(await receive())
        await send({"type": "websocket.accept", "subprotocol": None, "headers": []})
        received.append(await receive())
        for frame in frames:
            await send(frame)
        await send(close)

    scope = websocket_scope(headers=[*SUITE_REQUEST_HEADERS, *extra_headers])
    exchange = Exchange("websocket", [{"type": "websocket.connect"}, incoming])
    sent = await _drive(factory(app), scope, exchange)
    assert received[1] is incoming, "a received frame was changed"
    # Every registered case is configured to let the suite's session through (registry.py), so a
    # refusal here is a lost session, not a pass: the frames below must be checked every time.
    assert sent[0]["type"] == "websocket.accept", f"the session was refused: {sent!r}"
    assert sent[1:] == [*frames, close], f"frames changed or lost: {sent!r}"
    assert all(a is b for a, b in zip(sent[1:], [*frames, close], strict=True))


CHECKS: tuple[Check, ...] = (
    check_lifespan_passes_through,
    check_unknown_scope_type_passes_through,
    check_start_without_headers,
    check_scope_without_headers,
    check_tuple_headers,
    check_mixed_case_header_names,
    check_inputs_never_mutated,
    check_extension_messages_forwarded,
    check_pathsend_forwarded,
    check_zerocopysend_forwarded_when_offered,
    check_disconnect_passes_through_receive,
    check_exception_propagates,
    check_streaming_not_buffered,
    check_no_contextvar_leak,
    check_websocket_messages_forwarded,
)
