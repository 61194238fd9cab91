"""A raw ASGI app: the layers stacked with `compose` or nested by hand, and a 500 of its own.

With no framework, nothing turns an exception into a response: the server sends its own
500 from outside every layer. `server_errors`, innermost, answers it inside the layers.
Try `uvicorn guide_raw_asgi:app --app-dir docs/examples`, then
`curl -i http://127.0.0.1:8000/boom -H "Origin: https://app.example"`.
"""

from __future__ import annotations

from asgi_middleware import (
    ASGIApp,
    CORSMiddleware,
    Layer,
    Message,
    Receive,
    RequestIDMiddleware,
    Scope,
    Send,
    compose,
)

ORIGIN = "https://app.example"


async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer ``/``; fail on any other path."""
    if scope["type"] != "http":
        return  # no lifespan work, no WebSockets: a server then goes on without them
    if scope["path"] != "/":
        msg = "something went wrong"
        raise RuntimeError(msg)
    body = b"Hello, world!\n"
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# --8<-- [start:errors]
def server_errors(app: ASGIApp) -> ASGIApp:
    """Answer an exception raised before the response started with a plain 500.

    Put it innermost, so that the 500 passes out through the other layers. The exception
    is raised again afterwards, for the server to log.
    """

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await app(scope, receive, watch)
        except Exception:
            if scope["type"] != "http" or started:
                raise
            body = b"Internal Server Error\n"
            headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            raise

    return guarded


# --8<-- [end:errors]

# --8<-- [start:compose]
app = compose(
    endpoint,
    Layer(CORSMiddleware, allow_origins=[ORIGIN], expose_headers=["X-Request-ID"]),
    Layer(RequestIDMiddleware),
    server_errors,  # innermost: its 500 gets the CORS headers and the request ID
)
# --8<-- [end:compose]

# --8<-- [start:nested]
# The same stack nested by hand: the outermost layer is written first, and outside.
nested = CORSMiddleware(
    RequestIDMiddleware(server_errors(endpoint)),
    allow_origins=[ORIGIN],
    expose_headers=["X-Request-ID"],
)

# Without server_errors, an exception reaches the server, which answers the 500 itself.
bare = compose(
    endpoint,
    Layer(CORSMiddleware, allow_origins=[ORIGIN], expose_headers=["X-Request-ID"]),
    Layer(RequestIDMiddleware),
)
# --8<-- [end:nested]
