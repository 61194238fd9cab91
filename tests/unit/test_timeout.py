"""TimeoutMiddleware on raw ASGI: the 504, the cancellation under asyncio and trio, the options.

Apps that must time out wait forever (``anyio.sleep_forever``), so only the middleware ends them;
deadlines are tens of milliseconds and every wait the tests rely on is several times longer.
"""

from __future__ import annotations

import asyncio
import builtins
import contextvars
import importlib
import time
from collections.abc import Mapping
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from asgi_middleware import ASGIApp, Receive, Scope, Send
from asgi_middleware.timeout import TimeoutMiddleware
from asgi_middleware.timeout._deadline import CANCEL_MESSAGE, ours_counted, ours_flagged
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

# Built in since Python 3.11; before, the backport anyio depends on (mypy checks as 3.10).
GroupType: Any = (
    getattr(builtins, "BaseExceptionGroup", None)
    or importlib.import_module("exceptiongroup").BaseExceptionGroup
)

SHORT = 0.05  # a deadline the tests wait out
LONG = 5.0  # a deadline no test reaches
GATEWAY_TIMEOUT = [
    start(504, [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"15")]),
    body(b"Gateway Timeout"),
]
OK = [
    start(200, [(b"content-type", b"text/plain"), (b"content-length", b"2")]),
    {"type": "http.response.body", "body": b"ok"},
]
ASYNCIO_ONLY = pytest.mark.parametrize("anyio_backend", ["asyncio"])
TRIO_ONLY = pytest.mark.parametrize("anyio_backend", ["trio"])
VARIABLE: contextvars.ContextVar[str] = contextvars.ContextVar("test_timeout", default="unset")


class Boom(Exception):  # noqa: N818 - a test exception, named for what it does
    """Raised by test apps."""


async def ok_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer ``ok`` at once."""
    await respond(send, b"ok")


async def hanging_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Never answer."""
    await anyio.sleep_forever()


def answering_after(seconds: float) -> ASGIApp:
    """An app that waits ``seconds``, then answers ``ok``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await anyio.sleep(seconds)
        await respond(send, b"ok")

    return app


def streaming(*chunks: tuple[float, bytes], trailers: bool = False) -> ASGIApp:
    """An app that starts at once, then sends each chunk after its delay; the last one ends it."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200, [(b"content-type", b"text/plain")], trailers=trailers))
        for index, (delay, chunk) in enumerate(chunks):
            await anyio.sleep(delay)
            await send(body(chunk, more_body=index < len(chunks) - 1))

    return app


async def timed_run(
    app: ASGIApp, scope: Mapping[str, Any] | None = None
) -> tuple[list[Mapping[str, Any]], float]:
    """Run one request; return the messages and the seconds it took."""
    began = time.monotonic()
    messages = await run(app, http_scope() if scope is None else scope)
    return messages, time.monotonic() - began


# --- Options -------------------------------------------------------------------------------------


SECONDS = "must be a finite number of seconds > 0"


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"timeout": "5"}, TypeError, f"timeout {SECONDS} or None, got '5'"),
        ({"timeout": True}, TypeError, f"timeout {SECONDS} or None, got True"),
        ({"timeout": 0}, ValueError, f"timeout {SECONDS}, got 0"),
        ({"timeout": -1.5}, ValueError, f"timeout {SECONDS}, got -1.5"),
        ({"timeout": float("nan")}, ValueError, f"timeout {SECONDS}, got nan"),
        (
            {"timeout": float("inf")},
            ValueError,
            f"timeout {SECONDS}, got inf; use None for no timeout",
        ),
        ({"timeout": 10**400}, ValueError, f"timeout {SECONDS}, got 1000..."),
        ({"timeout": 1, "path_timeouts": ["/a"]}, TypeError, "path_timeouts must be a mapping..."),
        (
            {"timeout": 1, "path_timeouts": {"a": 1}},
            ValueError,
            "path_timeouts[0] must be a path...",
        ),
        (
            {"timeout": 1, "path_timeouts": {1: 1}},
            TypeError,
            "path_timeouts[0] must be a str, got 1",
        ),
        (
            {"timeout": 1, "path_timeouts": {"/a": "1"}},
            TypeError,
            f"path_timeouts['/a'] {SECONDS} or None, got '1'",
        ),
        (
            {"timeout": 1, "path_timeouts": {"/a/*": 0.0}},
            ValueError,
            f"path_timeouts['/a/*'] {SECONDS}, got 0.0",
        ),
        (
            {"timeout": 1, "path_timeouts": {"/b": float("inf")}},
            ValueError,
            f"path_timeouts['/b'] {SECONDS}, got inf; use None for no timeout",
        ),
        ({"timeout": 1, "total_timeout": "9"}, TypeError, f"total_timeout {SECONDS}, got '9'"),
        (
            {"timeout": 1, "total_timeout": float("inf")},
            ValueError,
            f"total_timeout {SECONDS}, got inf",
        ),
        (
            {"timeout": 10, "total_timeout": 10},
            ValueError,
            (
                "total_timeout must be longer than every timeout, got 10; it starts with the "
                "request, and a timeout is 10s"
            ),
        ),
        (
            {"timeout": 1, "total_timeout": 30, "path_timeouts": {"/x": None, "/y/*": 45}},
            ValueError,
            (
                "total_timeout must be longer than every timeout, got 30; it starts with the "
                "request, and a timeout is 45s"
            ),
        ),
    ],
)
def test_bad_options_are_refused_at_construction(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Each bad option fails at start-up with the SPEC §2.1 message (and a hint where useful).

    A message ending in ``...`` is the start of the whole message; any other is all of it.
    """
    with pytest.raises(error) as caught:
        TimeoutMiddleware(ok_app, **options)

    if message.endswith("..."):
        assert str(caught.value).startswith(message[:-3])
    else:
        assert str(caught.value) == message


@pytest.mark.parametrize(
    "options",
    [{"timeout": None}, {"timeout": None, "path_timeouts": {"/events/*": None}}],
    ids=["no-timeout", "only-none-paths"],
)
def test_a_total_timeout_with_no_timeout_anywhere_is_refused(options: dict[str, Any]) -> None:
    """It would apply nowhere (it goes with a timeout), so it is a mistake caught at start-up."""
    with pytest.raises(ValueError, match=r"^total_timeout must be used with a timeout") as caught:
        TimeoutMiddleware(ok_app, total_timeout=SHORT, **options)

    assert str(caught.value) == (
        f"total_timeout must be used with a timeout, got {SHORT}; it applies only where a "
        "timeout does: set timeout, or path_timeouts"
    )


@TRIO_ONLY
@pytest.mark.parametrize("total", [None, LONG * 2])
async def test_a_start_after_the_deadline_from_a_thread_is_a_504_under_trio(
    total: float | None,
) -> None:
    """trio: an app back from a worker thread after the deadline is cancelled before it starts.

    The thread could not be cancelled; the start it sends next must not reach the server, or
    the client would get a cut response instead of the 504.
    """
    import trio  # noqa: PLC0415

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await trio.to_thread.run_sync(time.sleep, SHORT * 3)
        await send(start(200))
        await send(body(b"late"))

    async def server_send(message: Any) -> None:
        await trio.lowlevel.checkpoint()  # as a real server's send does
        sent.append(message)

    sent: list[Any] = []
    middleware = TimeoutMiddleware(app, timeout=SHORT, total_timeout=total)
    await middleware(http_scope(), Exchange("http").receive, server_send)

    assert sent == GATEWAY_TIMEOUT


def test_timeout_is_required() -> None:
    """There is no default deadline: the option must be given, even as ``None``."""
    with pytest.raises(TypeError, match="timeout"):
        TimeoutMiddleware(ok_app)  # type: ignore[call-arg]


def test_compose_role() -> None:
    """``compose`` knows the layer by its role."""
    assert TimeoutMiddleware._compose_role == "timeout"


def test_per_request_state_cannot_land_on_the_instance() -> None:
    """``__slots__``: an attribute set by mistake on the request path fails at once."""
    middleware = TimeoutMiddleware(ok_app, timeout=1)
    with pytest.raises(AttributeError):
        middleware.started = True  # type: ignore[attr-defined]


# --- In time -------------------------------------------------------------------------------------


async def test_a_response_in_time_is_forwarded_unchanged() -> None:
    """The very messages the app sent reach the server, in order; nothing is added."""
    sent: list[Mapping[str, Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in (
            {"type": "http.response.early_hint", "links": ["</a.css>; rel=preload"]},
            start(200, [(b"X-Mixed", b"Case")], trailers=True),
            body(b"a", more_body=True),
            body(b"b"),
            {"type": "http.response.trailers", "headers": [], "more_trailers": False},
        ):
            sent.append(message)
            await send(message)

    # Not validated: the app's mixed-case header is the app's, passed on as it came.
    messages = await run(TimeoutMiddleware(app, timeout=LONG), http_scope(), validate=False)

    assert messages == sent
    assert all(got is given for got, given in zip(messages, sent, strict=True))


async def test_the_app_gets_the_scope_and_receive_it_was_given() -> None:
    """No copy of the scope, no receive wrapper: the app reads the request as it came."""
    seen: list[tuple[Scope, Receive]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, receive))
        assert await receive() == {"type": "http.request", "body": b"x", "more_body": False}
        await respond(send, b"ok")

    scope = http_scope()
    exchange = Exchange("http", [{"type": "http.request", "body": b"x", "more_body": False}])
    await TimeoutMiddleware(app, timeout=LONG)(scope, exchange.receive, exchange.send)

    assert seen == [(scope, exchange.receive)]
    assert seen[0][0] is scope
    assert exchange.sent == OK


async def test_the_deadline_is_stopped_once_the_app_answered() -> None:
    """After an answer in time the timer is gone: the caller's task is never cancelled later."""
    messages = await run(TimeoutMiddleware(ok_app, timeout=SHORT), http_scope())
    await anyio.sleep(SHORT * 3)  # would be cancelled (and fail) if the timer were still armed

    assert messages == OK


async def test_the_deadline_is_stopped_when_the_app_fails() -> None:
    """An error before the deadline propagates as it came, and the timer is gone with it."""
    error = Boom("no")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise error

    with pytest.raises(Boom) as caught:
        await run(TimeoutMiddleware(app, timeout=SHORT), http_scope())
    await anyio.sleep(SHORT * 3)

    assert caught.value is error


async def test_a_started_response_is_never_cut() -> None:
    """A stream that started in time runs on past the deadline, every chunk forwarded."""
    app = streaming((SHORT * 2, b"a"), (SHORT * 2, b"b"))

    messages, elapsed = await timed_run(TimeoutMiddleware(app, timeout=SHORT))

    assert messages == [
        start(200, [(b"content-type", b"text/plain")], trailers=False),
        body(b"a", more_body=True),
        body(b"b"),
    ]
    assert elapsed >= SHORT * 4


async def test_an_early_hint_does_not_stop_the_deadline() -> None:
    """Only ``http.response.start`` counts as the response starting: a 103 does not."""
    hint = {"type": "http.response.early_hint", "links": ["</a.css>; rel=preload"]}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(hint)
        await anyio.sleep_forever()

    messages = await run(TimeoutMiddleware(app, timeout=SHORT), http_scope())

    assert messages == [hint, *GATEWAY_TIMEOUT]


# --- Too late: 504 -------------------------------------------------------------------------------


async def test_no_response_in_time_is_a_504() -> None:
    """The app is cancelled at the deadline and the client gets a complete plain 504."""
    messages, elapsed = await timed_run(TimeoutMiddleware(hanging_app, timeout=SHORT))

    assert messages == GATEWAY_TIMEOUT
    assert SHORT <= elapsed < SHORT + 1


async def test_an_int_timeout_is_seconds() -> None:
    """``timeout=1`` is one second, not a millisecond."""
    app = TimeoutMiddleware(answering_after(0.1), timeout=1)

    assert await run(app, http_scope()) == OK


async def test_each_504_is_a_new_message_with_a_new_header_list() -> None:
    """Nothing of one refusal is shared with the next, which an outer layer could edit."""
    app = TimeoutMiddleware(hanging_app, timeout=SHORT)

    first = await run(app, http_scope())
    second = await run(app, http_scope())

    assert first == second == GATEWAY_TIMEOUT
    assert first[0] is not second[0]
    assert first[0]["headers"] is not second[0]["headers"]


async def test_the_app_unwinds_before_the_504() -> None:
    """``finally`` blocks, context managers and contextvar resets run first, then the 504."""
    events: list[str] = []

    class Resource:
        async def __aenter__(self) -> None:
            events.append("open")

        async def __aexit__(self, *exc_info: object) -> None:
            events.append("close")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        token = VARIABLE.set("in the app")
        try:
            async with Resource():
                await anyio.sleep_forever()
        finally:
            # Work that awaits while unwinding, shielded as cleanup must be under trio.
            with anyio.CancelScope(shield=True):
                await anyio.sleep(SHORT)
            VARIABLE.reset(token)
            events.append("finally")

    async def send(message: Mapping[str, Any]) -> None:
        events.append(f"sent {message['type']} with {VARIABLE.get()}")
        await exchange.send(message)

    exchange = Exchange("http")
    middleware = TimeoutMiddleware(app, timeout=SHORT)
    await middleware(http_scope(), exchange.receive, send)

    assert events == [
        "open",
        "close",
        "finally",
        "sent http.response.start with unset",
        "sent http.response.body with unset",
    ]
    assert exchange.sent == GATEWAY_TIMEOUT
    assert VARIABLE.get() == "unset"


async def test_a_task_group_in_the_app_is_closed() -> None:
    """The app's child tasks are cancelled and awaited: nothing outlives the request."""
    events: list[str] = []

    async def child() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            events.append("child unwound")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(child)
                await anyio.sleep_forever()
        finally:
            events.append("group closed")

    messages = await run(TimeoutMiddleware(app, timeout=SHORT), http_scope())

    assert events == ["child unwound", "group closed"]
    assert messages == GATEWAY_TIMEOUT


@ASYNCIO_ONLY
async def test_no_asyncio_task_is_left_behind() -> None:
    """The middleware starts no task, and the app's are gone when the 504 is sent."""
    before = asyncio.all_tasks()
    during: list[set[asyncio.Task[Any]]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(anyio.sleep_forever)
            group.start_soon(anyio.sleep_forever)
            await anyio.lowlevel.checkpoint()
            during.append(asyncio.all_tasks() - before)
            await anyio.sleep_forever()

    async def send(message: Mapping[str, Any]) -> None:
        during.append(asyncio.all_tasks() - before)
        await exchange.send(message)

    exchange = Exchange("http")
    await TimeoutMiddleware(app, timeout=SHORT)(http_scope(), exchange.receive, send)

    assert [len(tasks) for tasks in during] == [2, 0, 0]
    assert asyncio.all_tasks() == before
    assert exchange.sent == GATEWAY_TIMEOUT


@ASYNCIO_ONLY
async def test_the_cancel_request_is_withdrawn_after_a_504() -> None:
    """Python 3.11+: the task's cancel count is back to where it was, for the layers around."""
    task = asyncio.current_task()
    assert task is not None
    cancelling = getattr(task, "cancelling", lambda: 0)
    before = cancelling()

    messages = await run(TimeoutMiddleware(hanging_app, timeout=SHORT), http_scope())

    assert messages == GATEWAY_TIMEOUT
    assert cancelling() == before
    await anyio.lowlevel.checkpoint()  # and no cancellation is pending for the next await


@ASYNCIO_ONLY
async def test_the_app_sees_our_cancel_message() -> None:
    """Under asyncio the ``CancelledError`` says where it came from."""
    seen: list[tuple[object, ...]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await asyncio.sleep(LONG)
        except asyncio.CancelledError as error:
            seen.append(error.args)
            raise

    messages = await run(TimeoutMiddleware(app, timeout=SHORT), http_scope())

    assert seen == [(CANCEL_MESSAGE,)]
    assert messages == GATEWAY_TIMEOUT


@TRIO_ONLY
async def test_a_trio_nursery_in_the_app_closes() -> None:
    """Under trio the app's nursery is cancelled whole and closes before the 504."""
    import trio  # noqa: PLC0415 - only under the trio backend

    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(trio.sleep_forever)
                await trio.sleep_forever()
        finally:
            events.append("nursery closed")

    async def send(message: Mapping[str, Any]) -> None:
        events.append(message["type"])
        await exchange.send(message)

    exchange = Exchange("http")
    await TimeoutMiddleware(app, timeout=SHORT)(http_scope(), exchange.receive, send)

    assert events == ["nursery closed", "http.response.start", "http.response.body"]
    assert exchange.sent == GATEWAY_TIMEOUT


# --- Cancellations that are not ours -------------------------------------------------------------


async def test_an_outer_cancellation_propagates_and_is_not_a_504() -> None:
    """The server cancelling the request before the deadline: the cancellation goes out."""
    exchange = Exchange("http")
    middleware = TimeoutMiddleware(hanging_app, timeout=LONG)

    with anyio.CancelScope() as outer:
        outer.deadline = anyio.current_time() + SHORT
        await middleware(http_scope(), exchange.receive, exchange.send)
        pytest.fail("the cancellation was swallowed")

    assert outer.cancelled_caught
    assert exchange.sent == []


@ASYNCIO_ONLY
async def test_an_outer_cancellation_while_unwinding_propagates() -> None:
    """asyncio: cancelled from outside after our deadline fired, the task still ends cancelled."""
    unwinding = anyio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await asyncio.sleep(LONG)
        finally:
            unwinding.set()
            await asyncio.sleep(LONG)  # slow cleanup, interrupted by the server

    exchange = Exchange("http")
    middleware = TimeoutMiddleware(app, timeout=SHORT)
    task = asyncio.ensure_future(middleware(http_scope(), exchange.receive, exchange.send))
    await unwinding.wait()
    task.cancel("server shutdown")
    with pytest.raises(asyncio.CancelledError):
        await task

    assert task.cancelled()
    assert exchange.sent == []
    assert getattr(task, "cancelling", lambda: 1)() == 1  # ours withdrawn, the server's kept


@ASYNCIO_ONLY
async def test_our_deadline_while_unwinding_from_an_outer_cancellation() -> None:
    """asyncio: the server cancelled first and cleanup outlasts our deadline.

    From Python 3.11 the task's cancel count tells the two apart: the task ends cancelled, no
    504. Python 3.10 has no count and the last error carries our message, so the request ends
    with a 504 (documented).
    """
    unwinding = anyio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await asyncio.sleep(LONG)
        finally:
            unwinding.set()
            await asyncio.sleep(SHORT * 4)  # slow cleanup, interrupted at our deadline

    exchange = Exchange("http")
    middleware = TimeoutMiddleware(app, timeout=SHORT)
    task = asyncio.ensure_future(middleware(http_scope(), exchange.receive, exchange.send))
    await asyncio.sleep(0)
    task.cancel("server shutdown")
    await unwinding.wait()
    if hasattr(asyncio.Task, "uncancel"):
        with pytest.raises(asyncio.CancelledError):
            await task
        assert exchange.sent == []
    else:
        await task
        assert exchange.sent == GATEWAY_TIMEOUT


@TRIO_ONLY
async def test_an_outer_trio_cancellation_after_the_deadline_propagates() -> None:
    """trio: an outer scope cancelled while the app unwinds after our deadline gets its own."""
    import trio  # noqa: PLC0415 - only under the trio backend

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                outer.cancel()
                await trio.sleep(SHORT)

    exchange = Exchange("http")
    with trio.CancelScope() as outer:
        await TimeoutMiddleware(app, timeout=SHORT)(http_scope(), exchange.receive, exchange.send)

    assert outer.cancelled_caught
    assert exchange.sent == []


async def test_an_error_while_unwinding_propagates_instead_of_a_504() -> None:
    """An app whose cleanup fails after the deadline: its error goes out, as it came."""
    error = Boom("cleanup failed")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await anyio.sleep_forever()
        finally:
            raise error

    with pytest.raises(Boom) as caught:
        await run(TimeoutMiddleware(app, timeout=SHORT), http_scope())

    assert caught.value is error


# --- Apps that catch the cancellation ------------------------------------------------------------


async def test_an_app_that_catches_the_cancellation_and_returns_still_gets_a_504() -> None:
    """Returning quietly after the deadline without a response: the client still gets 504."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            return

    assert await run(TimeoutMiddleware(app, timeout=SHORT), http_scope()) == GATEWAY_TIMEOUT


@ASYNCIO_ONLY
async def test_an_app_that_keeps_going_under_asyncio_is_waited_for() -> None:
    """Cancelled once under asyncio, an app that swallows it runs to its end, then 504."""
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            events.append("cancelled")
        await asyncio.sleep(SHORT)  # not cancelled again
        events.append("carried on")

    messages, elapsed = await timed_run(TimeoutMiddleware(app, timeout=SHORT))

    assert events == ["cancelled", "carried on"]
    assert messages == GATEWAY_TIMEOUT
    assert elapsed >= SHORT * 2


@TRIO_ONLY
async def test_an_app_that_keeps_going_under_trio_is_cancelled_again() -> None:
    """Under trio cancellation is level-triggered: the next await of the app is cancelled too."""
    import trio  # noqa: PLC0415 - only under the trio backend

    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            events.append("cancelled")
        try:
            await trio.sleep(LONG)
        except trio.Cancelled:
            events.append("cancelled again")
            raise

    messages, elapsed = await timed_run(TimeoutMiddleware(app, timeout=SHORT))

    assert events == ["cancelled", "cancelled again"]
    assert messages == GATEWAY_TIMEOUT
    assert elapsed < 1


async def test_a_response_the_app_sends_after_the_deadline_is_forwarded() -> None:
    """An app that catches the cancellation and answers anyway keeps its answer, not a 504."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            # Shielded: under trio every await after the deadline would be cancelled again.
            with anyio.CancelScope(shield=True):
                await respond(send, b"busy", status=503)

    messages = await run(TimeoutMiddleware(app, timeout=SHORT), http_scope())

    assert messages == [
        start(503, [(b"content-type", b"text/plain"), (b"content-length", b"4")]),
        {"type": "http.response.body", "body": b"busy"},
    ]


@ASYNCIO_ONLY
async def test_a_late_start_does_not_arm_the_total_deadline() -> None:
    """asyncio: the task is cancelled once; a response started after that runs to its end."""
    task = asyncio.current_task()
    assert task is not None
    cancelling = getattr(task, "cancelling", lambda: 0)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            await send(start(200))
            await asyncio.sleep(SHORT * 3)  # past the total deadline, and not cancelled again
            await send(body(b"late"))

    middleware = TimeoutMiddleware(app, timeout=SHORT, total_timeout=SHORT * 2)
    messages = await run(middleware, http_scope())

    assert messages == [start(200), body(b"late")]
    assert cancelling() == 0


async def test_a_late_start_ended_by_the_cancellation_raises_timeout_error() -> None:
    """A response the app started only after the deadline and then abandoned is cut loudly."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await send(start(200))

    with pytest.raises(TimeoutError, match="the response was cut, its app ended by the cancel"):
        await run(TimeoutMiddleware(app, timeout=SHORT), http_scope())


# --- The total deadline --------------------------------------------------------------------------


async def test_the_total_deadline_cuts_a_stream_by_raising() -> None:
    """With ``total_timeout`` a stream still going is cancelled and ``TimeoutError`` raised."""
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200))
        try:
            while True:
                await send(body(b"tick", more_body=True))
                await anyio.sleep(SHORT)
        finally:
            events.append("finally")

    exchange = Exchange("http")
    middleware = TimeoutMiddleware(app, timeout=SHORT, total_timeout=SHORT * 4)
    began = time.monotonic()
    with pytest.raises(TimeoutError) as caught:
        await middleware(http_scope(), exchange.receive, exchange.send)

    assert str(caught.value) == (
        "the response was cut, it was not complete within total_timeout=0.2s; "
        "the connection is closed"
    )
    assert caught.value.__context__ is None
    assert events == ["finally"]
    assert exchange.sent[0] == start(200)
    assert 3 <= len(exchange.sent) - 1 <= 5
    assert all(message == body(b"tick", more_body=True) for message in exchange.sent[1:])
    assert SHORT * 4 <= time.monotonic() - began < SHORT * 4 + 1


async def test_the_total_deadline_leaves_a_complete_response_alone() -> None:
    """Work after the last body message (background tasks) is not cut by the total deadline."""
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await respond(send, b"ok")
        await anyio.sleep(SHORT * 3)
        events.append("background work done")

    middleware = TimeoutMiddleware(app, timeout=SHORT / 2, total_timeout=SHORT)
    messages = await run(middleware, http_scope())
    await anyio.sleep(SHORT * 2)  # and the timer is gone

    assert messages == OK
    assert events == ["background work done"]


async def test_the_total_deadline_covers_announced_trailers() -> None:
    """A response is complete with its trailers: waiting for them past the deadline is cut."""
    app = streaming((0, b"body"), trailers=True)

    async def late_trailers(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send)
        await anyio.sleep_forever()

    middleware = TimeoutMiddleware(late_trailers, timeout=SHORT / 2, total_timeout=SHORT)
    exchange = Exchange("http")
    with pytest.raises(TimeoutError):
        await middleware(http_scope(), exchange.receive, exchange.send)

    assert exchange.sent == [
        start(200, [(b"content-type", b"text/plain")], trailers=True),
        body(b"body"),
    ]


async def test_the_total_deadline_lets_a_stream_finish_in_time() -> None:
    """A stream that ends before the total deadline is forwarded whole, past ``timeout``."""
    app = streaming((SHORT, b"a"), (SHORT, b"b"))

    messages = await run(
        TimeoutMiddleware(app, timeout=SHORT / 2, total_timeout=LONG), http_scope()
    )

    assert [message.get("body") for message in messages] == [None, b"a", b"b"]


async def test_with_a_total_deadline_no_start_in_time_is_still_a_504() -> None:
    """``timeout`` still decides when nothing was sent; the total one is not waited for."""
    middleware = TimeoutMiddleware(hanging_app, timeout=SHORT, total_timeout=LONG)

    messages, elapsed = await timed_run(middleware)

    assert messages == GATEWAY_TIMEOUT
    assert elapsed < 1


# --- Per path ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "root_path", "expected"),
    [
        ("/api/items", "", "504"),  # the default
        ("/reports", "", "ok"),  # exact: longer
        ("/reports/x", "", "504"),  # an exact pattern is not a prefix
        ("/export/big", "", "ok"),  # prefix: no timeout
        ("/export", "", "ok"),  # a prefix matches its directory
        ("/export-all", "", "504"),  # but not a sibling
        ("/export/fast/x", "", "504"),  # the longer prefix wins, whatever the order given
        ("/v1/export/big", "/v1", "ok"),  # relative to root_path
    ],
)
@pytest.mark.parametrize("reverse", [False, True], ids=["as-listed", "reversed"])
async def test_path_timeouts(path: str, root_path: str, expected: str, reverse: bool) -> None:
    """The most specific pattern sets the deadline: exact, then the longest prefix."""
    paths = {"/export/*": None, "/reports": LONG, "/export/fast/*": SHORT}
    app = TimeoutMiddleware(
        answering_after(SHORT * 2),
        timeout=SHORT,
        path_timeouts=dict(reversed(paths.items())) if reverse else paths,
    )

    messages = await run(app, http_scope(path=path, root_path=root_path))

    assert messages == (OK if expected == "ok" else GATEWAY_TIMEOUT)


async def test_no_default_timeout_only_the_paths_listed() -> None:
    """``timeout=None`` with ``path_timeouts``: a deadline only where a pattern sets one."""
    app = TimeoutMiddleware(
        answering_after(SHORT * 2), timeout=None, path_timeouts={"/api/*": SHORT}
    )

    assert await run(app, http_scope(path="/other")) == OK
    assert await run(app, http_scope(path="/api/x")) == GATEWAY_TIMEOUT


async def test_no_timeout_on_a_path_means_no_total_deadline_either() -> None:
    """A path without a deadline (server-sent events) streams past ``total_timeout`` too."""
    app = TimeoutMiddleware(
        streaming((SHORT, b"a"), (SHORT * 2, b"b")),
        timeout=SHORT / 2,
        total_timeout=SHORT,
        path_timeouts={"/events": None},
    )

    messages = await run(app, http_scope(path="/events"))

    assert [message.get("body") for message in messages] == [None, b"a", b"b"]


# --- Other scope types ---------------------------------------------------------------------------


async def test_a_websocket_passes_untouched() -> None:
    """A WebSocket session is not timed: one that waits past the deadline is not cut."""
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        assert await receive() == {"type": "websocket.connect"}
        await anyio.sleep(SHORT * 2)
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close"})

    scope = websocket_scope()
    messages = await run(TimeoutMiddleware(app, timeout=SHORT), scope)

    assert messages == [{"type": "websocket.accept"}, {"type": "websocket.close"}]
    assert seen[0] is scope


async def test_lifespan_passes_through() -> None:
    """Lifespan reaches the app with the very scope and messages, however long start-up takes."""
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        await receive()
        await anyio.sleep(SHORT * 2)
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})

    scope = lifespan_scope()
    messages = await run(TimeoutMiddleware(app, timeout=SHORT), scope)

    assert messages == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]
    assert seen[0] is scope


# --- Without a task; telling our cancellation apart ----------------------------------------------


@ASYNCIO_ONLY
async def test_a_coroutine_driven_without_a_task_is_refused() -> None:
    """Outside a task there is nothing to cancel: a clear error instead of no deadline."""
    results: list[BaseException] = []

    def drive() -> None:
        coroutine = TimeoutMiddleware(ok_app, timeout=1)(
            http_scope(), Exchange("http").receive, _noop
        )
        try:
            coroutine.send(None)
        except BaseException as error:  # noqa: BLE001 - recorded for the assertion
            results.append(error)

    asyncio.get_running_loop().call_soon(drive)
    await asyncio.sleep(0.01)

    assert len(results) == 1
    assert isinstance(results[0], RuntimeError)
    assert "must run in an asyncio task (or under trio)" in str(results[0])


async def _noop(message: Mapping[str, Any]) -> None:
    """A send that drops everything."""


class FakeTask:
    """A task whose ``uncancel()`` reports ``remaining`` cancel requests left."""

    def __init__(self, remaining: int) -> None:
        self.remaining = remaining
        self.withdrawn = 0

    def uncancel(self) -> int:
        self.withdrawn += 1
        return self.remaining


@pytest.mark.parametrize(
    ("remaining", "error", "ours"),
    [
        (0, asyncio.CancelledError(CANCEL_MESSAGE), True),
        (0, asyncio.CancelledError(), True),
        (0, GroupType("g", [asyncio.CancelledError(), asyncio.CancelledError("x")]), True),
        (0, None, True),
        (1, asyncio.CancelledError(CANCEL_MESSAGE), False),  # someone else cancelled too
        (1, None, False),
        (0, Boom(), False),
        (0, GroupType("g", [asyncio.CancelledError(), Boom()]), False),
    ],
)
def test_ours_counted(remaining: int, error: BaseException | None, ours: bool) -> None:
    """3.11+: ours when no other cancel request is left and the app ended by a cancellation."""
    task = FakeTask(remaining)

    assert ours_counted(task, error) is ours
    assert task.withdrawn == 1


@pytest.mark.parametrize(
    ("error", "ours"),
    [
        (None, True),
        (asyncio.CancelledError(CANCEL_MESSAGE), True),
        (asyncio.CancelledError(), True),  # 3.10's gather drops the message
        (GroupType("g", [asyncio.CancelledError(CANCEL_MESSAGE), asyncio.CancelledError()]), True),
        (asyncio.CancelledError("server shutdown"), False),
        (GroupType("g", [asyncio.CancelledError(), asyncio.CancelledError("other")]), False),
        (Boom(CANCEL_MESSAGE), False),
    ],
)
def test_ours_flagged(error: BaseException | None, ours: bool) -> None:
    """3.10: ours unless the app ended otherwise or another canceller's message is on it."""
    assert ours_flagged(FakeTask(1), error) is ours
