"""The test kit's scripted client (``tests/support/asgi.py``) behaves as a real one does."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from tests.support.asgi import run, websocket_scope

pytestmark = pytest.mark.anyio

SESSION: list[dict[str, Any]] = [
    {"type": "websocket.connect"},
    {"type": "websocket.receive", "text": "ping"},
    {"type": "websocket.disconnect", "code": 1000},
]


async def test_websocket_frames_wait_for_the_accept() -> None:
    """A frame scripted after the handshake reaches the app only once it has accepted."""
    events: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"

        async def read_frame() -> None:
            message = await receive()
            events.append(f"received {message.get('text')}")

        async with anyio.create_task_group() as group:
            group.start_soon(read_frame)
            await anyio.sleep(0.01)  # the read is pending: nothing was sent yet
            events.append("accepting")
            await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 1000})

    await run(app, websocket_scope(), SESSION)

    assert events == ["accepting", "received ping"]


async def test_refused_handshake_gets_a_disconnect_not_the_frames() -> None:
    """After a refusal the client is gone: the next receive is a disconnect."""
    received: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.close", "code": 1008})
        received.append(await receive())

    await run(app, websocket_scope(), SESSION)

    assert [message["type"] for message in received] == ["websocket.disconnect"]
