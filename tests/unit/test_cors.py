"""Raw ASGI unit tests of CORSMiddleware: exact message sequences for each behaviour of SPEC §3."""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from asgi_middleware import ASGIApp, CORSMiddleware, Receive, Scope, Send
from tests.support.asgi import (
    Exchange,
    body,
    header_list,
    http_scope,
    lifespan_scope,
    run,
    start,
    websocket_scope,
)

pytestmark = pytest.mark.anyio

ORIGIN = "https://app.example"
OTHER = "https://evil.example"
PREFLIGHT_VARY = (
    "vary",
    (
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
        "Access-Control-Request-Private-Network"
    ),
)
TEXT = ("content-type", "text/plain")
PLAIN = ("content-type", "text/plain; charset=utf-8")
PLAIN_BYTES = (b"content-type", b"text/plain; charset=utf-8")
SAFELISTED = "accept, accept-language, content-language, content-type"

# One start message for every response, as an app with module-level constants sends it: the
# middleware must never change it, nor its header list.
SHARED_START = start(200, [TEXT, ("vary", "Accept-Encoding")])


def text_app(headers: Sequence[tuple[str, str]] = (TEXT,), status: int = 200) -> ASGIApp:
    """An app answering ``ok`` with ``headers``, recording nothing."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(status, headers))
        await send(body(b"ok"))

    return app


class Recorder:
    """An app that records the scope it got and answers ``ok``."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, _receive: Receive, send: Send) -> None:
        """Record ``scope`` and answer."""
        self.scopes.append(scope)
        await send(start(200, [TEXT]))
        await send(body(b"ok"))


def cors(app: ASGIApp | None = None, **options: Any) -> CORSMiddleware:
    """CORSMiddleware around ``app`` (default: ``text_app()``) with ``options``."""
    return CORSMiddleware(app or text_app(), **options)


def get(origin: str | None = ORIGIN, *, method: str = "GET", **extra: Any) -> dict[str, Any]:
    """An http scope with ``Origin: origin`` (none if ``None``)."""
    headers = [] if origin is None else [("origin", origin)]
    return http_scope(method, headers=[*headers, *extra.pop("headers", [])], **extra)


def preflight(
    origin: str = ORIGIN,
    method: str = "POST",
    requested: str | None = None,
    *extra: tuple[str, str],
) -> dict[str, Any]:
    """An OPTIONS preflight scope."""
    headers = [("origin", origin), ("access-control-request-method", method)]
    if requested is not None:
        headers.append(("access-control-request-headers", requested))
    return http_scope("OPTIONS", headers=[*headers, *extra])


def ok_preflight(*fields: tuple[str, str], max_age: str = "600") -> list[dict[str, Any]]:
    """The messages of a successful 200 preflight with ``fields`` first."""
    tail = [("access-control-max-age", max_age), PREFLIGHT_VARY, PLAIN, ("content-length", "2")]
    return [start(200, [*fields, *tail]), body(b"OK")]


def refused(reason: str) -> list[dict[str, Any]]:
    """The messages of a failed preflight."""
    text = f"Disallowed CORS {reason}"
    fields = [PLAIN, ("content-length", str(len(text))), PREFLIGHT_VARY]
    return [start(400, fields), body(text.encode())]


# --- Simple and actual requests ----------------------------------------------------------------


async def test_allowed_origin_gets_cors_headers() -> None:
    """An allowed origin gets Allow-Origin, credentials, exposed headers and Vary: Origin."""
    app = cors(allow_origins=[ORIGIN], allow_credentials=True, expose_headers=["X-Total"])

    messages = await run(app, get())

    assert messages == [
        start(
            200,
            [
                TEXT,
                ("access-control-allow-origin", ORIGIN),
                ("access-control-allow-credentials", "true"),
                ("access-control-expose-headers", "x-total"),
                ("vary", "Origin"),
            ],
        ),
        body(b"ok"),
    ]


async def test_disallowed_origin_gets_no_cors_headers() -> None:
    """A disallowed origin gets no CORS header at all, only Vary: Origin."""
    app = cors(allow_origins=[ORIGIN], allow_credentials=True, expose_headers=["x-total"])

    messages = await run(app, get(OTHER))

    assert messages == [start(200, [TEXT, ("vary", "Origin")]), body(b"ok")]


async def test_missing_origin_still_varies() -> None:
    """Without Origin: no CORS headers, but Vary: Origin, as the answer depends on it."""
    messages = await run(cors(allow_origins=[ORIGIN]), get(None))

    assert messages == [start(200, [TEXT, ("vary", "Origin")]), body(b"ok")]


@pytest.mark.parametrize("origin", [ORIGIN, OTHER, None])
async def test_allow_all_sends_star_without_vary(origin: str | None) -> None:
    """With "*" every response, with or without Origin, gets Allow-Origin: * and no Vary."""
    app = cors(allow_origins=["*"], expose_headers=["x-total"])

    messages = await run(app, get(origin))

    assert messages == [
        start(
            200,
            [
                TEXT,
                ("access-control-allow-origin", "*"),
                ("access-control-expose-headers", "x-total"),
            ],
        ),
        body(b"ok"),
    ]


async def test_without_credentials_no_credentials_header() -> None:
    """Without allow_credentials no Allow-Credentials header is sent."""
    messages = await run(cors(allow_origins=[ORIGIN]), get())

    assert messages == [
        start(200, [TEXT, ("access-control-allow-origin", ORIGIN), ("vary", "Origin")]),
        body(b"ok"),
    ]


async def test_app_allow_origin_is_replaced() -> None:
    """An Allow-Origin (any case) and Allow-Credentials the app set are replaced, not duplicated."""
    app = cors(
        text_app([("Access-Control-Allow-Origin", "*"), ("access-control-allow-credentials", "x")]),
        allow_origins=[ORIGIN],
        allow_credentials=True,
    )

    messages = await run(app, get(), validate=False)

    assert messages == [
        start(
            200,
            [
                ("access-control-allow-origin", ORIGIN),
                ("access-control-allow-credentials", "true"),
                ("vary", "Origin"),
            ],
        ),
        body(b"ok"),
    ]


@pytest.mark.parametrize("origin", [OTHER, None])
async def test_app_cors_headers_removed_for_disallowed_origin(origin: str | None) -> None:
    """The app's own Allow-Origin/-Credentials never reach an origin the policy does not allow."""
    app_headers = [
        ("access-control-allow-origin", "*"),
        ("Access-Control-Allow-Credentials", "true"),
    ]
    app = cors(text_app([TEXT, *app_headers]), allow_origins=[ORIGIN])

    messages = await run(app, get(origin), validate=False)

    assert messages == [start(200, [TEXT, ("vary", "Origin")]), body(b"ok")]


@pytest.mark.parametrize(
    ("app_vary", "merged"),
    [
        ([("vary", "Accept-Encoding")], [("vary", "Accept-Encoding, Origin")]),
        ([("Vary", "origin")], [("vary", "origin")]),
        ([("VARY", "Cookie"), ("vary", "ORIGIN, Accept")], [("vary", "Cookie, ORIGIN, Accept")]),
        ([("vary", " , Cookie,, ")], [("vary", "Cookie, Origin")]),
        ([("date", "x"), ("Vary", "Cookie")], [("date", "x"), ("vary", "Cookie, Origin")]),
    ],
)
@pytest.mark.parametrize("origin", [ORIGIN, None])
async def test_vary_is_merged_case_insensitively(
    app_vary: list[tuple[str, str]], merged: list[tuple[str, str]], origin: str | None
) -> None:
    """The app's Vary fields are folded into one with Origin, de-duplicated in any case."""
    app = cors(text_app([TEXT, *app_vary]), allow_origins=[ORIGIN])

    messages = await run(app, get(origin), validate=False)

    acao = [("access-control-allow-origin", ORIGIN)] if origin else []
    assert messages == [start(200, [TEXT, *merged, *acao]), body(b"ok")]


async def test_expose_headers_merged_with_apps() -> None:
    """The app's Access-Control-Expose-Headers is merged with ours, de-duplicated."""
    app = cors(
        text_app([("Access-Control-Expose-Headers", "X-Page, X-Total")]),
        allow_origins=[ORIGIN],
        expose_headers=["x-total", "X-Next"],
    )

    messages = await run(app, get(), validate=False)

    assert messages == [
        start(
            200,
            [
                ("access-control-expose-headers", "X-Page, X-Total, x-next"),
                ("access-control-allow-origin", ORIGIN),
                ("vary", "Origin"),
            ],
        ),
        body(b"ok"),
    ]


async def test_shared_start_message_never_mutated() -> None:
    """An app reusing one module-level start message gets identical answers; it is unchanged."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(SHARED_START)
        await send(body(b"ok"))

    wrapped = cors(app, allow_origins=[ORIGIN], expose_headers=["x-total"])
    snapshot = copy.deepcopy(SHARED_START)
    headers_list = SHARED_START["headers"]

    first = await run(wrapped, get())
    second = await run(wrapped, get())
    third = await run(wrapped, get(None))

    assert snapshot == SHARED_START
    assert SHARED_START["headers"] is headers_list
    assert first == second
    assert first[0]["headers"] is not headers_list
    assert third == [start(200, [TEXT, ("vary", "Accept-Encoding, Origin")]), body(b"ok")]


async def test_scope_is_not_mutated() -> None:
    """The scope reaches the app as the very same, unchanged object."""
    recorder = Recorder()
    scope = get()
    before = copy.deepcopy(scope)

    await run(cors(recorder, allow_origins=[ORIGIN]), scope)

    assert recorder.scopes == [scope]
    assert recorder.scopes[0] is scope
    assert scope == before


async def test_tuple_headers_and_start_without_headers() -> None:
    """Tuple header lists in the scope and a start message without ``headers`` both work."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204})
        await send(body())

    scope = get()
    scope["headers"] = tuple(scope["headers"])

    messages = await run(cors(app, allow_origins=[ORIGIN]), scope)

    assert messages == [
        start(204, [("access-control-allow-origin", ORIGIN), ("vary", "Origin")]),
        body(),
    ]


async def test_mixed_case_origin_header_name() -> None:
    """The Origin request header is found whatever the case of its name."""
    scope = http_scope(headers=[("ORIGIN", ORIGIN)])

    messages = await run(cors(allow_origins=[ORIGIN]), scope)

    assert ("access-control-allow-origin", ORIGIN) in [
        (name.decode(), value.decode()) for name, value in messages[0]["headers"]
    ]


async def test_other_messages_forwarded_unchanged() -> None:
    """Body chunks, trailers and unknown messages pass through as the very same objects."""
    chunk = body(b"a", more_body=True)
    last = body(b"b")
    future = {"type": "http.response.x-future", "value": 1}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200, [TEXT]))
        await send(chunk)
        await send(future)
        await send(last)

    exchange = Exchange("http")
    await cors(app, allow_origins=[ORIGIN])(get(), exchange.receive, exchange.send)

    assert exchange.sent[1:] == [chunk, future, last]
    assert all(a is b for a, b in zip(exchange.sent[1:], [chunk, future, last], strict=True))


async def test_app_exception_propagates() -> None:
    """An exception from the app comes out unchanged."""
    error = LookupError("boom")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise error

    with pytest.raises(LookupError) as info:
        await run(cors(app, allow_origins=[ORIGIN]), get())

    assert info.value is error


async def test_lifespan_passes_through() -> None:
    """Lifespan reaches the app with the very scope, receive and send."""
    seen: list[tuple[object, object, object]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, receive, send))

    scope = lifespan_scope()
    exchange = Exchange("lifespan", [])
    await cors(app, allow_origins=[ORIGIN])(scope, exchange.receive, exchange.send)

    assert seen == [(scope, exchange.receive, exchange.send)]


# --- Origin matching -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "origin", "allowed"),
    [
        ({"allow_origins": ["https://APP.example:443"]}, ORIGIN, True),
        ({"allow_origins": ["http://localhost:80"]}, "http://localhost", True),
        ({"allow_origins": ["http://localhost:8000"]}, "http://localhost", False),
        ({"allow_origins": [ORIGIN]}, "http://app.example", False),
        ({"allow_origins": [ORIGIN]}, "https://app.example:8443", False),
        ({"allow_origins": ["https://*.example.com"]}, "https://a.example.com", True),
        ({"allow_origins": ["https://*.example.com"]}, "https://a.b.example.com", True),
        ({"allow_origins": ["https://*.example.com"]}, "https://example.com", False),
        ({"allow_origins": ["https://*.example.com"]}, "https://evilexample.com", False),
        ({"allow_origins": ["https://*.example.com"]}, "https://a.example.com.evil", False),
        ({"allow_origins": ["https://*.example.com"]}, "https://a.example.com:444", False),
        ({"allow_origins": ["https://*.example.com"]}, "http://a.example.com", False),
        ({"allow_origins": ["https://*.example.com"]}, "https://a/b.example.com", False),
        ({"allow_origins": ["https://*.example.com:8443"]}, "https://a.example.com:8443", True),
        ({"allow_origins": ["null"]}, "null", True),
        ({"allow_origins": [ORIGIN]}, "null", False),
        ({"allow_origin_regex": r"https://\w+\.example"}, ORIGIN, True),
        ({"allow_origin_regex": r"https://\w+\.example"}, ORIGIN + ".evil", False),
        ({"allow_origin_regex": r"https://app\.example"}, "xhttps://app.example", False),
        ({"allow_origin_regex": r"[a-z]+"}, "null", False),
        ({"allow_origin_check": lambda origin: origin == ORIGIN}, ORIGIN, True),
        ({"allow_origin_check": lambda origin: origin == ORIGIN}, OTHER, False),
        ({"allow_origin_check": lambda _: 1}, ORIGIN, False),
        ({"allow_origin_check": lambda _: True}, "null", False),
    ],
)
async def test_origin_matching(options: dict[str, Any], origin: str, allowed: bool) -> None:
    """Exact (normalised), wildcard, regex (full match) and callable checks; null only listed."""
    messages = await run(cors(**options), get(origin))

    fields = header_list([("access-control-allow-origin", origin)])
    assert (fields[0] in messages[0]["headers"]) is allowed
    assert (b"vary", b"Origin") in messages[0]["headers"]


async def test_any_option_can_allow_an_origin() -> None:
    """An origin allowed by the list, regex or callable is allowed when the options combine."""
    app = cors(
        allow_origins=["https://a.example"],
        allow_origin_regex=r"https://b\.example",
        allow_origin_check=lambda origin: origin == "https://c.example",
    )

    allowed = []
    for host in "abcd":
        origin = f"https://{host}.example"
        messages = await run(app, get(origin))
        allowed.append((b"access-control-allow-origin", origin.encode()) in messages[0]["headers"])

    assert allowed == [True, True, True, False]


# --- Preflights ------------------------------------------------------------------------------


async def test_preflight_answered_without_reaching_app() -> None:
    """A preflight is answered by the middleware with the full policy; the app never sees it."""
    recorder = Recorder()
    app = cors(
        recorder,
        allow_origins=[ORIGIN],
        allow_methods=["GET", "POST"],
        allow_headers=["X-Custom"],
        allow_credentials=True,
        max_age=300,
    )

    messages = await run(app, preflight(requested="x-custom, content-type"))

    assert recorder.scopes == []
    assert messages == ok_preflight(
        ("access-control-allow-origin", ORIGIN),
        ("access-control-allow-methods", "GET, POST"),
        ("access-control-allow-headers", f"{SAFELISTED}, x-custom"),
        ("access-control-allow-credentials", "true"),
        max_age="300",
    )


async def test_preflight_allow_all_answers_star() -> None:
    """With "*" origins a preflight answers Allow-Origin: *."""
    messages = await run(cors(allow_origins=["*"]), preflight(method="GET"))

    assert messages == ok_preflight(
        ("access-control-allow-origin", "*"),
        ("access-control-allow-methods", "GET"),
        ("access-control-allow-headers", SAFELISTED),
    )


async def test_preflight_204() -> None:
    """preflight_status=204 answers with no body and no content headers."""
    app = cors(allow_origins=[ORIGIN], preflight_status=204)

    messages = await run(app, preflight(method="GET"))

    assert messages == [
        start(
            204,
            [
                ("access-control-allow-origin", ORIGIN),
                ("access-control-allow-methods", "GET"),
                ("access-control-allow-headers", SAFELISTED),
                ("access-control-max-age", "600"),
                PREFLIGHT_VARY,
            ],
        ),
        body(b""),
    ]


@pytest.mark.parametrize(
    ("scope", "reason"),
    [
        (preflight(OTHER, "GET"), "origin"),
        (preflight(ORIGIN, "DELETE"), "method"),
        (preflight(ORIGIN, ""), "method"),
        (preflight(ORIGIN, "GET", "x-other"), "headers"),
        (preflight(ORIGIN, "GET", "x-custom, x-other"), "headers"),
        (preflight(ORIGIN, "GET", None, ("access-control-request-private-network", "true")),
         "private-network"),
        (preflight(OTHER, "PUT", "x-other"), "origin, method, headers"),
    ],
)  # fmt: skip
async def test_preflight_failures(scope: dict[str, Any], reason: str) -> None:
    """A failed preflight is a 400 with the reasons in plain text and no Allow-* headers."""
    app = cors(allow_origins=[ORIGIN], allow_headers=["x-custom"])

    assert await run(app, scope) == refused(reason)


async def test_preflight_failure_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    """The reason of a refused preflight is logged at debug level to asgi_middleware.cors."""
    caplog.set_level(logging.DEBUG, logger="asgi_middleware.cors")

    await run(cors(allow_origins=[ORIGIN]), preflight(OTHER, "GET", "x-a\r"))

    assert [(r.name, r.levelno) for r in caplog.records] == [("asgi_middleware.cors", 10)]
    assert caplog.records[0].getMessage() == (
        "CORS preflight refused (origin, headers): origin=b'https://evil.example' "
        "method=b'GET' headers=b'x-a\\r' private-network=None"
    )


@pytest.mark.parametrize(
    "scope",
    [
        http_scope("OPTIONS"),
        http_scope("OPTIONS", headers=[("origin", ORIGIN)]),
        http_scope("OPTIONS", headers=[("access-control-request-method", "GET")]),
    ],
)
async def test_plain_options_reaches_app(scope: dict[str, Any]) -> None:
    """OPTIONS without both Origin and Access-Control-Request-Method is the app's to answer."""
    recorder = Recorder()

    messages = await run(cors(recorder, allow_origins=[ORIGIN]), scope)

    assert recorder.scopes == [scope]
    assert messages[1] == body(b"ok")


@pytest.mark.parametrize(
    ("requested", "allowed"),
    [
        ("POST", "GET, POST, PATCH"),
        ("post", "GET, POST, PATCH, post"),
        ("Post", "GET, POST, PATCH, Post"),
        ("patch", "GET, POST, PATCH, patch"),
    ],
)
async def test_methods_compare_case_insensitively(requested: str, allowed: str) -> None:
    """A requested method matches whatever its case, and is echoed as the browser spelt it."""
    app = cors(allow_origins=[ORIGIN], allow_methods=["get", "POST", "Patch"])

    messages = await run(app, preflight(method=requested))

    assert messages == ok_preflight(
        ("access-control-allow-origin", ORIGIN),
        ("access-control-allow-methods", allowed),
        ("access-control-allow-headers", SAFELISTED),
    )


@pytest.mark.parametrize("method", ["PROPFIND", "purge", "GET"])
async def test_any_method_is_echoed(method: str) -> None:
    """With allow_methods=["*"] any method token is allowed and echoed."""
    messages = await run(
        cors(allow_origins=[ORIGIN], allow_methods=["*"]), preflight(method=method)
    )

    assert messages[0]["status"] == 200
    assert (b"access-control-allow-methods", method.encode()) in messages[0]["headers"]


async def test_any_method_refuses_a_non_token() -> None:
    """With allow_methods=["*"] a requested method that is not a token fails the preflight."""
    app = cors(allow_origins=[ORIGIN], allow_methods=["*"])

    assert await run(app, preflight(method="GET POST")) == refused("method")


@pytest.mark.parametrize(
    "requested",
    ["x-custom", " x-custom ", "X-Custom,", ",,x-custom,\t,content-type", "", " , "],
)
async def test_requested_headers_parsed_tolerantly(requested: str) -> None:
    """Whitespace, empty elements and case in Access-Control-Request-Headers are tolerated."""
    app = cors(allow_origins=[ORIGIN], allow_headers=["x-custom"])

    messages = await run(app, preflight(method="GET", requested=requested))

    assert messages[0]["status"] == 200


async def test_split_request_headers_fields_are_one_list() -> None:
    """Two Access-Control-Request-Headers fields are read as one list."""
    app = cors(allow_origins=[ORIGIN], allow_headers=["x-a"])
    scope = preflight(ORIGIN, "GET", "x-a", ("access-control-request-headers", "x-b"))

    assert await run(app, scope) == refused("headers")


@pytest.mark.parametrize("credentials", [False, True])
async def test_any_header_echoes_requested_headers(credentials: bool) -> None:
    """With allow_headers=["*"] the requested headers are echoed, never "*"."""
    app = cors(allow_origins=[ORIGIN], allow_headers=["*"], allow_credentials=credentials)

    messages = await run(app, preflight(method="GET", requested=" X-One,, Authorization "))

    assert (b"access-control-allow-headers", b"x-one, authorization") in messages[0]["headers"]
    assert (b"access-control-allow-headers", b"*") not in messages[0]["headers"]


async def test_any_header_without_request_sends_none() -> None:
    """With allow_headers=["*"] and no requested headers, no Allow-Headers is sent."""
    messages = await run(cors(allow_origins=[ORIGIN], allow_headers=["*"]), preflight(method="GET"))

    assert messages == ok_preflight(
        ("access-control-allow-origin", ORIGIN), ("access-control-allow-methods", "GET")
    )


async def test_any_header_refuses_non_tokens() -> None:
    """With allow_headers=["*"] a requested header that is not a token fails the preflight."""
    app = cors(allow_origins=[ORIGIN], allow_headers=["*"])

    assert await run(app, preflight(ORIGIN, "GET", "x-a, x b")) == refused("headers")


async def test_private_network_allowed() -> None:
    """With allow_private_network a PNA preflight gets Allow-Private-Network: true."""
    app = cors(allow_origins=[ORIGIN], allow_private_network=True)
    scope = preflight(ORIGIN, "GET", None, ("Access-Control-Request-Private-Network", "true"))

    messages = await run(app, scope)

    assert messages == ok_preflight(
        ("access-control-allow-origin", ORIGIN),
        ("access-control-allow-methods", "GET"),
        ("access-control-allow-private-network", "true"),
        ("access-control-allow-headers", SAFELISTED),
    )


async def test_private_network_other_value_ignored() -> None:
    """An Access-Control-Request-Private-Network other than ``true`` is not a PNA request."""
    scope = preflight(ORIGIN, "GET", None, ("access-control-request-private-network", "false"))

    messages = await run(cors(allow_origins=[ORIGIN]), scope)

    assert messages[0]["status"] == 200


async def test_preflight_ignores_lookalike_headers() -> None:
    """Request headers as long as the CORS ones, but named otherwise, are not taken for them."""
    decoys = [
        (name, "DELETE")
        for name in ("x-code", "x" * 29, "x" * 30, "x" * 38, "X-" + "a" * 27, "X-" + "a" * 28)
    ]
    scope = preflight(ORIGIN, "GET", "x-a", *decoys)

    messages = await run(cors(allow_origins=[ORIGIN], allow_headers=["x-a"]), scope)

    assert messages[0]["status"] == 200


async def test_preflight_uses_first_origin_and_method() -> None:
    """Repeated Origin or method fields: the first of each counts."""
    scope = preflight(
        ORIGIN, "GET", None, ("origin", OTHER), ("access-control-request-method", "DELETE")
    )

    messages = await run(cors(allow_origins=[ORIGIN]), scope)

    assert messages[0]["status"] == 200


# --- WebSockets ------------------------------------------------------------------------------


class WebSocketApp:
    """A WebSocket app that accepts and closes, recording that it ran."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, _scope: Scope, receive: Receive, send: Send) -> None:
        """Accept, then close."""
        self.calls += 1
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 1000})


async def _ws(app: ASGIApp, scope: Mapping[str, Any]) -> tuple[list[Any], list[Any]]:
    exchange = Exchange("websocket")
    await app(scope, exchange.receive, exchange.send)
    return list(exchange.sent), list(exchange.received)


async def test_websocket_untouched_by_default() -> None:
    """Without websocket_origins a handshake from any origin reaches the app (Starlette's way)."""
    inner = WebSocketApp()
    scope = websocket_scope(headers=[("origin", OTHER)])

    sent, _ = await _ws(cors(inner, allow_origins=[ORIGIN]), scope)

    assert inner.calls == 1
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.close"]


@pytest.mark.parametrize("origin", [ORIGIN, "https://a.example.com", None])
async def test_websocket_allowed_origin_passes(origin: str | None) -> None:
    """A listed origin, a wildcard match or no Origin (not a browser) reaches the app."""
    inner = WebSocketApp()
    headers = [] if origin is None else [("origin", origin)]
    app = cors(inner, websocket_origins=[ORIGIN, "https://*.example.com"])

    sent, _ = await _ws(app, websocket_scope(headers=headers))

    assert inner.calls == 1
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.close"]


async def test_websocket_disallowed_origin_gets_403() -> None:
    """With the denial-response extension, a disallowed origin gets a 403 and nothing is read."""
    inner = WebSocketApp()
    scope = websocket_scope(
        headers=[("host", "api.example"), ("accept", "*/*"), ("Origin", OTHER)],
        extensions={"websocket.http.response": {}},
    )

    sent, received = await _ws(cors(inner, websocket_origins=[ORIGIN]), scope)

    assert inner.calls == 0
    assert received == []
    text = b"WebSocket origin not allowed"
    assert sent == [
        {
            "type": "websocket.http.response.start",
            "status": 403,
            "headers": [PLAIN_BYTES, (b"content-length", str(len(text)).encode())],
        },
        {"type": "websocket.http.response.body", "body": text, "more_body": False},
    ]


@pytest.mark.parametrize("extensions", [None, {}, {"http.response.trailers": {}}])
async def test_websocket_disallowed_origin_closed_1008(extensions: dict[str, Any] | None) -> None:
    """Without the extension, a disallowed origin's handshake is closed with 1008 before accept."""
    inner = WebSocketApp()
    scope = websocket_scope(headers=[("origin", OTHER)], extensions=extensions)

    sent, received = await _ws(cors(inner, websocket_origins=[ORIGIN]), scope)

    assert inner.calls == 0
    assert received == []
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": ""}]


async def test_websocket_null_origin_refused_unless_listed() -> None:
    """A ``null`` origin is refused by a wildcard list, allowed when listed."""
    scope = websocket_scope(headers=[("origin", "null")])

    refused_sent, _ = await _ws(
        cors(WebSocketApp(), websocket_origins=["https://*.a.example"]), scope
    )
    allowed_sent, _ = await _ws(cors(WebSocketApp(), websocket_origins=["null"]), scope)

    assert refused_sent == [{"type": "websocket.close", "code": 1008, "reason": ""}]
    assert allowed_sent[0]["type"] == "websocket.accept"


async def test_websocket_refusal_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A refused handshake is one WARNING with the path, origin and client; no credentials."""
    caplog.set_level(logging.WARNING, logger="asgi_middleware.cors")
    headers = [("origin", OTHER), ("cookie", "session=s3cret"), ("authorization", "Bearer t0ken")]

    await _ws(
        cors(WebSocketApp(), websocket_origins=[ORIGIN]),
        websocket_scope("/chat", headers=headers, query_string=b"token=q"),
    )

    assert [(r.name, r.levelno) for r in caplog.records] == [("asgi_middleware.cors", 30)]
    record = caplog.records[0]
    assert record.getMessage() == (
        "WebSocket handshake refused: origin 'https://evil.example' is not allowed "
        "(path '/chat', client 127.0.0.1:51000)"
    )
    assert (record.__dict__["origin"], record.__dict__["path"], record.__dict__["client"]) == (
        "'https://evil.example'",
        "'/chat'",
        "127.0.0.1:51000",
    )
    assert "s3cret" not in caplog.text
    assert "t0ken" not in caplog.text
    assert "token=q" not in caplog.text


async def test_websocket_refusal_log_escapes_and_caps(caplog: pytest.LogCaptureFixture) -> None:
    """Control characters are escaped, long values cut, a missing client shown as ``-``."""
    caplog.set_level(logging.WARNING, logger="asgi_middleware.cors")
    scope = websocket_scope("/" + "p" * 300, headers=[("origin", b"https://x\r\nforged")])
    scope["client"] = None

    await _ws(cors(WebSocketApp(), websocket_origins=[ORIGIN]), scope)

    record = caplog.records[0]
    assert record.__dict__["origin"] == "'https://x\\r\\nforged'"
    assert record.__dict__["path"] == repr("/" + "p" * 199) + "..."
    assert record.__dict__["client"] == "-"
    assert "\n" not in record.getMessage()
