"""CompressionMiddleware and GZipMiddleware: raw ASGI unit tests with exact message sequences."""

from __future__ import annotations

import copy
import gzip
import random
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import brotli  # type: ignore[import-untyped]
import pytest
import zstandard

from asgi_middleware import CompressionMiddleware, GZipMiddleware
from asgi_middleware._kit.types import ASGIApp, Receive, Scope, Send
from asgi_middleware.compression import DEFAULT_EXCLUDED_CONTENT_TYPES
from tests.support.asgi import body, body_of, headers_of, http_scope, run, start, websocket_scope

pytestmark = pytest.mark.anyio

TEXT = b"The quick brown fox jumps over the lazy dog. " * 40  # 1,800 bytes
GZIP = [("accept-encoding", "gzip")]
Messages = Sequence[Mapping[str, Any]]


def _app(*messages: Mapping[str, Any]) -> ASGIApp:
    """An app that sends ``messages`` as given (the very objects), then returns."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)

    return app


def _ok(content: bytes = TEXT, headers: Sequence[tuple[str, str]] = (), **extra: Any) -> ASGIApp:
    all_headers = [("content-type", "text/plain; charset=utf-8"), *headers]
    return _app(start(200, all_headers, **extra), body(content))


async def _get(
    app: ASGIApp, headers: Sequence[tuple[str, str]] = GZIP, method: str = "GET", **kw: Any
) -> list[Mapping[str, Any]]:
    return await run(app, http_scope(method, headers=headers, **kw))


def _value(messages: Messages, name: bytes) -> bytes | None:
    found = [value for key, value in headers_of(messages) if key.lower() == name]
    assert len(found) <= 1, f"{name!r} appears {len(found)} times"
    return found[0] if found else None


# --- One-shot bodies -----------------------------------------------------------------------


async def test_one_shot_body_is_gzipped_with_exact_messages() -> None:
    """A one-shot body is compressed; the start carries encoding, Vary and the new length."""
    sent = await _get(GZipMiddleware(_ok()))
    compressed = sent[1]["body"]
    assert sent == [
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"vary", b"Accept-Encoding"),
                (b"content-encoding", b"gzip"),
                (b"content-length", str(len(compressed)).encode()),
            ],
        },
        {"type": "http.response.body", "body": compressed},
    ]
    assert gzip.decompress(compressed) == TEXT


@pytest.mark.parametrize(
    ("accept", "coding", "decode"),
    [
        (
            "gzip, br, zstd",
            "zstd",
            lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data),
        ),
        ("gzip, br", "br", brotli.decompress),
        ("gzip;q=1, zstd;q=0.5", "gzip", gzip.decompress),
        ("x-gzip", "gzip", gzip.decompress),
    ],
)
async def test_negotiated_coding_is_used(accept: str, coding: str, decode: Any) -> None:
    """The coding chosen by negotiation labels the response and the body decodes with it."""
    sent = await _get(CompressionMiddleware(_ok()), [("accept-encoding", accept)])
    assert _value(sent, b"content-encoding") == coding.encode()
    assert decode(body_of(sent)) == TEXT


async def test_output_size_matches_one_shot_zlib() -> None:
    """The gzip body is exactly as large as one zlib compress+flush at the same level."""
    sent = await _get(GZipMiddleware(_ok(), compresslevel=9))
    reference = zlib.compressobj(9, zlib.DEFLATED, 31)
    assert len(body_of(sent)) == len(reference.compress(TEXT) + reference.flush())


@pytest.mark.parametrize(
    ("app_headers", "expected"),
    [
        ([("ETag", '"v1"')], [(b"ETag", b'W/"v1"')]),
        ([("etag", 'W/"v1"')], [(b"etag", b'W/"v1"')]),
        ([("Accept-Ranges", "bytes")], []),
        ([("Content-Length", str(len(TEXT)))], []),
        ([("Vary", "Cookie, accept-encoding")], [(b"vary", b"Cookie, accept-encoding")]),
        ([("vary", "Cookie"), ("Vary", "Origin")], [(b"vary", b"Cookie, Origin, Accept-Encoding")]),
    ],
)
async def test_headers_that_depend_on_the_coding(
    app_headers: list[tuple[str, str]], expected: list[tuple[bytes, bytes]]
) -> None:
    """Strong ETags are weakened, Accept-Ranges and the old length dropped, Vary merged once."""
    app = GZipMiddleware(_ok(headers=app_headers))
    sent = await run(app, http_scope(headers=GZIP), validate=False)
    headers = headers_of(sent)
    kept = [(k, v) for k, v in headers if k.lower() not in {b"content-type", b"content-encoding"}]
    kept = [(k, v) for k, v in kept if k != b"content-length"]
    if not any(k.lower() == b"vary" for k, _ in expected):
        expected = [*expected, (b"vary", b"Accept-Encoding")]
    assert kept == expected
    assert _value(sent, b"content-length") == str(len(body_of(sent))).encode()


# --- Skip rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "app_headers"),
    [
        (200, [("Content-Encoding", "br")]),
        (200, [("CONTENT-ENCODING", "identity")]),
        (206, [("Content-Range", "bytes 0-1799/5000")]),
        (200, [("content-range", "bytes 0-1799/1800")]),
        (200, [("Cache-Control", "public, No-Transform")]),
        (200, [("Content-Type", "image/png")]),
        (200, [("content-type", "video/mp4")]),
        (200, [("content-type", "audio/ogg")]),
        (200, [("content-type", "font/woff2")]),
        (200, [("content-type", "application/zip")]),
        (200, [("content-type", "application/grpc")]),
        (200, [("content-type", "Text/Event-Stream; charset=utf-8")]),
        (200, [("Content-Length", "499")]),
        (204, []),
        (205, []),
        (304, []),
        (101, []),
    ],
)
async def test_skipped_responses_pass_through_untouched(
    status: int, app_headers: list[tuple[str, str]]
) -> None:
    """Every skip rule of SPEC §4 sends the app's own messages, no Vary added."""
    messages = (start(status, app_headers), body(TEXT[:499] if status == 200 else b""))
    sent = await run(GZipMiddleware(_app(*messages)), http_scope(headers=GZIP), validate=False)
    assert len(sent) == 2
    assert all(a is b for a, b in zip(sent, messages, strict=True))


async def test_svg_is_compressed_although_images_are_excluded() -> None:
    """``image/svg+xml`` is text: the ``image/*`` exclusion does not cover it."""
    sent = await _get(GZipMiddleware(_ok(headers=[("content-type", "image/svg+xml")])))
    assert _value(sent, b"content-encoding") == b"gzip"


async def test_custom_exclusions_replace_the_defaults() -> None:
    """``exclude_content_types`` decides alone: PNG is then compressed and JSON is not."""
    middleware = GZipMiddleware(_ok(), exclude_content_types=["text/*"])
    assert _value(await _get(middleware), b"content-encoding") is None
    only_png = _app(start(200, [("content-type", "image/png")]), body(TEXT))
    sent = await _get(GZipMiddleware(only_png, exclude_content_types=["application/zip"]))
    assert _value(sent, b"content-encoding") == b"gzip"


@pytest.mark.parametrize("app_headers", [[], [("content-type", "")], [("content-type", "; x=1")]])
async def test_untyped_response_counts_as_octet_stream(app_headers: list[tuple[str, str]]) -> None:
    """No (or an empty) Content-Type is ``application/octet-stream`` to the exclusion list.

    It is compressed by default, as Starlette's GZipMiddleware does, and left alone once
    ``application/octet-stream`` is excluded (RFC 9110 §8.3).
    """
    messages = (start(200, app_headers), body(TEXT))
    default = await _get(GZipMiddleware(_app(*messages)))
    assert _value(default, b"content-encoding") == b"gzip"
    excluded = (*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/octet-stream")
    sent = await _get(GZipMiddleware(_app(*messages), exclude_content_types=excluded))
    assert all(a is b for a, b in zip(sent, messages, strict=True))


async def test_event_stream_compressed_when_opted_in() -> None:
    """With ``compress_event_streams`` an SSE stream is compressed and each event flushed."""
    events = [b"data: %d\n\n" % i + b"x" * 300 + b"\n\n" for i in range(3)]
    app = _app(
        start(200, [("content-type", "text/event-stream")]),
        *(body(event, more_body=True) for event in events),
        body(),
    )
    sent = await _get(GZipMiddleware(app, compress_event_streams=True, flush_chunks=False))
    decode = zlib.decompressobj(31).decompress
    assert [decode(m["body"]) for m in sent[1:4]] == events


async def test_small_body_without_length_is_not_compressed() -> None:
    """A one-shot body under ``minimum_size`` with no Content-Length goes out as sent."""
    messages = (start(200, [("content-type", "text/plain")]), body(b"tiny"))
    sent = await _get(GZipMiddleware(_app(*messages)))
    assert sent == list(messages)
    assert sent[0] is messages[0]


async def test_uncoded_response_goes_out_without_a_coroutine_of_ours() -> None:
    """Left uncoded, each message is the server's own send, awaited by the app directly."""
    declared = [("content-type", "text/plain"), ("content-length", "4")]
    messages = (start(200, declared), body(b"tiny"))
    server_calls: list[tuple[Mapping[str, Any], object]] = []
    seen: list[object] = []

    async def pending_send() -> None:
        """What the server's send returns: an awaitable of its own."""

    def server_send(message: Mapping[str, Any]) -> Any:
        pending = pending_send()
        server_calls.append((message, pending))
        return pending

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            pending = send(message)
            seen.append(pending)
            await pending

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    await GZipMiddleware(app)(http_scope(headers=GZIP), receive, server_send)
    assert [message for message, _ in server_calls] == list(messages)
    assert seen == [pending for _, pending in server_calls]


@pytest.mark.parametrize("minimum_size", [0, 1800])
async def test_minimum_size_is_inclusive(minimum_size: int) -> None:
    """A body exactly ``minimum_size`` long (or any body with 0) is compressed."""
    sent = await _get(GZipMiddleware(_ok(), minimum_size=minimum_size))
    assert _value(sent, b"content-encoding") == b"gzip"


async def test_bad_content_length_is_treated_as_unknown() -> None:
    """A non-numeric Content-Length does not break the decision; the body size decides."""
    sent = await _get(GZipMiddleware(_ok(headers=[("content-length", "lots")])))
    assert gzip.decompress(body_of(sent)) == TEXT


@pytest.mark.parametrize(
    "accept", [None, "identity", "br", "gzip;q=0", "*;q=0", "gzip;q=0.2, identity;q=0.5"]
)
async def test_identity_answer_still_varies(accept: str | None) -> None:
    """An eligible response sent uncompressed gets ``Vary: Accept-Encoding`` and nothing else."""
    headers = [] if accept is None else [("accept-encoding", accept)]
    sent = await _get(GZipMiddleware(_ok()), headers)
    assert headers_of(sent) == [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"vary", b"Accept-Encoding"),
    ]
    assert body_of(sent) == TEXT


async def test_start_without_headers_is_compressed() -> None:
    """A start message without ``headers`` is valid ASGI and still gets the coding headers."""
    app = _app({"type": "http.response.start", "status": 200}, body(TEXT))
    sent = await _get(GZipMiddleware(app))
    assert _value(sent, b"content-encoding") == b"gzip"


# --- HEAD ----------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [str(len(TEXT)), None])
async def test_head_gets_the_same_decision_headers_as_get(length: str | None) -> None:
    """HEAD answers carry GET's Content-Encoding and Vary, no length, and an empty body."""
    extra = [] if length is None else [("content-length", length)]
    app = _app(start(200, [("content-type", "text/plain"), *extra]), body(TEXT))
    head = await _get(GZipMiddleware(app), method="HEAD")
    get = await _get(GZipMiddleware(app))
    for name in (b"content-encoding", b"vary"):
        assert _value(head, name) == _value(get, name)
    assert _value(head, b"content-length") is None
    assert head[1] == {"type": "http.response.body", "body": b"", "more_body": False}


async def test_head_with_empty_body_forwards_it_as_is() -> None:
    """A HEAD answer whose body message is already empty is forwarded as the same object."""
    final = body()
    app = _app(start(200, [("content-length", "5000")]), final)
    sent = await _get(GZipMiddleware(app), method="HEAD")
    assert sent[1] is final
    assert _value(sent, b"content-encoding") == b"gzip"


async def test_head_of_small_resource_is_identity() -> None:
    """HEAD for a resource whose declared length is under the minimum is left alone."""
    messages = (start(200, [("content-length", "10")]), body())
    sent = await _get(GZipMiddleware(_app(*messages)), method="HEAD")
    assert sent == list(messages)


# --- Streaming -----------------------------------------------------------------------------


def _ndjson(count: int = 4) -> list[bytes]:
    return [b'{"row": %d, "text": "%s"}\n' % (i, b"y" * 200) for i in range(count)]


async def test_each_chunk_is_decodable_on_arrival() -> None:
    """Streamed chunks are flushed: each sent message decodes to exactly one app chunk."""
    rows = _ndjson()
    app = _app(
        start(200, [("content-type", "application/x-ndjson"), ("content-length", "999")]),
        *(body(row, more_body=True) for row in rows),
        body(b""),
    )
    sent = await _get(GZipMiddleware(app))
    assert [m["type"] for m in sent] == ["http.response.start"] + ["http.response.body"] * 5
    assert _value(sent, b"content-length") is None
    assert [m.get("more_body") for m in sent[1:]] == [True, True, True, True, None]
    decode = zlib.decompressobj(31)
    assert [decode.decompress(m["body"]) for m in sent[1:5]] == rows
    assert decode.decompress(sent[5]["body"]) == b""
    assert decode.eof


async def test_flush_off_sends_fewer_bytes_and_still_decodes() -> None:
    """With ``flush_chunks=False`` output is produced when zlib decides; the whole still decodes."""
    rows = _ndjson(50)
    app = _app(start(200), *(body(row, more_body=True) for row in rows), body(b"end"))
    flushed = await _get(GZipMiddleware(app))
    bulk = await _get(GZipMiddleware(app, flush_chunks=False))
    assert gzip.decompress(body_of(bulk)) == b"".join(rows) + b"end"
    assert len(bulk) < len(flushed)
    assert len(body_of(bulk)) < len(body_of(flushed))


async def test_empty_stream_chunks_are_dropped() -> None:
    """An empty ``more_body`` chunk produces no message (a flush of nothing only adds bytes)."""
    app = _app(start(200), body(TEXT, more_body=True), body(b"", more_body=True), body(b""))
    sent = await _get(GZipMiddleware(app))
    assert len(sent) == 3
    assert gzip.decompress(body_of(sent)) == TEXT


async def test_small_first_chunk_of_a_stream_is_compressed() -> None:
    """A stream is compressed even if its first chunk is short: its size is unknown."""
    app = _app(start(200), body(b"a", more_body=True), body(b"b"))
    sent = await _get(GZipMiddleware(app))
    assert gzip.decompress(body_of(sent)) == b"ab"


async def test_trailers_follow_the_final_body() -> None:
    """Announced trailers are forwarded unchanged after the compressed final body."""
    trailers = {"type": "http.response.trailers", "headers": [(b"x-sum", b"1")]}
    app = _app(start(200, trailers=True), body(TEXT, more_body=True), body(b""), trailers)
    sent = await _get(GZipMiddleware(app), extensions={"http.response.trailers": {}})
    assert sent[0]["trailers"] is True
    assert sent[-1] is trailers
    assert [m["type"] for m in sent[1:-1]] == ["http.response.body"] * 2


async def test_unknown_message_while_start_is_held_keeps_the_order() -> None:
    """A message of an unknown type after the start commits to a stream and keeps its place."""
    future = {"type": "http.response.x-future"}
    app = _app(start(200), future, body(TEXT))
    sent = await _get(GZipMiddleware(app))
    assert [m["type"] for m in sent] == [
        "http.response.start",
        "http.response.x-future",
        "http.response.body",
    ]
    assert sent[1] is future
    assert _value(sent, b"content-length") is None
    assert gzip.decompress(body_of(sent)) == TEXT


async def test_messages_before_the_start_are_forwarded() -> None:
    """Early hints sent before the start go out first, unchanged."""
    hint = {"type": "http.response.early_hint", "links": [b"</a.css>; rel=preload"]}
    sent = await _get(GZipMiddleware(_app(hint, start(200), body(TEXT))))
    assert sent[0] is hint


# --- Off-loop compression -----------------------------------------------------------------

_BIG = random.Random(4).randbytes(  # noqa: S311 - test data, not secrets
    4 * 1024 * 1024
)  # incompressible: slow for zlib on purpose


async def _ticks_during_big_chunk(middleware: type[GZipMiddleware], **options: Any) -> int:
    """How often a ticker task ran while the app's 4 MiB chunk was being compressed."""
    ticks = 0
    during: list[int] = []

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.001)
            ticks += 1

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200))
        before = ticks
        await send(body(_BIG, more_body=True))
        during.append(ticks - before)
        await send(body(b"", more_body=False))

    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        sent = await _get(middleware(app, **options))
        group.cancel_scope.cancel()
    assert gzip.decompress(body_of(sent)) == _BIG
    return during[0]


async def test_large_chunks_are_compressed_in_a_worker_thread() -> None:
    """While a 4 MiB chunk is compressed the event loop keeps running other tasks."""
    assert await _ticks_during_big_chunk(GZipMiddleware) >= 5


async def test_offload_none_keeps_compression_on_the_loop() -> None:
    """With ``thread_minimum_size=None`` the same chunk blocks the loop (the default avoids it)."""
    assert await _ticks_during_big_chunk(GZipMiddleware, thread_minimum_size=None) <= 1


async def test_large_one_shot_body_is_offloaded_too() -> None:
    """A one-shot body above the threshold is compressed off the loop with the same result."""
    sent = await _get(CompressionMiddleware(_ok(TEXT * 10), offload_threshold=1024))
    assert gzip.decompress(body_of(sent)) == TEXT * 10


# --- Server-side file sends ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["http.response.pathsend", "http.response.zerocopysend"])
async def test_file_sends_pass_through_uncompressed(kind: str) -> None:
    """Pathsend (and a zerocopysend the app was not offered) go out with the app's own start."""
    first = start(200, [("content-type", "text/plain"), ("content-length", "5000")])
    file_send = {"type": kind, "path": "/srv/a.txt", "file": 3}
    sent = await run(GZipMiddleware(_app(first, file_send)), http_scope(headers=GZIP))
    assert sent == [first, file_send]
    assert sent[0] is first


@pytest.mark.parametrize(
    ("accept", "offered"), [("gzip", False), ("identity", True), ("br;q=1, gzip;q=0", True)]
)
async def test_zerocopysend_hidden_only_when_compression_may_apply(
    accept: str, offered: bool
) -> None:
    """The app sees zerocopysend only when no coding was negotiated; the scope is not edited."""
    seen: list[Mapping[str, Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["extensions"])
        await send(start(200))
        await send(body(b"x"))

    extensions: dict[str, Any] = {"http.response.zerocopysend": {}, "http.response.pathsend": {}}
    scope = http_scope(headers=[("accept-encoding", accept)], extensions=extensions)
    before = copy.deepcopy(scope)
    await run(GZipMiddleware(app), scope)
    assert ("http.response.zerocopysend" in seen[0]) is offered
    assert "http.response.pathsend" in seen[0]
    assert scope == before


# --- Scope types ---------------------------------------------------------------------------


async def test_websocket_scope_passes_through() -> None:
    """A WebSocket connection reaches the app with the server's own scope, receive and send."""
    calls: list[tuple[object, object, object]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append((scope, receive, send))

    scope = websocket_scope(headers=GZIP)

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: Mapping[str, Any]) -> None:
        pass

    await GZipMiddleware(app)(scope, receive, send)
    assert calls == [(scope, receive, send)]


# --- Options -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"minimum_size": -1}, ValueError, "minimum_size must be an int >= 0, got -1"),
        ({"minimum_size": "1"}, TypeError, "minimum_size must be an int >= 0, got '1'"),
        ({"gzip_level": 0}, ValueError, "gzip_level must be an int from 1 to 9, got 0"),
        ({"brotli_quality": 12}, ValueError, "brotli_quality must be an int from 0 to 11"),
        ({"zstd_level": 23}, ValueError, "zstd_level must be an int from 1 to 22, got 23"),
        ({"encodings": "gzip"}, TypeError, "encodings must be a list or tuple of str"),
        ({"encodings": []}, ValueError, "encodings must be distinct names from"),
        ({"encodings": ["gzip", "gzip"]}, ValueError, "encodings must be distinct names from"),
        ({"encodings": ["deflate"]}, ValueError, "encodings must be distinct names from"),
        ({"exclude_content_types": ["png"]}, ValueError, "exclude_content_types\\[0\\] must be"),
        ({"exclude_content_types": ["é/x"]}, ValueError, "exclude_content_types\\[0\\] must be"),
        ({"exclude_content_types": ["text/html;q=1"]}, ValueError, "exclude_content_types\\[0\\]"),
        ({"exclude_content_types": ["*/*"]}, ValueError, "exclude_content_types\\[0\\] must be"),
        ({"exclude_content_types": "image/*"}, TypeError, "exclude_content_types must be a list"),
        ({"compress_event_streams": 1}, TypeError, "compress_event_streams must be a bool"),
        ({"flush_chunks": None}, TypeError, "flush_chunks must be a bool, got None"),
        ({"offload_threshold": 0}, ValueError, "offload_threshold must be an int >= 1, got 0"),
    ],
)
def test_bad_options_raise_at_construction(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Each bad option raises the documented error type with the "<option> must be" message."""
    with pytest.raises(error, match=message.replace("(", "\\(").replace(")", "\\)")):
        CompressionMiddleware(_ok(), **options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"compresslevel": 10}, "compresslevel must be an int from 1 to 9, got 10"),
        ({"thread_minimum_size": 0}, "thread_minimum_size must be an int >= 1, got 0"),
    ],
)
def test_gzip_middleware_validates_its_starlette_options(
    options: dict[str, Any], message: str
) -> None:
    """GZipMiddleware reports its own option names, as Starlette users know them."""
    with pytest.raises(ValueError, match=message):
        GZipMiddleware(_ok(), **options)


def test_levels_are_checked_even_for_codings_not_offered() -> None:
    """A bad level fails at start-up even while its coding is switched off."""
    with pytest.raises(ValueError, match="zstd_level must be an int from 1 to 22, got 99"):
        CompressionMiddleware(_ok(), encodings=["gzip"], zstd_level=99)


async def test_encodings_order_is_the_server_preference() -> None:
    """When the client weighs codings equally, the first of ``encodings`` wins."""
    middleware = CompressionMiddleware(_ok(), encodings=("gzip", "br"))
    sent = await _get(middleware, [("accept-encoding", "br, gzip, zstd")])
    assert _value(sent, b"content-encoding") == b"gzip"


def test_both_classes_take_part_in_compose_ordering() -> None:
    """Both classes carry the compose role "compression"."""
    assert CompressionMiddleware._compose_role == GZipMiddleware._compose_role == "compression"


def test_no_state_on_the_instance() -> None:
    """``__slots__`` keeps per-request state off the middleware."""
    middleware = GZipMiddleware(_ok())
    with pytest.raises(AttributeError):
        middleware.request = 1  # type: ignore[attr-defined]


async def test_large_final_chunk_of_a_stream_is_offloaded() -> None:
    """A stream's large last chunk is coded and finished in the worker thread, still valid."""
    app = _app(start(200), body(b"head ", more_body=True), body(TEXT))
    sent = await _get(GZipMiddleware(app, thread_minimum_size=1000))
    assert gzip.decompress(body_of(sent)) == b"head " + TEXT


async def test_negotiation_memo_is_bounded() -> None:
    """Distinct Accept-Encoding values are memoised at most 256 times, long values never."""
    middleware = GZipMiddleware(_ok())
    for index in range(300):
        await _get(middleware, [("accept-encoding", f"gzip;q=0.{index % 1000:03d}, x-{index}")])
    await _get(middleware, [("accept-encoding", "gzip, " + "x" * 300)])
    assert len(middleware._cache) == 256
    assert all(len(value) <= 256 for value in middleware._cache)


async def test_repeated_accept_encoding_fields_are_one_list() -> None:
    """Two Accept-Encoding fields count together (RFC 9110 §5.3), bypassing the memo."""
    middleware = CompressionMiddleware(_ok())
    headers = [("accept-encoding", "gzip"), ("Accept-Encoding", "br;q=0.5, zstd;q=0")]
    sent = await _get(middleware, headers)
    assert _value(sent, b"content-encoding") == b"gzip"
    assert middleware._cache == {}


async def test_the_apps_messages_are_never_modified() -> None:
    """Coding builds new messages: the app's start, header list and body are left as they were."""
    headers = [(b"content-type", b"text/plain"), (b"etag", b'"v1"'), (b"vary", b"Cookie")]
    first, final = start(200, headers, trailers=False), body(TEXT)
    before = copy.deepcopy((first, final))
    sent = await _get(GZipMiddleware(_app(first, final)))
    assert (first, final) == before
    assert sent[0] is not first
    assert sent[0]["headers"] is not first["headers"]
