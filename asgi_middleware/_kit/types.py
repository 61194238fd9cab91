"""ASGI type aliases shared by every middleware.

The aliases are deliberately loose at the edges so that Starlette's, FastAPI's and Litestar's own
aliases are accepted without casts:

* ``ASGIApp`` takes ``Any`` for its three parameters: Litestar types its scope and messages
  as ``TypedDict`` unions and Starlette as ``MutableMapping[str, Any]``, and only ``Any`` is a
  subtype of both, which is what a callable's parameters need for both kinds of app to fit.
* ``Scope`` and ``Message`` are read-only ``Mapping`` types: every middleware here treats what
  it was given as immutable (SPEC §2.3) and builds new dicts instead, and a ``Mapping``
  parameter accepts both Starlette's mutable mappings and Litestar's ``TypedDict`` values.
* ``Send`` takes ``Any`` for the same reason as ``ASGIApp``: a Litestar ``send`` accepts only
  its own message ``TypedDict`` types.

The messages this package builds itself are typed more tightly, one ``TypedDict`` per event with
the names ``asgiref.typing`` and uvicorn use (``HTTPResponseStartEvent`` ...): a construction
site annotated with one has its keys and value types checked by mypy. Keys the ASGI spec makes
optional are optional here too (a ``total=False`` subclass of the required keys). A message passed
on from the app, or rebuilt from one with ``{**message, ...}``, stays a ``Message``: it may carry
keys no ``TypedDict`` lists (extensions, events not yet invented), and SPEC §2.4 forwards them as
they came. ``Send`` still takes ``Any``, so these types constrain what is built, not who sends it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, TypeAlias, TypedDict

__all__ = [
    "ASGIApp",
    "HTTPResponseBodyEvent",
    "HTTPResponseStartEvent",
    "Headers",
    "Message",
    "RawHeaders",
    "Receive",
    "Scope",
    "Send",
    "WebSocketCloseEvent",
    "WebSocketResponseBodyEvent",
    "WebSocketResponseStartEvent",
]

Scope: TypeAlias = Mapping[str, Any]
"""The connection scope, read-only: middleware here never edit it (SPEC §2.3) and pass a changed
scope on as a new dict."""

Message: TypeAlias = Mapping[str, Any]
"""An ASGI event message, read-only for the same reason; a changed message is a new dict."""

Receive: TypeAlias = Callable[[], Awaitable[Message]]
"""Awaitable callable returning the next event message from the client."""

Send: TypeAlias = Callable[[Any], Awaitable[None]]
"""Awaitable callable sending one event message; it takes ``Any`` so that Litestar's ``send``,
typed with its own message ``TypedDict`` types, fits."""

ASGIApp: TypeAlias = Callable[[Any, Any, Any], Awaitable[None]]
"""An ASGI 3 application, ``await app(scope, receive, send)``; its parameters are ``Any`` so that
Starlette's, FastAPI's and Litestar's applications fit without casts."""

RawHeaders: TypeAlias = Iterable[Sequence[bytes]]
"""Header pairs as they come in a scope or message: a list or tuple of 2-item lists or tuples."""

Headers: TypeAlias = list[Sequence[bytes]]
"""A header list as this package builds it: a new list, whose pairs are the tuples it wrote and
the pairs it passed on as they came (2-item lists or tuples, as the app sent them)."""


# The messages the package builds (ASGI 3 HTTP and WebSocket specs). Each event type adds the
# spec's optional keys (total=False) to a private base holding the required ones: NotRequired is
# new in Python 3.11, and typing_extensions is no run-time dependency.


class _HTTPResponseStartRequired(TypedDict):
    type: Literal["http.response.start"]
    status: int


class HTTPResponseStartEvent(_HTTPResponseStartRequired, total=False):
    """``http.response.start``: ``headers`` default to none, ``trailers`` to ``False``."""

    headers: RawHeaders
    trailers: bool


class _HTTPResponseBodyRequired(TypedDict):
    type: Literal["http.response.body"]


class HTTPResponseBodyEvent(_HTTPResponseBodyRequired, total=False):
    """``http.response.body``: ``body`` defaults to ``b""``, ``more_body`` to ``False``."""

    body: bytes
    more_body: bool


class _WebSocketResponseStartRequired(TypedDict):
    type: Literal["websocket.http.response.start"]
    status: int


class WebSocketResponseStartEvent(_WebSocketResponseStartRequired, total=False):
    """``websocket.http.response.start`` (the denial response extension)."""

    headers: RawHeaders


class _WebSocketResponseBodyRequired(TypedDict):
    type: Literal["websocket.http.response.body"]


class WebSocketResponseBodyEvent(_WebSocketResponseBodyRequired, total=False):
    """``websocket.http.response.body`` (the denial response extension)."""

    body: bytes
    more_body: bool


class _WebSocketCloseRequired(TypedDict):
    type: Literal["websocket.close"]


class WebSocketCloseEvent(_WebSocketCloseRequired, total=False):
    """``websocket.close``: ``code`` defaults to 1000, ``reason`` to ``""``."""

    code: int
    reason: str
