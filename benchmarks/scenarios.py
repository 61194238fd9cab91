"""The scenarios: request shapes, bare apps, the peers we compare with and their checks.

Every peer is configured to do the same job our middleware will do, and every check holds any
implementation to that job, so a row can only be fast by being efficient, not by doing less.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Sequence
from typing import Any

from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware
from starlette.middleware.gzip import GZipMiddleware as StarletteGZipMiddleware
from starlette_compress import CompressMiddleware as StarletteCompressMiddleware

from benchmarks.checks import expect
from benchmarks.model import ASGIApp, Message, Scenario, Scope, Variant

# --- Requests and the bare apps ---------------------------------------------------------------

ORIGIN = "https://app.example"
GZIP_LEVEL = 6
MINIMUM_SIZE = 500

# What a browser sends on a typical API call; header count matters because most middleware scan
# the whole list.
_BROWSER_HEADERS = (
    (b"host", b"api.example"),
    (
        b"user-agent",
        b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ),
    (b"accept", b"application/json, text/plain, */*"),
    (b"accept-language", b"en-GB,en;q=0.7"),
    (b"sec-fetch-mode", b"cors"),
)

NO_BODY: tuple[Message, ...] = ({"type": "http.request", "body": b"", "more_body": False},)


def http_scope(method: str, path: str, headers: Sequence[tuple[bytes, bytes]]) -> Scope:
    """Build an HTTP scope as uvicorn would for a request through a TLS-terminating proxy.

    Args:
        method: Request method.
        path: Request path.
        headers: Request headers; the browser-like defaults come first.

    Returns:
        A new scope dict.
    """
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode("ascii"),
        "query_string": b"",
        "root_path": "",
        "headers": [*_BROWSER_HEADERS, *headers],
        "client": ("203.0.113.7", 51234),
        "server": ("10.0.0.5", 8000),
    }


def make_app(body: bytes, content_type: bytes = b"application/json") -> ASGIApp:
    """Build a bare app that reads the request to its end, then answers 200 with ``body``.

    Args:
        body: Response body, sent in one ``http.response.body`` message.
        content_type: Value of the ``content-type`` response header.

    Returns:
        The ASGI application.
    """
    headers = (
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode("ascii")),
    )

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        # Reading the body, as a handler that parses its input would, keeps receive wrappers on
        # the timed path.
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        # New dicts and a new header list every time: Starlette's GZip edits both in place, so a
        # shared start message would already say "gzip" on the second request.
        await send({"type": "http.response.start", "status": 200, "headers": list(headers)})
        await send({"type": "http.response.body", "body": body})

    return app


def _digest(index: int) -> bytes:
    return hashlib.blake2b(index.to_bytes(4, "big"), digest_size=16).digest()


_FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim")
_LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson")
_CITIES = ("Lisbon", "Nairobi", "Osaka", "Montréal", "Tallinn", "Valparaíso", "Perth", "Oslo")
_PLANS = ("free", "team", "business", "enterprise")


def _record(index: int) -> dict[str, Any]:
    # Hash-derived fields: deterministic on every Python, with the mix of repetitive keys and
    # high-entropy ids that makes real API JSON compress about 3-5x rather than 50x.
    digest = _digest(index)
    first = _FIRST[digest[0] % len(_FIRST)]
    last = _LAST[digest[1] % len(_LAST)]
    return {
        "id": 100_000 + index,
        "uuid": digest.hex(),
        "name": f"{first} {last}",
        "email": f"{first}.{last}{digest[2]}@example.com".lower(),
        "city": _CITIES[digest[3] % len(_CITIES)],
        "plan": _PLANS[digest[4] % len(_PLANS)],
        "active": digest[5] % 4 != 0,
        "logins": int.from_bytes(digest[6:8], "big"),
        "balance": int.from_bytes(digest[8:11], "big") / 100,
        "created_at": f"2024-{digest[11] % 12 + 1:02d}-{digest[12] % 28 + 1:02d}T"
        f"{digest[13] % 24:02d}:{digest[14] % 60:02d}:{digest[15] % 60:02d}Z",
    }


def json_records(size: int) -> bytes:
    """Build a compact JSON array of user records, as long as possible without exceeding ``size``.

    Args:
        size: Upper bound in bytes.

    Returns:
        UTF-8 JSON, identical on every run and platform.
    """
    parts: list[bytes] = []
    length = 2  # the brackets
    while True:
        part = json.dumps(_record(len(parts)), separators=(",", ":"), ensure_ascii=False).encode()
        extra = len(part) + (1 if parts else 0)
        if length + extra > size:
            return b"[" + b",".join(parts) + b"]"
        parts.append(part)
        length += extra


def small_json(size: int) -> bytes:
    """Build a JSON object of exactly ``size`` bytes.

    Args:
        size: Exact length in bytes, at least 45.

    Returns:
        UTF-8 JSON.

    Raises:
        ValueError: If ``size`` is too small for the fixed fields.
    """
    head = b'{"id":100042,"status":"queued","detail":"'
    room = size - len(head) - 2
    if room < 1:
        msg = f"size must be at least {len(head) + 3}, got {size!r}"
        raise ValueError(msg)
    sentence = b"Your export is queued and will be e-mailed to you when it is ready. "
    text = sentence * (room // len(sentence) + 1)
    return head + text[:room] + b'"}'


OK_BODY = b'{"status":"ok"}'
JSON_16K = json_records(16 * 1024)
JSON_100 = small_json(100)

OK_APP = make_app(OK_BODY)
JSON_16K_APP = make_app(JSON_16K)
JSON_100_APP = make_app(JSON_100)


# --- Peers, configured for the same job ------------------------------------------------------


def starlette_cors(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in Starlette's CORSMiddleware with the benchmark's CORS policy."""
    return StarletteCORSMiddleware(
        app,
        allow_origins=[ORIGIN],
        allow_methods=["GET", "POST"],
        allow_headers=["x-custom"],
        allow_credentials=True,
        expose_headers=["x-total"],
    )


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


# --- Checks ----------------------------------------------------------------------------------

_NO_CORS = ("access-control-allow-origin", "access-control-allow-credentials")

BARE_OK = expect(body=OK_BODY, absent=_NO_CORS)
CORS_SIMPLE = expect(
    body=OK_BODY,
    headers={"access-control-allow-origin": ORIGIN, "access-control-allow-credentials": "true"},
    tokens={"access-control-expose-headers": ("x-total",), "vary": ("origin",)},
)
CORS_PREFLIGHT = expect(
    headers={"access-control-allow-origin": ORIGIN, "access-control-allow-credentials": "true"},
    tokens={
        "access-control-allow-methods": ("POST",),
        "access-control-allow-headers": ("x-custom",),
    },
)
CORS_NO_ORIGIN = expect(body=OK_BODY, absent=_NO_CORS)

BARE_16K = expect(body=JSON_16K, absent=("content-encoding",))
GZIPPED_16K = expect(
    gzip_of=JSON_16K, headers={"content-encoding": "gzip"}, tokens={"vary": ("accept-encoding",)}
)
UNCOMPRESSED_100 = expect(body=JSON_100, absent=("content-encoding",))


# --- The scenarios ---------------------------------------------------------------------------

_GZIP_REQUEST = ((b"accept-encoding", b"gzip"),)

# The single place scenarios are assembled. When one of our middleware lands, add one Variant line
# to each scenario it serves: named "asgi-middleware", a factory that wraps the app with the same
# options as the peer, and the same check as the peer (see benchmarks/README.md).
SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="cors-simple",
        description="GET with an allowed Origin: CORS headers added to the app's response",
        app=OK_APP,
        scope=http_scope("GET", "/api/items", ((b"origin", ORIGIN.encode()),)),
        request=NO_BODY,
        bare_check=BARE_OK,
        reference="starlette",
        variants=(Variant("starlette", starlette_cors, CORS_SIMPLE),),
    ),
    Scenario(
        name="cors-preflight",
        description="OPTIONS preflight for POST with x-custom: answered by the middleware",
        app=OK_APP,
        scope=http_scope(
            "OPTIONS",
            "/api/items",
            (
                (b"origin", ORIGIN.encode()),
                (b"access-control-request-method", b"POST"),
                (b"access-control-request-headers", b"x-custom"),
            ),
        ),
        request=NO_BODY,
        bare_check=BARE_OK,
        reference="starlette",
        variants=(Variant("starlette", starlette_cors, CORS_PREFLIGHT),),
    ),
    Scenario(
        name="cors-no-origin",
        description="GET without Origin (same-origin or server-to-server): pass-through",
        app=OK_APP,
        scope=http_scope("GET", "/api/items", ()),
        request=NO_BODY,
        bare_check=CORS_NO_ORIGIN,
        reference="starlette",
        variants=(Variant("starlette", starlette_cors, CORS_NO_ORIGIN),),
    ),
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
