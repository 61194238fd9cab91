"""RateLimitMiddleware and RateLimit on raw ASGI: the exact messages for each case.

The stores and the algorithms have their own tests (test_memory_store.py,
test_rate_limit_algorithms.py); these pin what the middleware sends, when it calls the store
and what it does when the store fails. A fake clock makes every value exact.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from typing import Any

import anyio
import pytest

from asgi_middleware import Receive, Scope, Send
from asgi_middleware.rate_limit import (
    Decision,
    MemoryStore,
    RateLimit,
    RateLimitMiddleware,
    route,
)
from tests.support.asgi import (
    Exchange,
    body,
    http_scope,
    lifespan_scope,
    run,
    start,
    websocket_scope,
)
from tests.support.structured_fields import Token, parse_list

pytestmark = pytest.mark.anyio

PER_MINUTE = RateLimit("per-minute", 3, 60)  # 20 s an interval, 3 at once
WINDOW_RULE = "a positive number of seconds, at most 315360000 (10 years)"
QUOTA_RULE = "an int from 1 to 1000000000000"
TOO_MANY = 10**12 + 1  # one more than a quota or a burst may be
APP_HEADERS = [(b"content-type", b"text/plain"), (b"content-length", b"2")]
OK_BODY = {"type": "http.response.body", "body": b"ok"}
DENIAL: dict[str, Any] = {"websocket.http.response": {}}
JSON = (b"content-type", b"application/json")


class Clock:
    """A fake clock: the store reads ``now``, the test sets it."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recorder:
    """An app that records the scopes it got and answers ``ok`` (or accepts a WebSocket)."""

    def __init__(self, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
        self.scopes: list[Scope] = []
        self.headers = list(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept", "headers": list(self.headers)})
            await send({"type": "websocket.close"})
        elif scope["type"] == "http":
            headers = [*APP_HEADERS, *self.headers]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send(dict(OK_BODY))


class Failing:
    """A store that raises ``error`` while ``failing``, else answers as a MemoryStore."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error or ConnectionError("connection refused")
        self.failing = True
        self.inner = MemoryStore(clock=Clock())
        self.calls: list[tuple[str, tuple[RateLimit, ...]]] = []

    async def acquire(
        self, key: str, limits: Sequence[RateLimit], cost: int = 1
    ) -> tuple[Decision, ...]:
        self.calls.append((key, tuple(limits)))
        if self.failing:
            raise self.error
        return await self.inner.acquire(key, limits, cost)


class Slow:
    """A store that never answers in time; records whether its call was cancelled."""

    def __init__(self) -> None:
        self.cancelled = False

    async def acquire(
        self,
        key: str,  # noqa: ARG002 - the Store protocol's signature
        limits: Sequence[RateLimit],  # noqa: ARG002
        cost: int = 1,  # noqa: ARG002
    ) -> tuple[Decision, ...]:
        try:
            await anyio.sleep(30)
        except anyio.get_cancelled_exc_class():
            self.cancelled = True
            raise
        raise AssertionError("not cancelled")  # pragma: no cover - the sleep is cancelled


def limited(
    app: Any = None, limits: Sequence[RateLimit] = (PER_MINUTE,), **options: Any
) -> RateLimitMiddleware:
    """The middleware around ``app`` (a new Recorder); a frozen clock unless a store is given."""
    options.setdefault("store", MemoryStore(clock=Clock()))
    return RateLimitMiddleware(Recorder() if app is None else app, limits=list(limits), **options)


def fields(policy: bytes, limit: bytes) -> list[tuple[bytes, bytes]]:
    """The two rate-limit fields with these values."""
    return [(b"ratelimit-policy", policy), (b"ratelimit", limit)]


def refusal(seconds: int, extra: Sequence[tuple[bytes, bytes]] = ()) -> list[dict[str, Any]]:
    """The complete 429 for a wait of ``seconds``."""
    content = b'{"detail":"Too many requests","retry_after":%d}' % seconds
    length = (b"content-length", str(len(content)).encode())
    return [
        start(429, [JSON, length, (b"retry-after", str(seconds).encode()), *extra]),
        body(content),
    ]


# --- Answers --------------------------------------------------------------------------------


async def test_an_admitted_request_carries_the_fields() -> None:
    """The app's response, with RateLimit-Policy and RateLimit after its own headers."""
    app = Recorder()
    scope = http_scope()

    messages = await run(limited(app), scope)

    policy = b'"per-minute";q=3;w=60'
    assert messages == [
        start(200, [*APP_HEADERS, *fields(policy, b'"per-minute";r=2;t=20')]),
        OK_BODY,
    ]
    assert app.scopes == [scope]  # the very scope: nothing in it changes


async def test_the_fields_count_down_then_the_request_is_refused() -> None:
    """Three at once are admitted (r=2, 1, 0), the fourth gets 429 with Retry-After."""
    middleware = limited()

    answers = [await run(middleware, http_scope()) for _ in range(4)]

    limits = [dict(answer[0]["headers"]).get(b"ratelimit") for answer in answers]
    assert limits == [
        b'"per-minute";r=2;t=20',
        b'"per-minute";r=1;t=40',
        b'"per-minute";r=0;t=60',
        b'"per-minute";r=0;t=60',
    ]
    policy = b'"per-minute";q=3;w=60'
    assert answers[3] == refusal(20, fields(policy, b'"per-minute";r=0;t=60'))


async def test_a_refusal_never_reaches_the_app_nor_reads_the_body() -> None:
    """The 429 is sent before the app runs, and the request body is left unread."""
    app = Recorder()
    middleware = limited(app, [RateLimit("one", 1, 60)])
    await run(middleware, http_scope())
    exchange = Exchange("http")

    await middleware(http_scope(), exchange.receive, exchange.send)

    assert len(app.scopes) == 1
    assert exchange.received == []
    assert exchange.sent[0]["status"] == 429


async def test_retry_after_is_rounded_up_and_honest() -> None:
    """Retry-After is the wait rounded up; a request sent when it ends is admitted."""
    clock = Clock(100.0)
    middleware = limited(limits=[RateLimit("r", 2, 3)], store=MemoryStore(clock=clock))
    for _ in range(2):
        await run(middleware, http_scope())

    refused = await run(middleware, http_scope())  # 1.5 s until the next one fits
    seconds = int(dict(refused[0]["headers"])[b"retry-after"])
    clock.now += seconds - 0.6
    early = await run(middleware, http_scope())
    clock.now += 0.6
    on_time = await run(middleware, http_scope())

    assert seconds == 2
    assert [refused[0]["status"], early[0]["status"], on_time[0]["status"]] == [429, 429, 200]


async def test_retry_after_is_at_least_one_second() -> None:
    """A wait below a second is still ``Retry-After: 1``, never 0."""
    middleware = limited(limits=[RateLimit("fast", 10, 1, burst=1)])
    await run(middleware, http_scope())

    refused = await run(middleware, http_scope())  # 0.1 s until the next one

    assert dict(refused[0]["headers"])[b"retry-after"] == b"1"


async def test_several_policies_give_one_item_each() -> None:
    """Every policy that applies is in both fields, in order; the request must pass them all."""
    policies = [RateLimit("per-second", 2, 1), RateLimit("per-day", 1000, 86_400, burst=10)]
    middleware = limited(limits=policies)

    messages = await run(middleware, http_scope())
    refused = [await run(middleware, http_scope()) for _ in range(2)][-1]

    headers = dict(messages[0]["headers"])
    assert parse_list(headers[b"ratelimit-policy"]) == [
        ("per-second", {"q": 2, "w": 1}),
        ("per-day", {"q": 1000, "w": 86_400}),
    ]
    assert parse_list(headers[b"ratelimit"]) == [
        ("per-second", {"r": 1, "t": 1}),
        ("per-day", {"r": 9, "t": 87}),
    ]
    # The per-day policy admitted the third request but was not charged for it: r=8, not 7.
    assert parse_list(dict(refused[0]["headers"])[b"ratelimit"]) == [
        ("per-second", {"r": 0, "t": 1}),
        ("per-day", {"r": 8, "t": 173}),
    ]


async def test_a_sub_second_window_has_no_w() -> None:
    """``w`` is whole seconds (the draft has no sub-second windows): left out for 0.5 s."""
    messages = await run(limited(limits=[RateLimit("half", 5, 0.5)]), http_scope())

    assert dict(messages[0]["headers"])[b"ratelimit-policy"] == b'"half";q=5'


async def test_the_fields_are_valid_structured_fields() -> None:
    """Both fields parse as RFC 8941 Lists of String items with Integer parameters."""
    policies = [
        RateLimit("a", 7, 2.5),
        RateLimit("b.c-d_e", 100, 3600, algorithm="sliding-window"),
    ]
    middleware = limited(limits=policies, legacy_headers=True)

    for _ in range(10):
        headers = dict((await run(middleware, http_scope()))[0]["headers"])
        for name in (b"ratelimit-policy", b"ratelimit"):
            items = parse_list(headers[name])
            assert [value for value, _ in items] == ["a", "b.c-d_e"]
            assert all(type(value) is str and not isinstance(value, Token) for value, _ in items)
            assert all(
                type(number) is int and number >= 0
                for _, parameters in items
                for number in parameters.values()
            )


async def test_the_apps_own_fields_are_kept() -> None:
    """An inner layer's or the app's RateLimit fields stay; ours are further items after them."""
    own = [(b"RateLimit", b'"app";r=5;t=1'), (b"ratelimit-policy", b'"app";q=9')]
    # validate=False: the app's mixed-case name passes as it came, which the validator refuses.
    messages = await run(limited(Recorder(own)), http_scope(), validate=False)

    headers = messages[0]["headers"]
    assert headers[2:4] == own
    everything = b", ".join(value for name, value in headers if name.lower() == b"ratelimit")
    assert [value for value, _ in parse_list(everything)] == ["app", "per-minute"]


async def test_stacked_limiters_both_show() -> None:
    """Two layers (per client outside, per route inside): the client sees both policies."""
    inner = limited(limits=[RateLimit("route", 100, 60)], key=route())
    outer = limited(inner, [RateLimit("client", 10, 60)])

    messages = await run(outer, http_scope())

    names = [
        value
        for name, field in messages[0]["headers"]
        if name == b"ratelimit"
        for value, _ in parse_list(field)
    ]
    assert names == ["route", "client"]


async def test_a_start_without_headers_gets_ours() -> None:
    """An app may leave ``headers`` out of the start message (it defaults to none)."""

    async def bare(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204})
        await send({"type": "http.response.body"})

    messages = await run(limited(bare), http_scope())

    assert messages[0] == start(204, fields(b'"per-minute";q=3;w=60', b'"per-minute";r=2;t=20'))


async def test_the_apps_messages_and_headers_are_not_changed() -> None:
    """The start message and its header list (a tuple here) are the app's; ours are new."""
    headers = ((b"content-type", b"text/plain"),)
    first = {"type": "http.response.start", "status": 200, "headers": headers}
    last = {"type": "http.response.body", "body": b""}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(first)
        await send(last)

    messages = await run(limited(app), http_scope())

    assert first == {"type": "http.response.start", "status": 200, "headers": headers}
    assert messages[0] is not first
    assert messages[1] is last


async def test_other_messages_pass_unchanged() -> None:
    """Trailers and unknown message types are forwarded as they came, in order."""
    sent = [
        {"type": "http.response.start", "status": 200, "headers": [], "trailers": True},
        {"type": "http.response.body", "body": b"x"},
        {"type": "http.response.trailers", "headers": [], "more_trailers": False},
    ]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in sent:
            await send(message)

    messages = await run(limited(app), http_scope())

    assert messages[1:] == sent[1:]
    assert messages[1] is sent[1]
    assert messages[2] is sent[2]


# --- Headers options ------------------------------------------------------------------------


async def test_headers_off_leaves_admitted_responses_alone() -> None:
    """``headers=False``: the app's messages pass as they are; a 429 still has Retry-After."""
    app = Recorder()
    send_seen: list[object] = []

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        send_seen.append(send)
        await app(scope, receive, send)

    middleware = limited(recording, [RateLimit("one", 1, 60)], headers=False)
    exchange = Exchange("http")
    await middleware(http_scope(), exchange.receive, exchange.send)

    refused = await run(middleware, http_scope())

    assert exchange.sent == [start(200, APP_HEADERS), OK_BODY]
    assert send_seen == [exchange.send]
    assert refused == refusal(60)


async def test_legacy_headers() -> None:
    """``legacy_headers=True``: the X-RateLimit trio of the most restrictive policy, set once."""
    app = Recorder([(b"X-RateLimit-Limit", b"999")])
    policies = [RateLimit("per-second", 5, 1), RateLimit("per-day", 3, 86_400)]
    middleware = limited(app, policies, legacy_headers=True)

    messages = await run(middleware, http_scope())

    assert messages[0]["headers"][:2] == APP_HEADERS
    assert messages[0]["headers"][2:5] == [
        (b"x-ratelimit-limit", b"3"),
        (b"x-ratelimit-remaining", b"2"),
        (b"x-ratelimit-reset", b"28800"),
    ]
    assert [name for name, _ in messages[0]["headers"][5:]] == [b"ratelimit-policy", b"ratelimit"]


async def test_legacy_headers_alone() -> None:
    """The trio without the draft's fields, on admitted and refused responses."""
    middleware = limited(limits=[RateLimit("one", 1, 60)], headers=False, legacy_headers=True)

    admitted = await run(middleware, http_scope())
    refused = await run(middleware, http_scope())

    trio = [
        (b"x-ratelimit-limit", b"1"),
        (b"x-ratelimit-remaining", b"0"),
        (b"x-ratelimit-reset", b"60"),
    ]
    assert admitted[0]["headers"] == [*APP_HEADERS, *trio]
    assert refused == refusal(60, trio)


# --- What is limited ------------------------------------------------------------------------


async def test_per_path_and_per_method_policies() -> None:
    """Only the policies whose paths and methods match are checked and shown."""
    policies = [
        RateLimit("all", 100, 60),
        RateLimit("login", 5, 60, methods=["post"], paths=["/login"]),
        RateLimit("api", 50, 60, paths=["/api/*"]),
    ]
    middleware = limited(limits=policies)
    shown = {}
    for method, path in [("POST", "/login"), ("GET", "/login"), ("GET", "/api/x"), ("GET", "/")]:
        messages = await run(middleware, http_scope(method, path))
        items = parse_list(dict(messages[0]["headers"])[b"ratelimit-policy"])
        shown[method, path] = [name for name, _ in items]

    assert shown == {
        ("POST", "/login"): ["all", "login"],
        ("GET", "/login"): ["all"],
        ("GET", "/api/x"): ["all", "api"],
        ("GET", "/"): ["all"],
    }


async def test_a_method_in_lower_case_counts_as_its_upper_case_self() -> None:
    """``post /login`` is a POST to Django and Quart: it shares the POST policy's bucket."""
    middleware = limited(limits=[RateLimit("login", 2, 60, methods=["POST"], paths=["/login"])])

    statuses = [
        (await run(middleware, http_scope(method, "/login")))[0]["status"]
        for method in ("POST", "post", "Post", "post")
    ]

    assert statuses == [200, 200, 429, 429]


async def test_a_head_request_counts_against_a_get_policy() -> None:
    """A HEAD runs the GET endpoint: it spends the GET policy's budget and is refused with it."""
    middleware = limited(limits=[RateLimit("reports", 2, 3600, methods=["GET"])])

    statuses = [
        (await run(middleware, http_scope(method, "/reports/monthly")))[0]["status"]
        for method in ("GET", "HEAD", "HEAD", "GET")
    ]

    assert statuses == [200, 200, 429, 429]


async def test_a_request_no_policy_applies_to_passes_untouched() -> None:
    """No policy for this path: the app gets the very scope, receive and send."""
    seen: list[tuple[object, ...]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, receive, send))

    store = Failing()
    middleware = limited(app, [RateLimit("login", 5, 60, paths=["/login"])], store=store)
    scope, exchange = http_scope(path="/other"), Exchange("http")

    await middleware(scope, exchange.receive, exchange.send)

    assert seen == [(scope, exchange.receive, exchange.send)]
    assert store.calls == []


@pytest.mark.parametrize("path", ["/health", "/static", "/static/app.js"])
async def test_exempt_paths_pass_untouched(path: str) -> None:
    """``exempt_paths``: never limited, never counted, no fields."""
    store = Failing()
    app = Recorder()
    middleware = limited(app, store=store, exempt_paths=["/health", "/static/*"])

    messages = await run(middleware, http_scope(path=path))

    assert messages == [start(200, APP_HEADERS), OK_BODY]
    assert store.calls == []


async def test_a_key_of_none_exempts_the_request() -> None:
    """A key function returning ``None``: the app answers, unlimited, without fields."""
    store = Failing()
    middleware = limited(store=store, key=lambda _: None)

    messages = await run(middleware, http_scope())

    assert messages == [start(200, APP_HEADERS), OK_BODY]
    assert store.calls == []


async def test_requests_without_a_client_are_exempt_not_pooled() -> None:
    """No client address: exempt (with the key's one warning), never one shared bucket."""
    middleware = limited(limits=[RateLimit("one", 1, 60)])

    statuses = [(await run(middleware, http_scope(client=None)))[0]["status"] for _ in range(3)]

    assert statuses == [200, 200, 200]


async def test_keys_of_yours_are_made_safe_before_the_store() -> None:
    """A key with ``:`` or braces reaches the store hashed, once per request."""
    store = Failing()
    store.failing = False
    middleware = limited(store=store, key=lambda _: "tenant:{42}")

    await run(middleware, http_scope())

    [(key, limits)] = store.calls
    assert re.fullmatch(r"%[0-9a-f]{32}", key)
    assert limits == (PER_MINUTE,)


async def test_clients_have_their_own_buckets() -> None:
    """One client's refusal leaves another's requests admitted."""
    middleware = limited(limits=[RateLimit("one", 1, 60)])
    await run(middleware, http_scope(client=("192.0.2.1", 1)))

    first = await run(middleware, http_scope(client=("192.0.2.1", 2)))
    second = await run(middleware, http_scope(client=("192.0.2.2", 1)))

    assert [first[0]["status"], second[0]["status"]] == [429, 200]


# --- WebSocket and lifespan -----------------------------------------------------------------


async def test_an_admitted_websocket_accept_carries_the_fields() -> None:
    """The handshake's response (the accept) gets the fields, after the app's headers."""
    app = Recorder([(b"x-app", b"1")])

    messages = await run(limited(app), websocket_scope())

    assert messages == [
        {
            "type": "websocket.accept",
            "headers": [
                (b"x-app", b"1"),
                *fields(b'"per-minute";q=3;w=60', b'"per-minute";r=2;t=20'),
            ],
        },
        {"type": "websocket.close"},
    ]


async def test_a_refused_websocket_gets_the_429_through_the_denial_extension() -> None:
    """With the extension: the full 429 response, before the handshake is accepted."""
    middleware = limited(limits=[RateLimit("one", 1, 60)], headers=False)
    await run(middleware, websocket_scope(extensions=DENIAL))

    messages = await run(middleware, websocket_scope(extensions=DENIAL))

    content = b'{"detail":"Too many requests","retry_after":60}'
    assert messages == [
        {
            "type": "websocket.http.response.start",
            "status": 429,
            "headers": [JSON, (b"content-length", b"47"), (b"retry-after", b"60")],
        },
        {"type": "websocket.http.response.body", "body": content, "more_body": False},
    ]


async def test_a_refused_websocket_is_closed_with_1008_without_the_extension() -> None:
    """Without it: closed with 1008 (policy violation) and the reason, never accepted."""
    middleware = limited(limits=[RateLimit("one", 1, 60)])
    await run(middleware, websocket_scope())

    messages = await run(middleware, websocket_scope())

    assert messages == [{"type": "websocket.close", "code": 1008, "reason": "Too many requests"}]


async def test_lifespan_passes_through() -> None:
    """A lifespan scope reaches the app with the very receive and send."""
    seen: list[tuple[object, ...]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, receive, send))

    scope, exchange = lifespan_scope(), Exchange("lifespan")
    await limited(app)(scope, exchange.receive, exchange.send)

    assert seen == [(scope, exchange.receive, exchange.send)]


# --- Store failures -------------------------------------------------------------------------


async def test_fail_open_lets_requests_through_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The store fails: every request is answered by the app, without fields; one warning."""
    caplog.set_level(logging.WARNING, logger="asgi_middleware.rate_limit")
    errors: list[Exception] = []
    store = Failing()
    middleware = limited(store=store, on_error_callback=errors.append)

    answers = [await run(middleware, http_scope()) for _ in range(3)]

    assert answers == [[start(200, APP_HEADERS), OK_BODY]] * 3
    assert errors == [store.error] * 3
    assert [record.getMessage() for record in caplog.records] == [
        (
            "the rate-limit store (Failing) failed: ConnectionError: connection refused; "
            "requests pass without a limit until it answers again"
        )
    ]


async def test_limiting_resumes_when_the_store_answers_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The first answer after an outage is logged once, and requests are limited again."""
    caplog.set_level(logging.WARNING, logger="asgi_middleware.rate_limit")
    store = Failing()
    middleware = limited(limits=[RateLimit("one", 1, 60)], store=store)
    await run(middleware, http_scope())
    store.failing = False

    statuses = [(await run(middleware, http_scope()))[0]["status"] for _ in range(2)]
    store.failing = True
    await run(middleware, http_scope())

    assert statuses == [200, 429]
    assert [record.getMessage().split(":")[0] for record in caplog.records] == [
        "the rate-limit store (Failing) failed",
        "the rate-limit store (Failing) answers again",
        "the rate-limit store (Failing) failed",  # a new outage, a new warning
    ]


async def test_fail_closed_answers_503() -> None:
    """``on_store_error="closed"``: a complete 503 with Retry-After, for HTTP and WebSocket."""
    middleware = limited(store=Failing(), on_store_error="closed")

    http = await run(middleware, http_scope())
    websocket = await run(middleware, websocket_scope(extensions=DENIAL))

    content = b'{"detail":"Rate limit unavailable"}'
    headers = [JSON, (b"content-length", b"35"), (b"retry-after", b"1")]
    assert http == [start(503, headers), body(content)]
    assert websocket == [
        {"type": "websocket.http.response.start", "status": 503, "headers": headers},
        {"type": "websocket.http.response.body", "body": content, "more_body": False},
    ]


async def test_a_slow_store_is_given_up_on_at_the_timeout() -> None:
    """A store that does not answer in ``store_timeout``: the request goes on, in about that."""
    store = Slow()
    errors: list[Exception] = []
    middleware = limited(store=store, store_timeout=0.05, on_error_callback=errors.append)

    with anyio.fail_after(2):
        started = anyio.current_time()
        messages = await run(middleware, http_scope())
        took = anyio.current_time() - started

    assert messages == [start(200, APP_HEADERS), OK_BODY]
    assert store.cancelled
    assert 0.04 < took < 1.0
    assert [str(error) for error in errors] == ["the store did not answer within 0.05 s"]
    assert [type(error) for error in errors] == [TimeoutError]


async def test_a_timeout_of_the_stores_own_is_reported_as_it_is() -> None:
    """A store's own TimeoutError (a socket timeout) is not mistaken for the deadline."""
    error = TimeoutError("socket timed out")
    errors: list[Exception] = []
    middleware = limited(store=Failing(error), on_error_callback=errors.append)

    messages = await run(middleware, http_scope())

    assert messages[0]["status"] == 200
    assert errors == [error]


async def test_a_slow_store_fails_closed_with_503() -> None:
    """The same timeout with ``"closed"``: 503, never a hang."""
    middleware = limited(store=Slow(), store_timeout=0.05, on_store_error="closed")

    with anyio.fail_after(2):
        messages = await run(middleware, http_scope())

    assert messages[0]["status"] == 503


async def test_a_cancelled_request_is_not_a_store_failure() -> None:
    """The request's own cancellation while the store is awaited propagates: no 503, no app."""
    app = Recorder()
    errors: list[Exception] = []
    store = Slow()
    middleware = limited(
        app, store=store, store_timeout=10, on_store_error="closed", on_error_callback=errors.append
    )
    exchange = Exchange("http")

    with anyio.move_on_after(0.05) as scope:
        await middleware(http_scope(), exchange.receive, exchange.send)

    assert scope.cancelled_caught
    assert store.cancelled
    assert (exchange.sent, app.scopes, errors) == ([], [], [])


async def test_a_broken_callback_is_logged_and_the_request_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An exception from ``on_error_callback`` is logged, never a 500."""

    def callback(error: Exception) -> None:
        raise RuntimeError("metrics down")

    middleware = limited(store=Failing(), on_error_callback=callback)

    messages = await run(middleware, http_scope())

    assert messages[0]["status"] == 200
    assert "on_error_callback raised" in [record.getMessage() for record in caplog.records]


async def test_a_store_of_yours_is_called_once_per_request() -> None:
    """Decision and header values come from one ``acquire`` (under a deadline)."""
    store = Failing()
    store.failing = False
    middleware = limited(store=store)

    messages = await run(middleware, http_scope())

    assert len(store.calls) == 1
    assert dict(messages[0]["headers"])[b"ratelimit"] == b'"per-minute";r=2;t=20'


async def test_a_memory_store_subclass_is_awaited_like_any_store() -> None:
    """Only a MemoryStore itself is called directly: a subclass's own acquire runs."""
    calls: list[str] = []

    class Counting(MemoryStore):
        async def acquire(
            self, key: str, limits: Sequence[RateLimit], cost: int = 1
        ) -> tuple[Decision, ...]:
            calls.append(key)
            return await super().acquire(key, limits, cost)

    messages = await run(limited(store=Counting(clock=Clock())), http_scope())

    assert calls == ["ip-127.0.0.1"]
    assert dict(messages[0]["headers"])[b"ratelimit"] == b'"per-minute";r=2;t=20'


# --- Options --------------------------------------------------------------------------------


def test_limits_are_required() -> None:
    """There is no default policy: say what the limit is."""
    with pytest.raises(TypeError, match="limits"):
        RateLimitMiddleware(Recorder())  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"limits": PER_MINUTE}, TypeError, "limits must be a list or tuple of RateLimit, got R"),
        ({"limits": "x"}, TypeError, "limits must be a list or tuple of RateLimit, got 'x'"),
        ({"limits": [PER_MINUTE, 3]}, TypeError, "limits[1] must be a RateLimit, got 3"),
        ({"limits": []}, ValueError, "limits must be a non-empty list of RateLimit, got []"),
        (
            {"limits": [PER_MINUTE, RateLimit("per-minute", 1, 1)]},
            ValueError,
            "limits must be policies with distinct names",
        ),
        ({"store": object()}, TypeError, "store must be a rate-limit Store"),
        ({"exempt_paths": ["health"]}, ValueError, "exempt_paths[0] must be a path"),
        ({"headers": 1}, TypeError, "headers must be a bool, got 1"),
        ({"legacy_headers": "no"}, TypeError, "legacy_headers must be a bool, got 'no'"),
        ({"on_store_error": 1}, TypeError, "on_store_error must be a str, got 1"),
        ({"on_store_error": "fail"}, ValueError, "on_store_error must be 'open' or 'closed'"),
        ({"store_timeout": 0}, ValueError, "store_timeout must be a positive, finite number"),
        ({"store_timeout": math.inf}, ValueError, "store_timeout must be a positive, finite"),
        ({"store_timeout": True}, TypeError, "store_timeout must be a positive, finite number"),
        ({"store_timeout": "1"}, TypeError, "store_timeout must be a positive, finite number"),
        ({"on_error_callback": 3}, TypeError, "on_error_callback must be callable, got 3"),
        ({"key": "client"}, TypeError, "key must be callable, got 'client'"),
    ],
)  # fmt: skip
def test_bad_options_are_refused(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Each bad option fails at start-up with the SPEC §2.1 message."""
    options = {"limits": [PER_MINUTE], **options}

    with pytest.raises(error, match=re.escape(message)):
        RateLimitMiddleware(Recorder(), **options)


def test_async_hooks_are_refused() -> None:
    """The key function and the callback are called without ``await``."""

    async def hook(value: Any) -> Any:
        return None

    with pytest.raises(TypeError, match="key must be a plain"):
        RateLimitMiddleware(Recorder(), limits=[PER_MINUTE], key=hook)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="on_error_callback must be a plain"):
        RateLimitMiddleware(Recorder(), limits=[PER_MINUTE], on_error_callback=hook)


class PlainStore:
    """A store whose ``acquire`` was written without ``async``."""

    def acquire(self, *_: Any) -> Any:
        raise AssertionError("never called")  # pragma: no cover - refused when built


class AsyncCall:
    """A callable object whose ``__call__`` is async: an ``acquire`` that can be awaited."""

    def __init__(self) -> None:
        self.inner = MemoryStore(clock=Clock())

    async def __call__(
        self, key: str, limits: Sequence[RateLimit], cost: int = 1
    ) -> tuple[Decision, ...]:
        return self.inner.decide(key, limits, cost)


class CallableStore:
    """A store whose ``acquire`` is an object with an async ``__call__``."""

    def __init__(self) -> None:
        self.acquire = AsyncCall()


class SyncCall:
    """A callable object whose ``__call__`` is plain."""

    def __call__(self, *_: Any) -> Any:
        raise AssertionError("never called")  # pragma: no cover - refused when built


class SyncCallableStore:
    """A store whose ``acquire`` is an object with a plain ``__call__``."""

    def __init__(self) -> None:
        self.acquire = SyncCall()


@pytest.mark.parametrize("store", [PlainStore(), SyncCallableStore()], ids=["method", "object"])
def test_a_store_with_a_plain_acquire_is_refused(store: object) -> None:
    """A plain ``acquire`` would fail every request (open: never limited): refused when built."""
    message = (
        f"store must be a Store whose acquire is async, got {store!r}; make acquire an "
        "`async def` method: the middleware awaits it on every request"
    )
    with pytest.raises(TypeError, match=re.escape(message)):
        RateLimitMiddleware(Recorder(), limits=[PER_MINUTE], store=store)  # type: ignore[arg-type]


async def test_a_store_whose_acquire_is_an_async_callable_object_is_accepted() -> None:
    """An object with an async ``__call__`` can be awaited: it is a store's ``acquire`` too."""
    middleware = RateLimitMiddleware(Recorder(), limits=[PER_MINUTE], store=CallableStore())

    messages = await run(middleware, http_scope())

    assert dict(messages[0]["headers"])[b"ratelimit"] == b'"per-minute";r=2;t=20'


def test_compose_role() -> None:
    """``compose`` knows the layer by its role."""
    assert RateLimitMiddleware._compose_role == "rate_limit"


def test_the_default_store_is_a_memory_store() -> None:
    """Without a store, each middleware gets a MemoryStore of its own."""
    first = RateLimitMiddleware(Recorder(), limits=[PER_MINUTE])
    second = RateLimitMiddleware(Recorder(), limits=[PER_MINUTE])

    assert isinstance(first._store, MemoryStore)
    assert first._store is not second._store


# --- RateLimit ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "options", "error", "message"),
    [
        ((1, 1, 1), {}, TypeError, "name must be a str, got 1"),
        (("", 1, 1), {}, ValueError, "name must be 1 to 64 letters"),
        (("a b", 1, 1), {}, ValueError, "name must be 1 to 64 letters"),
        (("a:b", 1, 1), {}, ValueError, "name must be 1 to 64 letters"),
        (('a"', 1, 1), {}, ValueError, "name must be 1 to 64 letters"),
        (("1a", 1, 1), {}, ValueError, "name must be 1 to 64 letters"),
        (("a" * 65, 1, 1), {}, ValueError, "name must be 1 to 64 letters"),
        (("a", 0, 1), {}, ValueError, f"quota must be {QUOTA_RULE}, got 0"),
        (("a", 1.5, 1), {}, TypeError, f"quota must be {QUOTA_RULE}, got 1.5"),
        (("a", 1, 0), {}, ValueError, f"window must be {WINDOW_RULE}, got 0"),
        (("a", 1, -1), {}, ValueError, f"window must be {WINDOW_RULE}, got -1"),
        (("a", 1, math.nan), {}, ValueError, f"window must be {WINDOW_RULE}, got nan"),
        (("a", 1, math.inf), {}, ValueError, f"window must be {WINDOW_RULE}, got inf"),
        (("a", 1, 315_360_001), {}, ValueError, f"window must be {WINDOW_RULE}, got 315360001"),
        (("a", 1, 1e13), {}, ValueError, f"window must be {WINDOW_RULE}, got 10000000000000.0"),
        (("a", 1, True), {}, TypeError, f"window must be {WINDOW_RULE}, got True"),
        (("a", 1, "60"), {}, TypeError, f"window must be {WINDOW_RULE}, got '60'"),
        (("a", TOO_MANY, 10**8), {}, ValueError, f"quota must be {QUOTA_RULE}, got {TOO_MANY}"),
        (("a", 1, 1), {"burst": 0}, ValueError, f"burst must be {QUOTA_RULE}, got 0"),
        (("a", 1, 1), {"burst": TOO_MANY}, ValueError, f"burst must be {QUOTA_RULE}, got 1000"),
        (
            ("a", 1, 60),
            {"burst": 5_256_001},
            ValueError,
            (
                "burst must be at most 5256000 for 1 per 60 s, got 5256001; an empty bucket "
                "must fill within 10 years (315360000 s)"
            ),
        ),
        (
            ("a", 1, 1),
            {"burst": 2, "algorithm": "sliding-window"},
            ValueError,
            "burst must be None with 'sliding-window', got 2",
        ),
        (("a", 1, 1), {"algorithm": "token-bucket"}, ValueError, "algorithm must be 'gcra' or"),
        (("a", 1, 1), {"algorithm": None}, TypeError, "algorithm must be a str, got None"),
        (("a", 1, 1), {"methods": "GET"}, TypeError, "methods must be a list or tuple of str"),
        (("a", 1, 1), {"methods": []}, ValueError, "methods must be a non-empty list, got []"),
        (("a", 1, 1), {"methods": ["G T"]}, ValueError, "methods[0] must be an HTTP token"),
        (("a", 1, 1), {"paths": "/x"}, TypeError, "paths must be a list or tuple of str"),
        (("a", 1, 1), {"paths": []}, ValueError, "paths must be a non-empty list, got []"),
        (("a", 1, 1), {"paths": ["x"]}, ValueError, "paths[0] must be a path"),
        (("a", 200_000, 1), {}, ValueError, "quota must be at most 100000 per second of window"),
    ],
)  # fmt: skip
def test_bad_policies_are_refused(
    args: tuple[Any, ...], options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """A bad policy fails where it is written, with the SPEC §2.1 message."""
    with pytest.raises(error, match=re.escape(message)):
        RateLimit(*args, **options)


def test_policy_attributes() -> None:
    """The values the stores read: interval, capacity, burst defaulting to the quota."""
    gcra = RateLimit("g", 100, 60, burst=10)
    window = RateLimit("w", 100, 60, algorithm="sliding-window", methods=["get", "Post"])

    assert (gcra.interval, gcra.capacity, gcra.burst) == (0.6, 10, 10)
    assert (window.interval, window.capacity, window.burst) == (0.6, 100, 100)
    assert window.methods == frozenset({"GET", "HEAD", "POST"})
    assert RateLimit("d", 5, 60).burst == 5


@pytest.mark.parametrize(
    ("methods", "covered"),
    [
        (["GET"], {"GET", "HEAD"}),
        (["get", "HEAD"], {"GET", "HEAD"}),
        (["POST"], {"POST"}),
        (["HEAD"], {"HEAD"}),  # HEAD alone does not bring in GET
        (["put", "Delete"], {"PUT", "DELETE"}),
    ],
)
def test_a_get_policy_also_covers_head(methods: list[str], covered: set[str]) -> None:
    """RFC 9110 §9.3.2: frameworks run the GET endpoint for a HEAD, so GET brings HEAD."""
    assert RateLimit("p", 5, 60, methods=methods).methods == frozenset(covered)


@pytest.mark.parametrize(
    ("args", "options"),
    [
        (("a", 1, 315_360_000), {}),
        (("a", 10**12, 315_360_000.0), {}),
        (("a", 3, 315_360_000), {"burst": 3}),
        (("a", 1, 60), {"burst": 5_256_000}),  # fills in exactly 10 years
        (("a", 10**7, 100), {"burst": 10**12}),
        (("a", 1, 315_360_000), {"algorithm": "sliding-window"}),
    ],
)
def test_the_largest_policies_are_accepted(args: tuple[Any, ...], options: dict[str, Any]) -> None:
    """Windows up to 10 years, quotas and bursts up to 10**12, buckets filling in 10 years."""
    policy = RateLimit(*args, **options)
    assert policy.burst * policy.interval <= 315_360_000


@pytest.mark.parametrize(
    ("policy", "text"),
    [
        (RateLimit("a", 100, 60), "RateLimit('a', 100, 60)"),
        (
            RateLimit("b", 5, 0.5, burst=9, methods=["POST"], paths=["/x"]),
            "RateLimit('b', 5, 0.5, burst=9, methods=['POST'], paths=['/x'])",
        ),
        (
            RateLimit("c", 5, 1, algorithm="sliding-window"),
            "RateLimit('c', 5, 1, algorithm='sliding-window')",
        ),
    ],
)
def test_policy_repr(policy: RateLimit, text: str) -> None:
    """A policy reads back as the call that made it."""
    assert repr(policy) == text


@pytest.mark.parametrize(
    ("scope", "applies"),
    [
        (http_scope("POST", "/login"), True),
        (http_scope("post", "/login"), True),  # Django and Quart upper-case it: a POST
        (http_scope("Post", "/login"), True),
        (http_scope("GET", "/login"), False),
        (http_scope("get", "/login"), False),
        (http_scope("HEAD", "/login"), False),
        (http_scope("POST", "/login/x"), False),
        (http_scope("POST", "/app/login", root_path="/app"), True),
        (websocket_scope("/login"), False),  # a handshake is a GET
    ],
)
def test_policy_applies(scope: dict[str, Any], applies: bool) -> None:
    """Methods and paths both must match; paths are anchored and relative to root_path."""
    assert RateLimit("login", 5, 60, methods=["POST"], paths=["/login"]).applies(scope) is applies
