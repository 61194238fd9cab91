"""``requires``: per-endpoint authentication and scopes for Starlette and FastAPI endpoints.

The endpoint is refused as ``AuthenticationMiddleware`` refuses a request: 401 with its
challenges, 403 with ``error="insufficient_scope"`` for bearer tokens. The middleware passes its
:class:`~asgi_middleware.auth._refusal.AuthContext` in the scope; Starlette's ``HTTPException``
is found in ``sys.modules`` when a refusal is raised, since this package never imports Starlette
and an endpoint only runs once Starlette is loaded.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any, NamedTuple, TypeVar, cast

from asgi_middleware._kit.config import require_strings
from asgi_middleware.auth._challenge import require_scope_token
from asgi_middleware.auth._refusal import SCOPE_KEY, AuthContext

__all__ = ["requires"]

_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])
_CONNECTIONS = ("request", "websocket")


class _Refusal(NamedTuple):
    status: int
    detail: str
    challenges: tuple[str, ...]


def requires(*scopes: str | Sequence[str]) -> Callable[[_Endpoint], _Endpoint]:
    """Refuse a Starlette or FastAPI endpoint to unauthenticated users and missing scopes.

    A decorator for endpoints behind
    [`AuthenticationMiddleware`][asgi_middleware.auth.AuthenticationMiddleware], for routes that
    need authentication under ``allow_anonymous=True`` or scopes that differ per route. An
    unauthenticated user gets 401 with the challenges the middleware sends (``WWW-Authenticate``,
    one line per scheme and realm); an authenticated one lacking a scope gets 403, with
    ``error="insufficient_scope"`` and the scopes needed when a bearer backend authenticated it
    (RFC 6750 §3.1). Starlette's own ``requires`` answers both with a 403 without a challenge;
    with this one clients learn whether to log in or to ask for more rights.

    - ``http``: raises Starlette's ``HTTPException`` with the status, the detail
      (``Authentication required`` or ``Insufficient scope``) and the challenges, so Starlette's
      and FastAPI's exception handlers (and yours) render it. Its ``headers`` are a dict for one
      challenge, Starlette's multi-valued ``Headers`` for several (one header line each).
    - ``websocket``: refused before the handshake as the middleware does: the 401/403 response
      through the ``websocket.http.response`` extension when the server offers it, else a close
      with code 1008.

    The endpoint needs a parameter named ``request`` or ``websocket`` (as with Starlette's
    ``requires``); sync and async endpoints both work, and the signature is kept, so FastAPI
    still injects the other parameters. Put ``@requires`` below FastAPI's route decorator.

    Args:
        *scopes: Scopes the connection's credentials must all have: strs, or lists of them as
            Starlette's ``requires`` takes. None: being authenticated is enough.

    Raises:
        TypeError: A scope is not a str, or the endpoint has no ``request``/``websocket``
            parameter, or is a sync WebSocket endpoint.
        ValueError: A scope is not an RFC 6750 scope token (it could not be named in a
            challenge).

    Example:
        ```python
        @requires("items:write")
        async def delete_item(request: Request) -> JSONResponse: ...
        ```

    Added in version 0.1.0.
    """
    needed = _needed(scopes)

    def decorate(endpoint: _Endpoint) -> _Endpoint:
        name, position = _parameter(endpoint)
        if inspect.iscoroutinefunction(endpoint):

            @functools.wraps(endpoint)
            async def async_endpoint(*args: Any, **kwargs: Any) -> Any:
                connection = _argument(args, kwargs, name, position)
                scope, context = _context(connection, name)
                refusal = _check(scope, context, needed)
                if refusal is None:
                    return await endpoint(*args, **kwargs)
                if scope["type"] == "websocket":
                    challenges = [value.encode("latin-1") for value in refusal.challenges]
                    status, detail = refusal.status, refusal.detail
                    await context.refuse(scope, connection.send, status, detail, challenges)
                    return None
                raise _http_exception(refusal)

            return cast("_Endpoint", async_endpoint)
        if name == "websocket":
            msg = f"requires() needs an async WebSocket endpoint, got {endpoint.__qualname__}"
            raise TypeError(msg)

        @functools.wraps(endpoint)
        def sync_endpoint(*args: Any, **kwargs: Any) -> Any:
            connection = _argument(args, kwargs, name, position)
            refusal = _check(*_context(connection, name), needed)
            if refusal is None:
                return endpoint(*args, **kwargs)
            raise _http_exception(refusal)

        return cast("_Endpoint", sync_endpoint)

    return decorate


def _needed(scopes: tuple[str | Sequence[str], ...]) -> tuple[str, ...]:
    flat: list[str] = []
    for item in scopes:
        # A str is one scope; a list or tuple is several, as Starlette's requires takes them.
        flat.extend((item,) if isinstance(item, str) else require_strings("scopes", item))
    return require_strings("scopes", flat, require_scope_token)


def _parameter(endpoint: Callable[..., Any]) -> tuple[str, int]:
    for position, name in enumerate(inspect.signature(endpoint).parameters):
        if name in _CONNECTIONS:
            return name, position
    msg = f"requires() needs a parameter named request or websocket on {endpoint.__qualname__}"
    raise TypeError(msg)


def _argument(args: tuple[Any, ...], kwargs: dict[str, Any], name: str, position: int) -> Any:
    if name in kwargs:
        return kwargs[name]
    if position < len(args):
        return args[position]
    msg = f"the endpoint was called without its {name} argument"
    raise TypeError(msg)


def _context(connection: object, name: str) -> tuple[Mapping[str, Any], AuthContext]:
    scope = getattr(connection, "scope", None)
    if not isinstance(scope, Mapping):
        kind = type(connection).__name__
        msg = f"the {name} argument must be a Starlette Request or WebSocket, got {kind}"
        raise TypeError(msg)
    context = scope.get(SCOPE_KEY)
    if not isinstance(context, AuthContext):
        # Failing closed: without the middleware nobody was authenticated for this check.
        msg = "requires() needs asgi_middleware's AuthenticationMiddleware around the app"
        raise RuntimeError(msg)  # noqa: TRY004 - a configuration error, not a type error
    return scope, context


def _check(
    scope: Mapping[str, Any], context: AuthContext, needed: tuple[str, ...]
) -> _Refusal | None:
    if not scope["user"].is_authenticated:
        return _Refusal(401, "Authentication required", context.challenges)
    granted = scope["auth"].scopes
    if all(item in granted for item in needed):
        return None
    if context.insufficient is None:
        return _Refusal(403, "Insufficient scope", ())
    # RFC 6750 §3: the scopes the resource needs, the middleware's required_scopes included.
    scopes = list(dict.fromkeys((*context.required, *needed)))
    return _Refusal(403, "Insufficient scope", (context.insufficient(scopes),))


def _starlette(name: str) -> ModuleType:
    module = sys.modules.get(f"starlette.{name}")
    if module is None:
        msg = f"requires() refuses through Starlette, and starlette.{name} is not loaded"
        raise RuntimeError(msg)
    return module


def _http_exception(refusal: _Refusal) -> Exception:
    headers: Mapping[str, str] | None = None
    if len(refusal.challenges) == 1:
        headers = {"WWW-Authenticate": refusal.challenges[0]}
    elif refusal.challenges:
        # One header line per challenge, as the middleware sends them: Starlette's Headers is a
        # multi-mapping whose items() repeat the name, and its responses copy those items.
        raw = [(b"www-authenticate", value.encode("latin-1")) for value in refusal.challenges]
        headers = _starlette("datastructures").Headers(raw=raw)
    error: Exception = _starlette("exceptions").HTTPException(
        refusal.status, refusal.detail, headers=headers
    )
    return error
