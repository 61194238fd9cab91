"""A FastAPI application wrapped with `compose`.

Run it with `uvicorn fastapi_app:app --app-dir docs/examples`.
"""

from __future__ import annotations

from fastapi import FastAPI

from asgi_middleware import Layer, compose

from set_header import SetHeaderMiddleware

# --8<-- [start:app]
api = FastAPI(title="Greeter")


@api.get("/")
async def hello() -> dict[str, str]:
    """Greet the caller."""
    return {"message": "Hello from FastAPI!"}


# Routes, dependency overrides and `api.openapi()` stay on `api`;
# the server runs `app`.
app = compose(
    api,
    Layer(SetHeaderMiddleware, name="x-content-type-options", value="nosniff"),
)
# --8<-- [end:app]
