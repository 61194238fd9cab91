"""FastAPI: the same layers wrapped around the app object, or added with `add_middleware`.

`app` wraps the FastAPI object with `compose`; `added` uses `add_middleware`. Try
`uvicorn guide_fastapi:app --app-dir docs/examples`, then
`curl -i http://127.0.0.1:8000/boom -H "Origin: https://app.example"`.
"""

from __future__ import annotations

from fastapi import FastAPI, Request

from asgi_middleware import (
    AuthenticationMiddleware,
    BearerTokenBackend,
    CORSMiddleware,
    Layer,
    RequestIDMiddleware,
    compose,
)

ORIGIN = "https://app.example"
TOKEN = "change-me"  # noqa: S105 - a sample's token; read yours from the environment


def make_api() -> FastAPI:
    """The FastAPI app, routes only."""
    api = FastAPI()

    @api.get("/whoami")
    async def whoami(request: Request) -> dict[str, str]:
        return {"user": request.user.display_name}

    @api.get("/boom")
    async def boom() -> dict[str, str]:
        msg = "something went wrong"
        raise RuntimeError(msg)

    return api


# --8<-- [start:wrapped]
api = make_api()  # keep it for routes, dependency_overrides and openapi()

# Recommended: the layers wrap the whole FastAPI object, its error handler included.
app = compose(
    api,
    Layer(
        CORSMiddleware,
        allow_origins=[ORIGIN],
        allow_headers=["Authorization"],
        expose_headers=["X-Request-ID"],
    ),
    Layer(RequestIDMiddleware),
    Layer(
        AuthenticationMiddleware,
        backend=BearerTokenBackend(tokens=[TOKEN]),
        exclude_paths=["/boom"],
    ),
)
# --8<-- [end:wrapped]

# --8<-- [start:added]
added = make_api()
# Each call wraps everything added before it: the last call is outermost.
# Add the layers innermost first, the reverse of the documented order.
added.add_middleware(
    AuthenticationMiddleware,
    backend=BearerTokenBackend(tokens=[TOKEN]),
    exclude_paths=["/boom"],
)
added.add_middleware(RequestIDMiddleware)
added.add_middleware(
    CORSMiddleware,
    allow_origins=[ORIGIN],
    allow_headers=["Authorization"],
    expose_headers=["X-Request-ID"],
)
# --8<-- [end:added]
