"""Deliberately broken middleware: each breaks one rule of SPEC §2, so one check must fail.

They prove the conformance checks can fail; none of this is a pattern to follow.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any

from asgi_middleware import ASGIApp, Message, Receive, Scope, Send

leaky: contextvars.ContextVar[str] = contextvars.ContextVar("leaky", default="")


class _Base:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app


class WrapsLifespan(_Base):
    """Wraps receive for every scope type, lifespan included."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def receive_wrapper() -> Message:
            return await receive()

        await self.app(scope, receive_wrapper, send)


class RejectsUnknownScopes(_Base):
    """Refuses scope types it does not know instead of passing them through."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket", "lifespan"}:
            raise RuntimeError("unsupported scope")
        await self.app(scope, receive, send)


class _StartRewriter(_Base):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = self.rewrite(message)
            await send(message)

        await self.app(scope, receive, send_wrapper)

    def rewrite(self, message: Message) -> Message:
        raise NotImplementedError


class AssumesHeaders(_StartRewriter):
    """Reads ``message["headers"]`` as if it were always there."""

    def rewrite(self, message: Message) -> Message:
        return {**message, "headers": [*message["headers"], (b"x-added", b"1")]}


class AssumesListHeaders(_StartRewriter):
    """Concatenates header lists with ``+``, which fails for tuples."""

    def rewrite(self, message: Message) -> Message:
        added = [(b"x-added", b"1")]
        return {**message, "headers": message.get("headers", []) + added}  # bug: tuples


class AddsUpperCaseNames(_StartRewriter):
    """Adds a header with an upper-case name."""

    def rewrite(self, message: Message) -> Message:
        return {**message, "headers": [*message.get("headers", ()), (b"X-Added", b"1")]}


class MutatesStart(_StartRewriter):
    """Appends to the app's own header list in place."""

    def rewrite(self, message: Message) -> Message:
        message["headers"].append((b"x-added", b"1"))
        return message


class MutatesScope(_Base):
    """Writes into the scope it was given."""

    async def __call__(self, scope: Any, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["seen"] = True
        await self.app(scope, receive, send)


class DropsUnknownMessages(_Base):
    """Forwards only the message types it knows."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_wrapper(message: Message) -> None:
            if (
                message["type"] in {"http.response.start", "http.response.body"}
                or scope["type"] != "http"
            ):
                await send(message)

        await self.app(scope, receive, send_wrapper)


class CopiesMessages(_Base):
    """Rebuilds every message it forwards, so nothing arrives as it was sent."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_wrapper(message: Message) -> None:
            await send(dict(message))

        async def receive_wrapper() -> Message:
            return dict(await receive())

        await self.app(scope, receive_wrapper, send_wrapper)


class DropsDisconnect(_Base):
    """Turns a disconnect into an empty request, hiding it from the app."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def receive_wrapper() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect":
                return {"type": "http.request", "body": b"", "more_body": False}
            return message

        await self.app(scope, receive_wrapper, send)


class SwallowsExceptions(_Base):
    """Logs nothing, raises nothing: the exception disappears."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with contextlib.suppress(Exception):  # the bug this class demonstrates
            await self.app(scope, receive, send)


class BuffersBody(_Base):
    """Holds the whole body back until the final chunk."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        held: list[Message] = []

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.body" and message.get("more_body", False):
                held.append(message)
                return
            for early in held:
                await send(early)
            held.clear()
            await send(message)

        await self.app(scope, receive, send_wrapper)


class LeaksContextVar(_Base):
    """Sets a context variable and never resets it."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            leaky.set(scope["path"] + "#leaked")
        await self.app(scope, receive, send)


class ChangesWebSocketFrames(_Base):
    """Upper-cases text frames on the way out."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_wrapper(message: Message) -> None:
            if message["type"] == "websocket.send" and message.get("text") is not None:
                message = {**message, "text": message["text"].upper()}
            await send(message)

        await self.app(scope, receive, send_wrapper)


class RefusesWebSockets(_Base):
    """Turns the app's accept into a close, then drops the session's frames."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        closed = False

        async def send_wrapper(message: Message) -> None:
            nonlocal closed
            if scope["type"] != "websocket":
                await send(message)
            elif not closed:
                closed = True
                await send({"type": "websocket.close", "code": 1008, "reason": ""})

        await self.app(scope, receive, send_wrapper)


class AssumesScopeHeaders(_Base):
    """Reads ``scope["headers"]`` as if every server sent it."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["headers"]:
            return
        await self.app(scope, receive, send)
