"""Tokens from an OpenID Connect provider, verified against its JWKS.

Run it with `OIDC_ISSUER=https://login.example/ API_AUDIENCE=https://api.example
uvicorn auth_jwt:app --app-dir docs/examples`.
"""

from __future__ import annotations

import os
from typing import Any

from asgi_middleware import AuthenticationMiddleware, JWTBackend


async def claims(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer with the subject and scopes of the verified token."""
    if scope["type"] != "http":
        return
    content = f"{scope['user'].identity} {' '.join(scope['auth'].scopes)}\n".encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(content))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": content})


# --8<-- [start:app]
issuer = os.environ.get("OIDC_ISSUER", "https://login.example/")
backend = JWTBackend(
    algorithms=["RS256"],  # what the provider signs with; never mix with HS256
    jwks_url=os.environ.get("JWKS_URL", issuer.rstrip("/") + "/.well-known/jwks.json"),
    issuer=issuer,
    audience=os.environ.get("API_AUDIENCE", "https://api.example"),
    leeway=30,  # seconds of clock skew tolerated on exp and nbf
    jwks_ttl=600,  # re-read the key set every 10 minutes
    jwks_refresh_interval=60,  # at most one extra fetch a minute for unknown kids
)
app = AuthenticationMiddleware(claims, backend=backend, required_scopes=["api"])
# --8<-- [end:app]
