"""Request facts that every layer agrees on, so that no middleware imports another's internals.

- ``REQUEST_ID``: the contextvar behind ``get_request_id()``, set by ``RequestIDMiddleware`` and
  read by the access log;
- ``structlog_contextvar``: the variable behind one of structlog's contextvars keys, to bind and
  reset it with a token on the request path;
- ``is_cancellation`` and ``CLIENT_CLOSED``: what counts as a cancelled request and the status
  (499) the access log and the timing callback report for it.
"""

from __future__ import annotations

import asyncio
import sys
from contextvars import ContextVar
from typing import Any

from structlog.contextvars import bind_contextvars, reset_contextvars

__all__ = ["CLIENT_CLOSED", "REQUEST_ID", "is_cancellation", "structlog_contextvar"]

#: The current request's ID, or ``None`` outside a request (``get_request_id()`` reads it).
REQUEST_ID: ContextVar[str | None] = ContextVar("asgi_middleware.request_id", default=None)

#: nginx's "client closed request": the status the access log and the timing callback report for
#: a request that ended before any response started, because the client left or it was cancelled.
CLIENT_CLOSED = 499


def structlog_contextvar(key: str) -> ContextVar[Any]:
    """Return the ``ContextVar`` behind structlog's contextvars entry ``key``.

    ``bind_contextvars`` returns the tokens of the variables it set (documented since structlog
    21.1) and a token knows its variable, so the request path can set and reset the variable
    directly: the same effect as ``bind_contextvars``/``reset_contextvars``, at a fifth of the
    cost.
    """
    tokens = bind_contextvars(**{key: None})
    reset_contextvars(**tokens)
    variable: ContextVar[Any] = tokens[key].var
    return variable


def is_cancellation(error: BaseException) -> bool:
    """Whether ``error`` is the cancellation of the request's task, not a failure.

    asyncio's ``CancelledError`` and trio's ``Cancelled`` (what anyio's cancel scopes raise on
    each), or an exception group holding nothing else (a trio nursery cancelled as a whole).
    Both are ``BaseException``: a server that cancels a task on disconnect or at shutdown, or a
    timeout, is not an error of the app's.
    """
    members = getattr(error, "exceptions", None)
    if isinstance(members, tuple) and members:  # a BaseExceptionGroup (or 3.10's backport)
        return all(is_cancellation(member) for member in members)
    if isinstance(error, asyncio.CancelledError):
        return True
    # Looked up, never imported: under trio, trio is loaded; otherwise its error cannot occur.
    trio = sys.modules.get("trio")
    return trio is not None and isinstance(error, trio.Cancelled)
