"""Body-limit scenarios: our BodyLimitMiddleware next to Starlette's and a hand-written floor.

The request is what most requests to an API with a body are: a POST whose ``Content-Length``
(100) is under the limit (1 MiB), and whose body the app reads. Every row lets it through, so the
time is what a limit costs a request that keeps to it: the ``Content-Length`` check and the
counting of the body as the app reads it.

* ``body-limit``: Starlette's ``RequestBodyLimitMiddleware`` with the same limit is the
  reference; the floor and ours are timed beside it.
* ``body-limit-floor``: the same request with the floor as the reference, so the ratio says how
  much ours costs over the least a limit can do.

The floor, :class:`FloorBodyLimit`, is the smallest hand-written limit: it compares the first
``content-length`` field (lower case, as servers send it) with the limit and wraps ``receive``
to count the body, nothing else. It neither refuses a repeated or malformed ``Content-Length``,
nor answers 413 after a counted body crossed the limit (it only raises), nor knows paths or
WebSockets.

The bare app answers with the number of body bytes it received, so each row's check proves the
body reached the app whole through the row's ``receive``; what happens over the limit is the
unit tests' job (tests/unit/test_body_limit.py), as a check sees only one passing request.
"""

from __future__ import annotations

from typing import Any

from starlette.middleware.body_limit import RequestBodyLimitMiddleware

from asgi_middleware.body_limit import BodyLimitMiddleware
from benchmarks.checks import expect
from benchmarks.common import JSON_100, http_scope
from benchmarks.model import ASGIApp, Message, Scenario, Scope, Variant

#: The limit every row enforces: 1 MiB, far above the request's body.
LIMIT = 1024 * 1024
#: The request: a POST of a 100-byte JSON body, declared by its Content-Length.
REQUEST_HEADERS = (
    (b"content-type", b"application/json"),
    (b"content-length", str(len(JSON_100)).encode("ascii")),
)
REQUEST: tuple[Message, ...] = ({"type": "http.request", "body": JSON_100, "more_body": False},)
#: The app's answer: how many body bytes it received.
RECEIVED = b'{"received":%d}' % len(JSON_100)


async def counting_app(scope: Scope, receive: Any, send: Any) -> None:
    """Read the request body to its end, then answer 200 with the number of bytes received."""
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b'{"received":%d}' % size
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _FloorTooLargeError(Exception):
    """The floor's error for a counted body over the limit."""


class FloorBodyLimit:
    """The least a body limit does: one header check and a counting ``receive``."""

    __slots__ = ("app", "limit")

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Refuse a declared length over the limit, else count the body as the app reads it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit
        for key, value in scope["headers"]:
            if key == b"content-length":
                if int(value) > limit:
                    headers = [(b"content-length", b"17"), (b"connection", b"close")]
                    await send({"type": "http.response.start", "status": 413, "headers": headers})
                    await send({"type": "http.response.body", "body": b"Content Too Large"})
                    return
                break
        received = 0

        async def receive_wrapper() -> Message:
            nonlocal received
            message: Message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _FloorTooLargeError
            return message

        await self.app(scope, receive_wrapper, send)


def starlette_body_limit(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in Starlette's RequestBodyLimitMiddleware with the benchmark's limit."""
    return RequestBodyLimitMiddleware(app, max_body_size=LIMIT)


def floor_body_limit(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in the hand-written floor with the benchmark's limit."""
    return FloorBodyLimit(app, LIMIT)


def ours_body_limit(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in our BodyLimitMiddleware with the benchmark's limit."""
    return BodyLimitMiddleware(app, max_body_size=LIMIT)


#: The app's own answer: the whole body reached it.
PASSED = expect(body=RECEIVED, headers={"content-type": "application/json"})
_STARLETTE = Variant("starlette", starlette_body_limit, PASSED)
_FLOOR = Variant("floor", floor_body_limit, PASSED, "hand-written, one header check and a count")
_OURS = Variant("asgi-middleware", ours_body_limit, PASSED)


def _scenario(
    name: str, description: str, reference: str, variants: tuple[Variant, ...]
) -> Scenario:
    return Scenario(
        name=name,
        description=description,
        app=counting_app,
        scope=http_scope("POST", "/api/items", REQUEST_HEADERS),
        request=REQUEST,
        bare_check=PASSED,
        reference=reference,
        variants=variants,
    )


SCENARIOS: tuple[Scenario, ...] = (
    _scenario(
        "body-limit",
        "POST of 100 bytes, Content-Length under the 1 MiB limit; the app reads the body",
        "starlette",
        (_STARLETTE, _FLOOR, _OURS),
    ),
    # The floor as the reference: how much ours costs over the least a limit can do.
    _scenario(
        "body-limit-floor",
        "the same POST, with the hand-written floor as the reference",
        "floor",
        (_FLOOR, _OURS),
    ),
)
