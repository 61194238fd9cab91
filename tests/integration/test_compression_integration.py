"""CompressionMiddleware and GZipMiddleware behind Starlette and FastAPI, over httpx in process."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse as FastAPIStreamingResponse
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from asgi_middleware import CompressionMiddleware, GZipMiddleware
from tests.support.asgi import asgi_client

pytestmark = pytest.mark.anyio

ROWS = [{"id": index, "name": f"user {index}", "plan": "team"} for index in range(200)]


async def users(request: Request) -> JSONResponse:
    """A JSON list large enough to compress."""
    return JSONResponse(ROWS, headers={"ETag": '"users-v1"'})


async def small(request: Request) -> PlainTextResponse:
    """A body under the minimum size."""
    return PlainTextResponse("ok")


async def logo(request: Request) -> Response:
    """A PNG: already compressed, never recoded."""
    return Response(b"\x89PNG" + b"\x00" * 2000, media_type="image/png")


async def export(request: Request) -> StreamingResponse:
    """An NDJSON stream."""

    async def rows() -> AsyncIterator[bytes]:
        for row in ROWS:
            yield f'{{"id": {row["id"]}}}\n'.encode()

    return StreamingResponse(rows(), media_type="application/x-ndjson")


def starlette_app() -> Starlette:
    """Starlette with CompressionMiddleware in its middleware list."""
    routes = [Route("/users", users), Route("/small", small), Route("/logo", logo)]
    routes.append(Route("/export", export))
    return Starlette(routes=routes, middleware=[Middleware(CompressionMiddleware)])


def fastapi_app() -> FastAPI:
    """FastAPI with GZipMiddleware added the way Starlette's GZip is added."""
    app = FastAPI()
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=5)

    @app.get("/users")
    async def list_users() -> list[dict[str, object]]:
        return ROWS

    @app.get("/export")
    async def stream() -> FastAPIStreamingResponse:
        async def rows() -> AsyncIterator[bytes]:
            for row in ROWS:
                yield f'{{"id": {row["id"]}}}\n'.encode()

        return FastAPIStreamingResponse(rows(), media_type="application/x-ndjson")

    return app


@pytest.mark.parametrize(("accept", "coding"), [("gzip, br, zstd", "zstd"), ("br", "br")])
async def test_starlette_json_is_compressed(accept: str, coding: str) -> None:
    """Starlette's JSON comes back coded, decoded by httpx, with a weak ETag and Vary."""
    async with asgi_client(starlette_app()) as client:
        response = await client.get("/users", headers={"accept-encoding": accept})
    assert response.headers["content-encoding"] == coding
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["etag"] == 'W/"users-v1"'
    assert response.json() == ROWS


@pytest.mark.parametrize(("path", "body"), [("/small", b"ok"), ("/logo", None)])
async def test_starlette_small_and_binary_bodies_stay_identity(path: str, body: bytes) -> None:
    """Small bodies and PNGs are sent as the app made them."""
    async with asgi_client(starlette_app()) as client:
        response = await client.get(path, headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in response.headers
    assert "vary" not in response.headers
    if body is not None:
        assert response.content == body


async def test_starlette_stream_is_compressed_without_length() -> None:
    """A StreamingResponse is coded chunk by chunk and has no Content-Length."""
    async with asgi_client(starlette_app()) as client:
        response = await client.get("/export", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert "content-length" not in response.headers
    assert response.text.count("\n") == len(ROWS)


async def test_fastapi_gzip_middleware_compresses_json() -> None:
    """FastAPI's ``add_middleware(GZipMiddleware, ...)`` works with Starlette's option names."""
    async with asgi_client(fastapi_app()) as client:
        response = await client.get("/users", headers={"accept-encoding": "gzip"})
        raw = await client.get("/users", headers={"accept-encoding": "identity"})
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) < len(raw.content) // 3
    assert response.json() == ROWS
    assert raw.headers["vary"] == "Accept-Encoding"


async def test_fastapi_stream_decodes() -> None:
    """A FastAPI stream through GZipMiddleware is valid gzip from first byte to last."""
    headers = {"accept-encoding": "gzip"}
    async with (
        asgi_client(fastapi_app()) as client,
        client.stream("GET", "/export", headers=headers) as response,
    ):
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert gzip.decompress(raw).count(b"\n") == len(ROWS)
