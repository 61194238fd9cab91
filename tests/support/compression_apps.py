"""Apps behind CompressionMiddleware for the real-server tests (``serve_process`` imports them).

``tests.support.compression_apps:app`` serves:

* ``GET /json``: a 40 KB JSON document (one-shot body);
* ``GET /stream?mib=N``: N MiB of NDJSON in 64 KiB chunks (at most 1024), built from four
  prepared chunks so the app itself allocates nothing per chunk;
* ``GET /sse``: three Server-Sent Events, ``pause`` seconds apart (query ``pause``, default 0.2).
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs

from asgi_middleware import CompressionMiddleware, Receive, Scope, Send
from tests.support.asgi import answer_lifespan

CHUNK_SIZE = 64 * 1024
_MAX_MIB = 1024
JSON_BODY = json.dumps(
    [{"id": i, "name": f"user {i}", "plan": "team"} for i in range(800)]
).encode()


def _chunk(seed: int) -> bytes:
    line = b'{"seed": %d, "row": %%d, "status": "exported"}\n' % seed
    rows = b"".join(line % row for row in range(CHUNK_SIZE // len(line) + 1))
    return rows[:CHUNK_SIZE]


CHUNKS = tuple(_chunk(seed) for seed in range(4))


def sse_event(index: int) -> bytes:
    """The bytes of SSE event ``index``."""
    return b'id: %d\nevent: tick\ndata: {"tick": %d}\n\n' % (index, index)


async def _inner(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await answer_lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    query = parse_qs(scope["query_string"].decode("latin-1"))
    if scope["path"] == "/stream":
        mib = min(int(query.get("mib", ["1"])[0]), _MAX_MIB)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/x-ndjson")]})  # fmt: skip
        for index in range(mib * 16):
            await send({"type": "http.response.body", "body": CHUNKS[index % 4], "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif scope["path"] == "/sse":
        pause = float(query.get("pause", ["0.2"])[0])
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})  # fmt: skip
        for index in range(3):
            if index:
                await asyncio.sleep(pause)
            await send({"type": "http.response.body", "body": sse_event(index), "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    else:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": JSON_BODY})


app = CompressionMiddleware(_inner, gzip_level=1, compress_event_streams=True)
