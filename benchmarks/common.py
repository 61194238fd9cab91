"""What every benchmark area shares: request scopes, bare apps and their bodies.

Each area module (``bench_cors.py``, ``bench_compression.py``, ...) builds its scenarios from these
pieces; ``scenarios.py`` gathers them into the one ``SCENARIOS`` tuple the driver runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from benchmarks.model import ASGIApp, Message, Scope

# --- Requests and the bare apps ---------------------------------------------------------------

ORIGIN = "https://app.example"

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
