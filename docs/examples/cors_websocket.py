"""Refuse WebSocket handshakes from other sites (cross-site WebSocket hijacking).

Try `uvicorn cors_websocket:app --app-dir docs/examples`, then connect from a page
on another origin: the handshake gets a 403.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from asgi_middleware import CORSMiddleware


async def echo(websocket: WebSocket) -> None:
    """Echo text messages, with the user's session cookie available to authenticate."""
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(text)


# --8<-- [start:app]
ORIGINS = ["https://app.example.com", "https://*.app.example.com"]

app = CORSMiddleware(
    Starlette(routes=[WebSocketRoute("/ws", echo)]),
    allow_origins=ORIGINS,
    allow_credentials=True,
    # The same list for WebSockets; None (the default) leaves them unchecked.
    websocket_origins=ORIGINS,
)
# --8<-- [end:app]
