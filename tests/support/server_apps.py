"""Apps that ``serve_process`` runs by import string in a uvicorn subprocess.

``tests.support.server_apps:app`` answers ``GET /`` with the server's process id, and
``GET /allocate?mib=N`` by filling N MiB of memory for the duration of the request, so a test can
watch the peak RSS rise.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs

from asgi_middleware import Receive, Scope, Send
from tests.support.asgi import answer_lifespan, respond

_MIB = 1024 * 1024
_MAX_MIB = 256


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Report the process id, or allocate memory on ``/allocate``."""
    if scope["type"] == "lifespan":
        await answer_lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    if scope["path"] == "/allocate":
        query = parse_qs(scope["query_string"].decode("latin-1"))
        mib = min(int(query.get("mib", ["0"])[0]), _MAX_MIB)
        # Repeating a byte writes every page, so all of it becomes resident (calloc'd zeros
        # from bytearray(n) might not).
        block = b"x" * (mib * _MIB)
        body = f"allocated {len(block) // _MIB} MiB".encode()
        del block
    else:
        body = f"pid {os.getpid()}".encode()
    await respond(send, body)
