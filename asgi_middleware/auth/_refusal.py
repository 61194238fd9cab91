"""How a refusal is sent, and what the middleware tells ``requires`` about it.

``AuthenticationMiddleware`` sends its 401/403/400 responses through a :class:`Refuser`, and puts
an :class:`AuthContext` into the scope it passes on, so that ``requires`` in an endpoint refuses
the same way: the same challenges, the same body format, the same WebSocket denial.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence

from asgi_middleware._kit.responses import content_headers, deny_websocket, respond
from asgi_middleware._kit.types import Scope, Send

__all__ = ["SCOPE_KEY", "AuthContext", "Refuser"]

#: The scope key holding the :class:`AuthContext` of the middleware that authenticated a request.
SCOPE_KEY = "asgi_middleware.auth"

_FORMATS = {"json": b"application/json", "text": b"text/plain; charset=utf-8"}


class Refuser:
    """Send a complete refusal (SPEC §2.7) in ``"json"`` or ``"text"``, HTTP or WebSocket."""

    __slots__ = ("_content_type", "_json")

    def __init__(self, response_format: str) -> None:
        if response_format not in _FORMATS:
            msg = f'response_format must be "json" or "text", got {response_format!r}'
            raise ValueError(msg)
        self._json = response_format == "json"
        self._content_type = _FORMATS[response_format]

    async def __call__(
        self, scope: Scope, send: Send, status: int, detail: str, challenges: Iterable[bytes]
    ) -> None:
        """Refuse the connection of ``scope`` with ``status``, ``detail`` and the challenges.

        A WebSocket gets the HTTP response through the ``websocket.http.response`` extension
        when the server offers it, else a close with code 1008 before the handshake (SPEC §8).
        """
        if self._json:
            content = json.dumps({"detail": detail}, separators=(",", ":")).encode()
        else:
            content = detail.encode("utf-8")
        headers = content_headers(content, self._content_type)
        headers += [(b"www-authenticate", value) for value in challenges]
        if scope["type"] == "http":
            await respond(send, status, headers, content)
        else:
            await deny_websocket(scope, send, status, headers, content, reason=detail)


class AuthContext:
    """How one middleware refuses, for the connections one of its backends authenticated.

    Built in the middleware's ``__init__`` (one per backend, one for anonymous connections) and
    shared by every request, so passing it in the scope costs nothing per request.

    Attributes:
        challenges: The ``WWW-Authenticate`` values of a 401 without credentials.
        insufficient: Builds the 403 challenge naming the scopes needed (the backend's
            ``insufficient_scope``), or ``None`` when the backend has no such challenge.
        required: The middleware's ``required_scopes``.
        refuse: Sends a refusal as the middleware does.
    """

    __slots__ = ("challenges", "insufficient", "refuse", "required")

    def __init__(
        self,
        challenges: Sequence[str],
        insufficient: Callable[[Sequence[str]], str] | None,
        required: tuple[str, ...],
        refuse: Refuser,
    ) -> None:
        self.challenges = tuple(challenges)
        self.insufficient = insufficient
        self.required = required
        self.refuse = refuse
