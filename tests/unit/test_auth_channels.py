"""Channels' ``AuthMiddlewareStack`` inside our authentication: a clear error, not a bare 500."""

from __future__ import annotations

from typing import Any

import pytest
from channels import auth as channels_auth  # type: ignore[import-untyped]

from asgi_middleware.auth import (
    APIKeyBackend,
    AuthenticationMiddleware,
    SimpleUser,
    UnauthenticatedUser,
)
from tests.support.asgi import websocket_scope

pytestmark = pytest.mark.anyio

MESSAGE = r"Channels' AuthMiddlewareStack sits inside AuthenticationMiddleware"


class FakeChannelsAuth:
    """What Channels' ``AuthMiddleware`` does to a ``scope["user"]`` already set."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        scope = dict(scope)
        scope["user"]._wrapped = object()
        await self.app(scope, receive, send)


async def never_called(scope: Any, receive: Any, send: Any) -> None:
    """The app inside: never reached."""
    raise AssertionError  # pragma: no cover - the point is that it is never reached


async def nothing() -> dict[str, Any]:
    """A receive that is never awaited."""
    return {"type": "websocket.connect"}  # pragma: no cover - never read


async def ignore(message: Any) -> None:
    """A send that drops everything."""


@pytest.mark.parametrize("user", [SimpleUser("ada"), UnauthenticatedUser()])
def test_assigning_wrapped_says_what_is_wrong(user: object) -> None:
    """Both user classes refuse ``_wrapped`` with the fix; reading it is still missing."""
    with pytest.raises(TypeError, match=MESSAGE) as raised:
        user._wrapped = object()  # type: ignore[attr-defined]

    assert "AuthMiddlewareStack on the websocket branch only" in str(raised.value)
    assert repr(user) in str(raised.value)
    assert not hasattr(user, "_wrapped")


@pytest.mark.parametrize("key", [b"secret", None])
async def test_a_channels_like_layer_inside_ours_gets_the_error(key: bytes | None) -> None:
    """Authenticated or anonymous, the assignment fails with the TypeError."""
    headers = [] if key is None else [(b"x-api-key", key)]
    app = AuthenticationMiddleware(
        FakeChannelsAuth(never_called),
        backend=APIKeyBackend(keys=["secret"]),
        allow_anonymous=True,
    )

    with pytest.raises(TypeError, match=MESSAGE):
        await app(websocket_scope(headers=headers), nothing, ignore)


async def test_the_real_channels_auth_middleware_inside_ours_gets_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Channels' own AuthMiddleware, its session lookup stubbed (no Django database here)."""

    async def get_user(scope: Any) -> object:
        return object()

    monkeypatch.setattr(channels_auth, "get_user", get_user)
    app = AuthenticationMiddleware(
        channels_auth.AuthMiddleware(never_called), backend=APIKeyBackend(keys=["secret"])
    )
    scope = {**websocket_scope(headers=[(b"x-api-key", b"secret")]), "session": {}}

    with pytest.raises(TypeError, match=MESSAGE):
        await app(scope, nothing, ignore)
