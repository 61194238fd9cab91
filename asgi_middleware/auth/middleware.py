"""``AuthenticationMiddleware``: authenticate HTTP and WebSocket connections (SPEC §8)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from asgi_middleware._config import require_bool, require_header_value, require_strings
from asgi_middleware._paths import PathMatcher
from asgi_middleware._types import ASGIApp, Headers, Receive, Scope, Send
from asgi_middleware.auth._challenge import require_scope_token
from asgi_middleware.auth._models import (
    AuthCredentials,
    AuthenticationError,
    AuthError,
    BaseUser,
    PermissionDeniedError,
    UnauthenticatedUser,
)
from asgi_middleware.auth.backends import AuthBackend, _BearerScheme

__all__ = ["AuthenticationMiddleware"]

_HANDLED = frozenset({"http", "websocket"})
_ANONYMOUS: tuple[AuthCredentials, BaseUser] = (AuthCredentials(), UnauthenticatedUser())
_FORMATS = {"json": b"application/json", "text": b"text/plain; charset=utf-8"}
# RFC 6455 §7.4.1: 1008 is "policy violation", the generic refusal; 1000 would say all is well.
_POLICY_VIOLATION = 1008
_MAX_REASON = 123  # bytes a close frame's reason may hold (RFC 6455 §5.5)


def _backends(value: object) -> tuple[AuthBackend, ...]:
    items = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    if not items:
        msg = f"backend must be a backend or a non-empty list of backends, got {value!r}"
        raise ValueError(msg)
    for index, item in enumerate(items):
        if not callable(getattr(item, "authenticate", None)):
            name = "backend" if items[0] is value else f"backend[{index}]"
            msg = f"{name} must have an async authenticate(scope) method, got {item!r}"
            raise TypeError(msg)
    return items


def _is_preflight(scope: Scope) -> bool:
    """Whether an ``OPTIONS`` request is a CORS preflight (has Origin and a request method)."""
    origin = method = False
    for key, _ in scope.get("headers", ()):
        name = key.lower()
        origin = origin or name == b"origin"
        method = method or name == b"access-control-request-method"
    return origin and method


class AuthenticationMiddleware:
    """Authenticate every HTTP request and WebSocket handshake through one or more backends.

    The backends are asked in order; the first one that recognises credentials decides. A
    request it lets through reaches the app with a new scope holding ``scope["user"]`` (with
    ``is_authenticated``, ``display_name``, ``identity``) and ``scope["auth"]`` (with ``.scopes``):
    Starlette's and FastAPI's ``request.user``, ``request.auth`` and ``@requires`` work unchanged.

    - ``http``: no credentials: 401 with every backend's ``WWW-Authenticate`` challenge; invalid
      credentials: 401 with that backend's challenge (``error="invalid_token"`` for bearer tokens);
      missing ``required_scopes``: 403 (``error="insufficient_scope"`` for bearer tokens); a
      malformed request (repeated ``Authorization``): 400. Each is a complete response with
      ``content-length``. CORS preflights and ``exclude_paths`` pass as anonymous.
    - ``websocket``: the same decision before the handshake is accepted: the 401/403/400 response
      itself when the server offers the ``websocket.http.response`` extension, else a close with
      code 1008 (never 1000, which would read as success).
    - ``lifespan`` and other scope types pass through untouched.

    Security: exceptions other than the auth errors propagate (a broken backend is a 500, not a
    silent 401); the default bodies say what is wrong, never why a secret failed. Put this
    middleware inside CORS (``compose`` warns otherwise), so 401s carry CORS headers.

    Args:
        app: The ASGI application to wrap.
        backend: A backend, or a list of backends tried in order.
        allow_anonymous: Let requests without credentials through with an
            ``UnauthenticatedUser``; invalid credentials are still refused.
        required_scopes: Scopes every authenticated connection needs, else 403.
        exclude_paths: Paths served without authentication: ``"/login"`` exactly, ``"/docs/*"``
            that prefix, relative to ``root_path``.
        allow_preflight: Let CORS preflights through without credentials (browsers never send
            credentials on them).
        response_format: Body of the refusals: ``"json"`` (``{"detail": "..."}``, as FastAPI
            errors) or ``"text"``.

    Example:
        ```python
        app = AuthenticationMiddleware(app, backend=BearerTokenBackend(tokens=[TOKEN]))
        ```

    !!! note "versionadded"
        0.1.0
    """

    _compose_role = "auth"

    __slots__ = (
        "_anonymous",
        "_backends",
        "_challenges",
        "_content_type",
        "_excluded",
        "_excluding",
        "_format",
        "_lookup",
        "_others",
        "_preflight",
        "_required",
        "_scope_challenges",
        "app",
    )

    def __init__(
        self,
        app: ASGIApp,
        *,
        backend: AuthBackend | Sequence[AuthBackend],
        allow_anonymous: bool = False,
        required_scopes: Sequence[str] = (),
        exclude_paths: Sequence[str] = (),
        allow_preflight: bool = True,
        response_format: Literal["json", "text"] = "json",
    ) -> None:
        self.app = app
        self._backends = _backends(backend)
        self._others = tuple(enumerate(self._backends))[1:]
        first = self._backends[0]
        self._lookup = first.lookup if isinstance(first, _BearerScheme) else None
        self._anonymous = require_bool("allow_anonymous", allow_anonymous)
        self._required = require_strings("required_scopes", required_scopes, require_scope_token)
        if self._anonymous and self._required:
            rule = "empty when allow_anonymous is True"
            msg = f"required_scopes must be {rule}, got {required_scopes!r}"
            raise ValueError(msg)
        self._excluded = PathMatcher("exclude_paths", exclude_paths)
        self._excluding = bool(self._excluded)
        self._preflight = require_bool("allow_preflight", allow_preflight)
        if response_format not in _FORMATS:
            msg = f'response_format must be "json" or "text", got {response_format!r}'
            raise ValueError(msg)
        self._format = response_format
        self._content_type = _FORMATS[response_format]
        challenges: list[str | None] = []
        for index, item in enumerate(self._backends):
            found = getattr(item, "challenge", None)
            option = f"backend[{index}].challenge"
            challenges.append(None if found is None else require_header_value(option, found))
        self._challenges = tuple(challenges)
        self._scope_challenges = tuple(
            item.insufficient_scope(self._required) if isinstance(item, _BearerScheme) else None
            for item in self._backends
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Authenticate one connection, then call the app with the user or refuse it."""
        if scope["type"] not in _HANDLED:
            await self.app(scope, receive, send)
            return
        if (self._excluding and self._excluded.matches(scope)) or (
            self._preflight and scope.get("method") == "OPTIONS" and _is_preflight(scope)
        ):
            await self.app({**scope, "user": _ANONYMOUS[1], "auth": _ANONYMOUS[0]}, receive, send)
            return
        index = 0
        try:
            # The synchronous fast path of a static bearer backend first, then the protocol.
            result: tuple[AuthCredentials, BaseUser] | None = (
                None if self._lookup is None else self._lookup(scope)
            )
            if result is None:
                result = await self._backends[0].authenticate(scope)
            if result is None:
                for index, backend in self._others:  # noqa: B007 - index names the denier
                    result = await backend.authenticate(scope)
                    if result is not None:
                        break
            if result is None:
                if not self._anonymous:
                    await self._deny(
                        scope, send, AuthenticationError("Authentication required"), -1
                    )
                    return
                result = _ANONYMOUS
            elif self._required:
                granted = result[0].scopes
                if not all(needed in granted for needed in self._required):
                    challenge = self._scope_challenges[index]
                    raise PermissionDeniedError(challenge=challenge)
        except AuthError as error:
            await self._deny(scope, send, error, index)
            return
        credentials, user = result
        await self.app({**scope, "user": user, "auth": credentials}, receive, send)

    def _headers(self, error: AuthError, index: int) -> Headers:
        if index < 0:  # nobody recognised credentials: offer every scheme (RFC 9110 §11.6.1)
            challenges: list[str | None] = list(self._challenges)
        elif error.status_code == AuthenticationError.status_code:
            challenges = list(self._challenges)
            challenges[index] = error.challenge or challenges[index]
        else:
            challenges = [error.challenge]
        return [
            (b"www-authenticate", require_header_value("challenge", item).encode("latin-1"))
            for item in challenges
            if item is not None
        ]

    async def _deny(self, scope: Scope, send: Send, error: AuthError, index: int) -> None:
        detail = error.detail
        if self._format == "json":
            content = json.dumps({"detail": detail}, separators=(",", ":")).encode()
        else:
            content = detail.encode("utf-8")
        headers: Headers = [
            (b"content-type", self._content_type),
            (b"content-length", str(len(content)).encode("ascii")),
            *self._headers(error, index),
        ]
        status = error.status_code
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": content, "more_body": False})
        elif "websocket.http.response" in (scope.get("extensions") or {}):
            start: dict[str, Any] = {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": headers,
            }
            await send(start)
            await send(
                {"type": "websocket.http.response.body", "body": content, "more_body": False}
            )
        else:
            reason = detail.encode("utf-8")[:_MAX_REASON].decode("utf-8", "ignore")
            await send({"type": "websocket.close", "code": _POLICY_VIOLATION, "reason": reason})
