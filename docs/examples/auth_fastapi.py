"""FastAPI: authentication in the middleware, security schemes declared for the OpenAPI docs.

Run it with `API_KEYS=key1,key2 uvicorn auth_fastapi:app --app-dir docs/examples`.
"""

from __future__ import annotations

import os
import secrets
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from asgi_middleware import APIKeyBackend, AuthenticationMiddleware, Layer, compose, requires

# --8<-- [start:app]
# Declared with auto_error=False: they only document the schemes (the Authorize button in /docs);
# the middleware has already authenticated the request when a dependency runs.
bearer_scheme = HTTPBearer(auto_error=False)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False)


def current_user(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
    _api_key: Annotated[str | None, Security(api_key_scheme)],
) -> str:
    """The user the middleware authenticated."""
    name: str = request.user.display_name
    return name


api = FastAPI(title="Inventory", dependencies=[Depends(current_user)])


@api.get("/items")
async def items(user: Annotated[str, Depends(current_user)]) -> dict[str, object]:
    """List the caller's items."""
    return {"owner": user, "items": []}


@api.delete("/items/{item_id}")
@requires("items:write")
async def delete_item(item_id: int, request: Request) -> dict[str, object]:
    """Only for keys with the items:write scope."""
    return {"deleted": item_id, "by": request.user.display_name}


# Unset, a random key nobody knows: the app refuses everyone rather than run open.
keys = [key for key in os.environ.get("API_KEYS", "").split(",") if key] or [secrets.token_hex()]
app = compose(
    api,
    Layer(
        AuthenticationMiddleware,
        backend=APIKeyBackend(keys=keys, name="X-API-Key", scopes=["items:read"]),
        # The interactive docs and the schema stay public; everything else needs a key.
        exclude_paths=["/docs", "/docs/*", "/openapi.json"],
    ),
)
# --8<-- [end:app]
