"""Compression scenarios: our middleware next to Starlette's GZip, starlette-compress and zlib."""

from __future__ import annotations

import zlib
from typing import Any

from starlette.middleware.gzip import GZipMiddleware as StarletteGZipMiddleware
from starlette_compress import CompressMiddleware as StarletteCompressMiddleware

from benchmarks.checks import expect
from benchmarks.common import (
    JSON_16K,
    JSON_16K_APP,
    JSON_100,
    JSON_100_APP,
    NO_BODY,
    http_scope,
)
from benchmarks.model import ASGIApp, Scenario, Scope, Variant

GZIP_LEVEL = 6
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


BARE_16K = expect(body=JSON_16K, absent=("content-encoding",))
GZIPPED_16K = expect(
    gzip_of=JSON_16K, headers={"content-encoding": "gzip"}, tokens={"vary": ("accept-encoding",)}
)
UNCOMPRESSED_100 = expect(body=JSON_100, absent=("content-encoding",))

_GZIP_REQUEST = ((b"accept-encoding", b"gzip"),)

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
        ),
    ),
)
