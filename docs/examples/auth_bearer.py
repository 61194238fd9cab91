"""A raw ASGI app behind bearer-token authentication.

Run it with `API_TOKEN=... uvicorn auth_bearer:app --app-dir docs/examples`.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from asgi_middleware import AuthenticationMiddleware, BearerTokenBackend


# --8<-- [start:app]
async def whoami(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer with the authenticated user's name."""
    if scope["type"] != "http":
        return
    content = f"Hello, {scope['user'].display_name}!\n".encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(content))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": content})


# Unset, a random token nobody knows: the app then refuses everyone rather than run open.
token = os.environ.get("API_TOKEN") or secrets.token_urlsafe(32)
app = AuthenticationMiddleware(
    whoami,
    backend=BearerTokenBackend(tokens=[token], scopes=["items:read"]),
    exclude_paths=["/health"],
)
# --8<-- [end:app]
