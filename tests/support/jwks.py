"""An identity provider for the real-server tests: one RSA key, its JWKS as an app, its tokens.

Serve ``jwks_app(jwks_document("k1"))`` with ``live_server`` and point a ``JWTBackend`` (or a docs
example reading ``JWKS_URL``) at it; ``sign(claims, "k1")`` makes a token that verifies against it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from asgi_middleware import ASGIApp, Receive, Scope, Send

__all__ = ["SIGNING_KEY", "jwks_app", "jwks_document", "sign"]

#: The provider's signing key; its public half is what :func:`jwks_document` publishes.
SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks_document(kid: str, **extra: str) -> bytes:
    """A JWKS holding the public half of SIGNING_KEY under ``kid``, with ``extra`` members."""
    public = jwt.algorithms.RSAAlgorithm.to_jwk(SIGNING_KEY.public_key(), as_dict=True)
    return json.dumps({"keys": [{**public, "kid": kid, **extra}]}).encode()


def jwks_app(document: bytes) -> ASGIApp:
    """An app serving ``document`` as JSON at every path."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": document})

    return app


def sign(claims: Mapping[str, Any], kid: str) -> str:
    """An RS256 token with ``claims``, signed with SIGNING_KEY, naming ``kid`` in its header."""
    return jwt.encode(dict(claims), SIGNING_KEY, algorithm="RS256", headers={"kid": kid})
