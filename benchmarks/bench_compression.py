"""Compression scenarios: our middleware next to Starlette's GZip, starlette-compress and zlib."""

from __future__ import annotations

import os
import time
import tracemalloc
import zlib
from collections.abc import Mapping
from typing import Any

import zstandard
from starlette.middleware.gzip import GZipMiddleware as StarletteGZipMiddleware
from starlette_compress import CompressMiddleware as StarletteCompressMiddleware

from asgi_middleware import CompressionMiddleware, GZipMiddleware
from benchmarks.checks import expect, parse_response
from benchmarks.common import (
    JSON_16K,
    JSON_16K_APP,
    JSON_100,
    JSON_100_APP,
    NO_BODY,
    http_scope,
    json_records,
)
from benchmarks.model import ASGIApp, Check, Message, Scenario, Scope, Variant

GZIP_LEVEL = 6
BROTLI_QUALITY = 4
ZSTD_LEVEL = 3
MINIMUM_SIZE = 500


def starlette_gzip(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in Starlette's GZipMiddleware (level 6, 500-byte minimum)."""
    return StarletteGZipMiddleware(app, minimum_size=MINIMUM_SIZE, compresslevel=GZIP_LEVEL)


def starlette_compress(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in starlette-compress, gzip only, at Starlette's level 6.

    Its defaults would answer this gzip-only request with gzip too, but at level 4; pinning the
    level makes all rows spend the same compression effort, so differences are middleware cost.
    Disabling zstd and brotli only skips their negotiation branches.
    """
    return StarletteCompressMiddleware(
        app,
        minimum_size=MINIMUM_SIZE,
        zstd=False,
        brotli=False,
        gzip=True,
        gzip_level=GZIP_LEVEL,
    )


def starlette_compress_all(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in starlette-compress with every coding on, at our default levels."""
    return StarletteCompressMiddleware(
        app,
        minimum_size=MINIMUM_SIZE,
        zstd_level=ZSTD_LEVEL,
        brotli_quality=BROTLI_QUALITY,
        gzip_level=GZIP_LEVEL,
    )


def ours_gzip(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in our GZipMiddleware with Starlette's options (level 6, 500 bytes)."""
    return GZipMiddleware(app, minimum_size=MINIMUM_SIZE, compresslevel=GZIP_LEVEL)


def ours_gzip_no_flush(app: ASGIApp) -> ASGIApp:
    """Our GZipMiddleware with per-chunk flushing off, as for bulk downloads."""
    return GZipMiddleware(
        app, minimum_size=MINIMUM_SIZE, compresslevel=GZIP_LEVEL, flush_chunks=False
    )


def ours_compression(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in our CompressionMiddleware at the same levels as starlette-compress."""
    return CompressionMiddleware(
        app,
        minimum_size=MINIMUM_SIZE,
        gzip_level=GZIP_LEVEL,
        brotli_quality=BROTLI_QUALITY,
        zstd_level=ZSTD_LEVEL,
    )


def zlib_oneshot(app: ASGIApp) -> ASGIApp:
    """Return an app doing only what gzip middleware cannot avoid: one zlib compress of the body.

    Not middleware: it ignores ``app`` and answers like the bare 16 KiB app, with the body
    compressed by one ``zlib.compressobj(6, DEFLATED, 31)`` compress and flush. Its overhead over
    ``bare`` is the floor that any gzip middleware adds on top of.
    """
    del app

    async def compressed_app(scope: Scope, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
        body = compressor.compress(JSON_16K) + compressor.flush()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"content-encoding", b"gzip"),
            (b"vary", b"Accept-Encoding"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return compressed_app


STREAM_CHUNK = 1024
STREAM_CHUNKS = 64
_STREAM_BODY = json_records(STREAM_CHUNK * STREAM_CHUNKS).ljust(STREAM_CHUNK * STREAM_CHUNKS)
SMALL_CHUNKS = tuple(
    _STREAM_BODY[index : index + STREAM_CHUNK]
    for index in range(0, len(_STREAM_BODY), STREAM_CHUNK)
)
BIG_CHUNK = 64 * 1024
# 32 MiB by default; BENCH_STREAM_MIB scales it down for smoke runs (the tests use 1), since the
# stream's size changes how long it takes, not what it exercises.
BIG_COUNT = int(os.environ.get("BENCH_STREAM_MIB", "32")) * (1 << 20) // BIG_CHUNK
if BIG_COUNT < 1:
    msg = (
        f"BENCH_STREAM_MIB must be a positive whole number, got {os.environ['BENCH_STREAM_MIB']!r}"
    )
    raise ValueError(msg)
_BIG_SOURCE = json_records(4 * BIG_CHUNK).ljust(4 * BIG_CHUNK)
BIG_CHUNKS = tuple(
    _BIG_SOURCE[index : index + BIG_CHUNK] for index in range(0, 4 * BIG_CHUNK, BIG_CHUNK)
)
BIG_BODY_SIZE = BIG_CHUNK * BIG_COUNT


class StreamApp:
    """A bare app streaming prepared chunks (``more_body``), then an empty final message.

    It counts the chunks it has sent in ``sent``, so a probe can tell after how many chunks the
    first output reached the server. The chunks are shared ``bytes``: the app allocates nothing.
    """

    def __init__(self, chunks: tuple[bytes, ...], count: int) -> None:
        self.chunks = chunks
        self.count = count
        self.sent = 0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:  # noqa: ARG002
        """Read the request, then stream the chunks."""
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        self.sent = 0
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/x-ndjson")]})  # fmt: skip
        chunks = self.chunks
        for index in range(self.count):
            self.sent = index + 1
            await send({"type": "http.response.body", "body": chunks[index % len(chunks)],
                        "more_body": True})  # fmt: skip
        await send({"type": "http.response.body", "body": b""})

    @property
    def body(self) -> bytes:
        """Everything the app streams, joined."""
        return b"".join(self.chunks[index % len(self.chunks)] for index in range(self.count))


SMALL_STREAM_APP = StreamApp(SMALL_CHUNKS, STREAM_CHUNKS)
BIG_STREAM_APP = StreamApp(BIG_CHUNKS, BIG_COUNT)


def zlib_stream(app: ASGIApp) -> ASGIApp:
    """Return an app that streams the 32 MiB body through one raw ``zlib.compressobj``.

    Not middleware: each 64 KiB chunk is compressed and sync-flushed (the same work as a
    middleware delivering every chunk decodable on arrival) and sent; its time is the floor.
    """
    del app

    async def compressed_app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
        headers = [
            (b"content-type", b"application/x-ndjson"),
            (b"content-encoding", b"gzip"),
            (b"vary", b"Accept-Encoding"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        chunks = BIG_CHUNKS
        for index in range(BIG_COUNT):
            BIG_STREAM_APP.sent = index + 1
            output = compressor.compress(chunks[index % 4]) + compressor.flush(zlib.Z_SYNC_FLUSH)
            await send({"type": "http.response.body", "body": output, "more_body": True})
        await send({"type": "http.response.body", "body": compressor.flush()})

    return compressed_app


def _zstd_check(original: bytes) -> Check:
    def check(messages: list[Message]) -> None:
        response = parse_response(messages)
        if response.get_all("content-encoding") != ["zstd"]:
            msg = f"content-encoding {response.get_all('content-encoding')!r}, expected zstd"
            raise AssertionError(msg)
        if "accept-encoding" not in response.tokens("vary"):
            msg = f"vary lacks accept-encoding: {response.get_all('vary')!r}"
            raise AssertionError(msg)
        plain = zstandard.ZstdDecompressor().decompressobj().decompress(response.body)
        if plain != original:
            msg = f"zstd body decodes to {len(plain)} bytes, not the {len(original)} sent"
            raise AssertionError(msg)

    return check


async def stream_probe(
    app: ASGIApp, scope: Scope, request: tuple[Message, ...]
) -> Mapping[str, str]:
    """Serve the 32 MiB stream once under tracemalloc, timing the first output.

    Returns the peak traced memory above the start (what the middleware and zlib hold at once),
    the app chunks sent when the first non-empty body reached the server, the time to that first
    output, and the throughput in MiB/s (slowed by tracemalloc, for comparing rows only).
    """
    first: list[tuple[int, int]] = []
    messages = iter((*request, {"type": "http.disconnect"}))

    async def receive() -> Message:
        return dict(next(messages))

    async def send(message: Message) -> None:
        if not first and message["type"] == "http.response.body" and message.get("body"):
            first.append((BIG_STREAM_APP.sent, time.perf_counter_ns()))

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        began = time.perf_counter_ns()
        await app(scope, receive, send)
        elapsed = time.perf_counter_ns() - began
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    chunks, when = first[0] if first else (0, began)
    return {
        "peak traced": f"{peak / 1024:.0f} KiB",
        "first output after chunk": str(chunks),
        "first output at": f"{(when - began) / 1000:.0f} µs",
        "throughput (traced)": f"{BIG_BODY_SIZE / (1 << 20) / (elapsed / 1e9):.0f} MiB/s",
    }


BARE_16K = expect(body=JSON_16K, absent=("content-encoding",))
GZIPPED_16K = expect(
    gzip_of=JSON_16K, headers={"content-encoding": "gzip"}, tokens={"vary": ("accept-encoding",)}
)
UNCOMPRESSED_100 = expect(body=JSON_100, absent=("content-encoding",))

_GZIP_REQUEST = ((b"accept-encoding", b"gzip"),)
_ALL_REQUEST = ((b"accept-encoding", b"gzip, deflate, br, zstd"),)
ZSTD_16K = _zstd_check(JSON_16K)
SMALL_STREAM_BODY = SMALL_STREAM_APP.body
BARE_SMALL_STREAM = expect(body=SMALL_STREAM_BODY, absent=("content-encoding",))
GZIPPED_SMALL_STREAM = expect(
    gzip_of=SMALL_STREAM_BODY,
    headers={"content-encoding": "gzip"},
    tokens={"vary": ("accept-encoding",)},
)
BIG_STREAM_BODY = BIG_STREAM_APP.body
BARE_BIG_STREAM = expect(body=BIG_STREAM_BODY, absent=("content-encoding",))
GZIPPED_BIG_STREAM = expect(
    gzip_of=BIG_STREAM_BODY,
    headers={"content-encoding": "gzip"},
    tokens={"vary": ("accept-encoding",)},
    absent=("content-length",),
)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="gzip-json-16k",
        description=f"{len(JSON_16K):,}-byte JSON body, Accept-Encoding: gzip, level {GZIP_LEVEL}",
        app=JSON_16K_APP,
        scope=http_scope("GET", "/api/users", _GZIP_REQUEST),
        request=NO_BODY,
        bare_check=BARE_16K,
        reference="starlette",
        variants=(
            Variant("starlette", starlette_gzip, GZIPPED_16K),
            Variant("starlette-compress", starlette_compress, GZIPPED_16K, "gzip only, level 6"),
            Variant("zlib-oneshot", zlib_oneshot, GZIPPED_16K, "baseline, not middleware"),
            Variant("asgi-middleware", ours_gzip, GZIPPED_16K, "GZipMiddleware"),
        ),
    ),
    Scenario(
        name="gzip-small",
        description=f"{len(JSON_100)}-byte JSON body, below the {MINIMUM_SIZE}-byte minimum",
        app=JSON_100_APP,
        scope=http_scope("GET", "/api/export", _GZIP_REQUEST),
        request=NO_BODY,
        bare_check=UNCOMPRESSED_100,
        reference="starlette",
        variants=(
            Variant("starlette", starlette_gzip, UNCOMPRESSED_100),
            Variant(
                "starlette-compress", starlette_compress, UNCOMPRESSED_100, "gzip only, level 6"
            ),
            Variant("asgi-middleware", ours_gzip, UNCOMPRESSED_100, "GZipMiddleware"),
        ),
    ),
    Scenario(
        # The same request, with the floor as the reference: the paired ratio is the overhead
        # our middleware adds over the one zlib call it cannot avoid.
        name="gzip-json-16k-floor",
        description=f"{len(JSON_16K):,}-byte JSON, gzip level {GZIP_LEVEL}, against zlib alone",
        app=JSON_16K_APP,
        scope=http_scope("GET", "/api/users", _GZIP_REQUEST),
        request=NO_BODY,
        bare_check=BARE_16K,
        reference="zlib-oneshot",
        variants=(
            Variant("zlib-oneshot", zlib_oneshot, GZIPPED_16K, "baseline, not middleware"),
            Variant("asgi-middleware", ours_gzip, GZIPPED_16K, "GZipMiddleware"),
        ),
    ),
    Scenario(
        name="compress-json-16k-all",
        description=(
            f"{len(JSON_16K):,}-byte JSON, Accept-Encoding: gzip, deflate, br, zstd "
            f"(both pick zstd {ZSTD_LEVEL})"
        ),
        app=JSON_16K_APP,
        scope=http_scope("GET", "/api/users", _ALL_REQUEST),
        request=NO_BODY,
        bare_check=BARE_16K,
        reference="starlette-compress",
        variants=(
            Variant(
                "starlette-compress",
                starlette_compress_all,
                ZSTD_16K,
                f"zstd {ZSTD_LEVEL}, br {BROTLI_QUALITY}, gzip {GZIP_LEVEL}",
            ),
            Variant("asgi-middleware", ours_compression, ZSTD_16K, "CompressionMiddleware"),
        ),
    ),
    Scenario(
        name="gzip-stream-64x1k",
        description=f"{STREAM_CHUNKS} x {STREAM_CHUNK}-byte NDJSON chunks, gzip level {GZIP_LEVEL}",
        app=SMALL_STREAM_APP,
        scope=http_scope("GET", "/api/export", _GZIP_REQUEST),
        request=NO_BODY,
        bare_check=BARE_SMALL_STREAM,
        reference="starlette",
        variants=(
            Variant("starlette", starlette_gzip, GZIPPED_SMALL_STREAM),
            Variant("asgi-middleware", ours_gzip, GZIPPED_SMALL_STREAM, "flush every chunk"),
            Variant(
                "asgi-middleware-bulk",
                ours_gzip_no_flush,
                GZIPPED_SMALL_STREAM,
                "flush_chunks=False",
            ),
        ),
    ),
    Scenario(
        name="gzip-stream-32m",
        description=(
            f"{BIG_BODY_SIZE >> 20} MiB NDJSON in {BIG_CHUNK >> 10} KiB chunks, gzip level "
            f"{GZIP_LEVEL}, every chunk flushed"
        ),
        app=BIG_STREAM_APP,
        scope=http_scope("GET", "/api/export", _GZIP_REQUEST),
        request=NO_BODY,
        bare_check=BARE_BIG_STREAM,
        reference="zlib-stream",
        variants=(
            Variant("zlib-stream", zlib_stream, GZIPPED_BIG_STREAM, "baseline, not middleware"),
            Variant("asgi-middleware", ours_gzip, GZIPPED_BIG_STREAM, "GZipMiddleware"),
        ),
        probe=stream_probe,
    ),
)
