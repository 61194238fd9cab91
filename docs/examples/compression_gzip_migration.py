"""Moving a FastAPI app from Starlette's GZipMiddleware: only the import changes.

Run it with `uvicorn compression_gzip_migration:app --app-dir docs/examples`.
"""

from __future__ import annotations

from fastapi import FastAPI

# --8<-- [start:app]
# Before: from starlette.middleware.gzip import GZipMiddleware
from asgi_middleware import GZipMiddleware

app = FastAPI()
app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=5)
# --8<-- [end:app]


@app.get("/report")
async def report() -> dict[str, list[int]]:
    """A report body of a few kilobytes."""
    return {"values": list(range(2000))}
