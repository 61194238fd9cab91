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
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias

__all__ = ["ASGIApp", "Headers", "Message", "RawHeaders", "Receive", "Scope", "Send"]

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
