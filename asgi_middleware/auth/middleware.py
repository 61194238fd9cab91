"""``AuthenticationMiddleware``: authenticate HTTP and WebSocket connections (SPEC §8)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any, Literal

from asgi_middleware._kit.config import (
    require_bool,
    require_header_value,
    require_strings,
    require_sync_callable,
)
from asgi_middleware._kit.headers import HeaderNames
from asgi_middleware._kit.order import check_position
from asgi_middleware._kit.paths import PathMatcher
from asgi_middleware._kit.types import ASGIApp, Receive, Scope, Send
from asgi_middleware.auth._challenge import distinct, require_scope_token
from asgi_middleware.auth._models import (
    AuthCredentials,
    AuthenticationError,
    AuthError,
    BaseUser,
    PermissionDeniedError,
    UnauthenticatedUser,
)
from asgi_middleware.auth._refusal import SCOPE_KEY, AuthContext, Refuser
from asgi_middleware.auth.backends import AuthBackend

__all__ = ["AuthenticationMiddleware"]

_HANDLED = frozenset({"http", "websocket"})
_ANONYMOUS: tuple[AuthCredentials, BaseUser] = (AuthCredentials(), UnauthenticatedUser())
_UNAUTHORIZED = AuthenticationError.status_code
_PREFLIGHT = HeaderNames(b"origin", b"access-control-request-method")


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


def _refusal(error: Exception) -> AuthError | None:
    """Return a backend's 401 refusal, which a later backend may overrule, else ``None``.

    400 and 403 decide at once, and any other exception is a bug that propagates. Starlette's
    ``AuthenticationError`` is a refusal too, as it is in a Starlette backend; it is looked up,
    not imported, since only a backend that imported Starlette can raise it.
    """
    if isinstance(error, AuthError):
        return error if error.status_code == _UNAUTHORIZED else None
    starlette = getattr(sys.modules.get("starlette.authentication"), "AuthenticationError", None)
    if isinstance(starlette, type) and isinstance(error, starlette):
        return AuthenticationError(str(error) or "Invalid credentials")
    return None


def _encoded(values: Sequence[str]) -> tuple[bytes, ...]:
    return tuple(value.encode("latin-1") for value in values)


class _ChainRefusalError(AuthenticationError):
    """The chain's own 401, with every challenge it sends."""

    def __init__(self, detail: str, challenges: tuple[bytes, ...]) -> None:
        super().__init__(detail)
        self.challenges = challenges


def _challenges(error: AuthError) -> tuple[bytes, ...]:
    if isinstance(error, _ChainRefusalError):
        return error.challenges
    if error.challenge is None:  # 400 and 403 carry only their own challenge, if any
        return ()
    # A backend's own challenge, checked as it is sent: CR/LF must never reach a header.
    return (require_header_value("challenge", error.challenge).encode("latin-1"),)


def _is_preflight(scope: Scope) -> bool:
    """Whether an ``OPTIONS`` request is a CORS preflight (has Origin and a request method)."""
    origin, method = _PREFLIGHT.scan(scope.get("headers", ()))
    return origin is not None and method is not None


def _optional_method(backend: object, name: str, option: str) -> Callable[..., Any] | None:
    """A backend's optional plain ``name`` method (see ``AuthBackend``), checked, or ``None``."""
    method = getattr(backend, name, None)
    return None if method is None else require_sync_callable(f"{option}.{name}", method)


def _scope_challenge(backend: object, option: str) -> Callable[[Sequence[str]], str] | None:
    """A backend's ``insufficient_scope`` builder, its challenges checked as they are built."""
    build = _optional_method(backend, "insufficient_scope", option)
    if build is None:
        return None
    name = f"{option}.insufficient_scope()"

    def checked(scopes: Sequence[str]) -> str:
        # CR/LF must never reach a header, whoever wrote the backend.
        return require_header_value(name, build(scopes))

    return checked


class AuthenticationMiddleware:
    """Authenticate every HTTP request and WebSocket handshake through one or more backends.

    The backends are asked in order; the first one that accepts the credentials decides, so
    several backends may share a scheme (static bearer tokens and JWTs). A request it lets
    through reaches the app with a new scope holding ``scope["user"]`` (with
    ``is_authenticated``, ``display_name``, ``identity``) and ``scope["auth"]`` (with ``.scopes``):
    Starlette's and FastAPI's ``request.user``, ``request.auth`` and ``@requires`` work unchanged,
    and [`requires`][asgi_middleware.auth.requires] refuses as this middleware does.

    - ``http``: no credentials: 401 with every backend's ``WWW-Authenticate`` challenge; invalid
      credentials that no backend accepts: 401 with the first refusal's detail and the refusing
      backends' challenges (``error="invalid_token"`` for bearer tokens), one per scheme and
      realm; missing ``required_scopes``: 403 (``error="insufficient_scope"`` for bearer tokens);
      a malformed request (repeated ``Authorization``): 400. A 403 or 400 from a backend decides
      at once. Each is a complete response with ``content-length``. CORS preflights and
      ``exclude_paths`` pass as anonymous.
    - ``websocket``: the same decision before the handshake is accepted: the 401/403/400 response
      itself when the server offers the ``websocket.http.response`` extension, else a close with
      code 1008 (never 1000, which would read as success).
    - ``lifespan`` and other scope types pass through untouched.

    Security: exceptions other than the auth errors (and Starlette's ``AuthenticationError``, a
    401) propagate: a broken backend is a 500, not a silent 401. The default bodies say what is
    wrong, never why a secret failed. Put this middleware inside CORS (``compose`` warns
    otherwise), so 401s carry CORS headers.

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

    Added in version 0.1.0.
    """

    _compose_role = "auth"

    __slots__ = (
        "_anonymous",
        "_challenges",
        "_contexts",
        "_excluded",
        "_excluding",
        "_indexed",
        "_lookup",
        "_missing",
        "_others",
        "_preflight",
        "_refuse",
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
        check_position(self, app)
        backends = _backends(backend)
        self._indexed = tuple(enumerate(backends))
        self._others = self._indexed[1:]
        # One fast path, backend 0's synchronous lookup (benchmark rows auth-bearer-static and
        # auth-jwt-hs256): a static token or a JWT with a static key answers without awaiting.
        self._lookup = _optional_method(backends[0], "lookup", "backend[0]")
        self._anonymous = require_bool("allow_anonymous", allow_anonymous)
        self._required = require_strings("required_scopes", required_scopes, require_scope_token)
        if self._anonymous and self._required:
            rule = "empty when allow_anonymous is True"
            msg = f"required_scopes must be {rule}, got {required_scopes!r}"
            raise ValueError(msg)
        self._excluded = PathMatcher("exclude_paths", exclude_paths)
        self._excluding = bool(self._excluded)
        self._preflight = require_bool("allow_preflight", allow_preflight)
        self._refuse = Refuser(response_format)
        challenges: list[str | None] = []
        for index, item in enumerate(backends):
            found = getattr(item, "challenge", None)
            option = f"backend[{index}].challenge"
            challenges.append(None if found is None else require_header_value(option, found))
        self._challenges = tuple(challenges)
        missing = distinct((value, False) for value in challenges if value is not None)
        self._missing = _encoded(missing)
        # RFC 6750 §3.1: a bearer backend names the scopes a 403 lacked; so may any backend.
        insufficient = [
            _scope_challenge(item, f"backend[{index}]") for index, item in self._indexed
        ]
        self._scope_challenges = tuple(
            None if build is None else build(self._required) for build in insufficient
        )
        # What requires() in the app needs, one per backend and a last one for anonymous users.
        self._contexts = tuple(
            AuthContext(missing, build, self._required, self._refuse)
            for build in (*insufficient, None)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Authenticate one connection, then call the app with the user or refuse it."""
        if scope["type"] not in _HANDLED:
            await self.app(scope, receive, send)
            return
        if (self._excluding and self._excluded.matches(scope)) or (
            self._preflight and scope.get("method") == "OPTIONS" and _is_preflight(scope)
        ):
            index, (credentials, user) = -1, _ANONYMOUS
        else:
            try:
                # The synchronous fast path first (benchmark row auth-bearer-static): a static
                # token found by backend 0 is accepted without awaiting anything.
                found: tuple[AuthCredentials, BaseUser] | None = None
                refused: AuthError | None = None
                if self._lookup is not None:
                    try:
                        found = self._lookup(scope)
                    except AuthError as error:
                        if _refusal(error) is None:
                            raise
                        refused = error  # backend 0's 401 refusal: ask the others
                if found is None:
                    index, found = await self._authenticate(scope, refused)
                else:
                    index = 0
                credentials, user = found
                # Anonymous connections never get here with required_scopes (refused in __init__).
                if self._required and not all(
                    need in credentials.scopes for need in self._required
                ):
                    raise PermissionDeniedError(challenge=self._scope_challenges[index])
            except AuthError as error:
                await self._refuse(scope, send, error.status_code, error.detail, _challenges(error))
                return
        context = self._contexts[index]
        await self.app(
            {**scope, "user": user, "auth": credentials, SCOPE_KEY: context}, receive, send
        )

    async def _authenticate(
        self, scope: Scope, first: AuthError | None
    ) -> tuple[int, tuple[AuthCredentials, BaseUser]]:
        """Return the index of the backend that accepted the connection and its result.

        The backends are asked in order, after backend 0's lookup refused with ``first``, if it
        did. A 401 refusal is not final while a later backend may accept the credentials (a
        static token and a JWT both come as ``Bearer``); 400 and 403 are. Anonymous connections,
        when allowed, get index -1.

        Raises:
            AuthError: The refusal to send.
        """
        refused: dict[int, AuthError] = {}
        backends = self._indexed
        if first is not None:
            refused[0] = first
            backends = self._others  # the lookup was backend 0's answer
        for index, backend in backends:
            try:
                found = await backend.authenticate(scope)
            except Exception as error:
                refusal = _refusal(error)
                if refusal is None:
                    raise
                refused[index] = refusal
                continue
            if found is not None:
                return index, found
        if refused:
            raise self._refused(refused)
        if not self._anonymous:
            detail = "Authentication required"
            raise _ChainRefusalError(detail, self._missing)
        return -1, _ANONYMOUS

    def _refused(self, refused: dict[int, AuthError]) -> _ChainRefusalError:
        """The 401 when every backend that recognised credentials refused them.

        The detail is the first refusal's. The challenges are every backend's, each refusing one
        with its error challenge (``error="invalid_token"``), one per scheme and realm.
        """
        pairs: list[tuple[str, bool]] = []
        for index, default in enumerate(self._challenges):
            error = refused.get(index)
            if error is not None and error.challenge is not None:
                pairs.append((require_header_value("challenge", error.challenge), True))
            elif default is not None:
                pairs.append((default, False))
        return _ChainRefusalError(next(iter(refused.values())).detail, _encoded(distinct(pairs)))
