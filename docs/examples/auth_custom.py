"""A custom backend: one async method, here checking a signed session cookie.

Run it with `SESSION_KEY=... uvicorn auth_custom:app --app-dir docs/examples`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from typing import Any

from asgi_middleware import AuthenticationMiddleware
from asgi_middleware.auth import AuthCredentials, AuthenticationError, AuthResult, SimpleUser


# --8<-- [start:backend]
class SessionCookieBackend:
    """Authenticate a ``session=<user>.<hex hmac>`` cookie."""

    challenge = 'Session realm="app"'  # sent with every 401 (RFC 9110 §11.6.1)

    def __init__(self, key: bytes) -> None:
        self._key = key

    def sign(self, user: str) -> str:
        """Make the cookie value for ``user``."""
        mac = hmac.new(self._key, user.encode(), hashlib.sha256).hexdigest()
        return f"{user}.{mac}"

    async def authenticate(self, scope: Mapping[str, Any]) -> AuthResult | None:
        """Return the user, None without a session cookie, or raise for a forged one."""
        for name, value in scope.get("headers", ()):
            if name.lower() != b"cookie":
                continue
            for item in value.decode("latin-1").split(";"):
                key, _, session = item.strip().partition("=")
                if key == "session":
                    user = session.rpartition(".")[0]
                    if not hmac.compare_digest(self.sign(user), session):
                        raise AuthenticationError  # 401; the body never says why
                    return AuthResult(AuthCredentials(["read"]), SimpleUser(user))
        return None  # not ours: the next backend, or a 401 with the challenge


# --8<-- [end:backend]


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Greet the user."""
    if scope["type"] != "http":
        return
    content = f"Hello, {scope['user'].display_name}!\n".encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(content))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": content})


# --8<-- [start:app]
sessions = SessionCookieBackend(os.environ.get("SESSION_KEY", secrets.token_hex()).encode())
app = AuthenticationMiddleware(hello, backend=sessions, response_format="text")
# --8<-- [end:app]
