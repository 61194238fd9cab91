"""BodyLimitMiddleware with Starlette and FastAPI apps, through httpx in process.

httpx's ASGI transport hands a streamed upload (``content=`` an async generator) to the app as
one ``http.request`` per chunk without a ``Content-Length``, as a chunked upload arrives, so the
counting path runs here; bytes uploads carry their ``Content-Length`` and take the refusal
before the app. What the transport hides (a lying length, the wire, the closed connection) is
tested under a real server in tests/live/test_body_limit_live.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, UploadFile
from fastapi import Request as FastAPIRequest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from asgi_middleware import ASGIApp
from asgi_middleware.body_limit import BodyLimitMiddleware, RequestBodyTooLargeError
from tests.support.asgi import asgi_client, run, send_streamed, websocket_scope

LIMIT = 1024
BOUNDARY = "limit-boundary"
FORM = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def chunks(size: int, count: int) -> Iterator[bytes]:
    """``count`` chunks of ``size`` bytes."""
    for index in range(count):
        yield bytes([48 + index % 10]) * size


def multipart(filename: str, data: bytes) -> bytes:
    """A multipart/form-data body holding one file field ``file``."""
    return (
        (
            f"--{BOUNDARY}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def pieces_of(data: bytes, size: int = 256) -> Iterator[bytes]:
    """``data`` in chunks of ``size`` bytes."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


class Seen:
    """What the endpoints saw: the body bytes they got and the errors they caught."""

    def __init__(self) -> None:
        self.calls = 0
        self.received = 0
        self.errors: list[BaseException] = []


def starlette_routes(seen: Seen) -> list[Route | WebSocketRoute]:
    """Endpoints reading the body whole, as a stream, and as a form; a WebSocket echo."""

    async def whole(request: Request) -> Response:
        seen.calls += 1
        try:
            data = await request.body()
        except RequestBodyTooLargeError as error:
            seen.errors.append(error)
            raise
        seen.received = len(data)
        return PlainTextResponse(f"whole {len(data)}")

    async def stream(request: Request) -> Response:
        seen.calls += 1
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                seen.received = size
        except RequestBodyTooLargeError as error:
            seen.errors.append(error)
            raise
        return PlainTextResponse(f"stream {size}")

    async def form(request: Request) -> Response:
        seen.calls += 1
        try:
            async with request.form() as fields:
                upload: Any = fields["file"]
                data = await upload.read()
        except RequestBodyTooLargeError as error:
            seen.errors.append(error)
            raise
        seen.received = len(data)
        return PlainTextResponse(f"form {upload.filename} {len(data)}")

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                await websocket.send_bytes(await websocket.receive_bytes())
        except WebSocketDisconnect as disconnect:
            seen.errors.append(disconnect)

    return [
        Route("/whole", whole, methods=["POST"]),
        Route("/stream", stream, methods=["POST"]),
        Route("/form", form, methods=["POST"]),
        Route("/upload/whole", whole, methods=["POST"]),
        WebSocketRoute("/ws", echo),
    ]


def listed(seen: Seen, **options: Any) -> Starlette:
    """A Starlette app with the middleware in its list (inside its error middleware)."""
    options.setdefault("max_body_size", LIMIT)
    return Starlette(
        routes=starlette_routes(seen), middleware=[Middleware(BodyLimitMiddleware, **options)]
    )


def wrapped(seen: Seen) -> ASGIApp:
    """A Starlette app wrapped from outside: its error middleware turns errors into 500s."""
    return BodyLimitMiddleware(Starlette(routes=starlette_routes(seen)), max_body_size=LIMIT)


APPS = [listed, wrapped]


# --- Starlette -----------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("make", APPS, ids=["listed", "wrapped"])
async def test_a_body_within_the_limit_is_read_whole(make: Any) -> None:
    """``request.body()`` and ``request.stream()`` get every byte, at the limit exactly."""
    seen = Seen()
    async with asgi_client(make(seen)) as client:
        whole = await client.post("/whole", content=b"x" * LIMIT)
        stream = await send_streamed(client, "POST", "/stream", chunks(256, 4))

    assert (whole.status_code, whole.text) == (200, f"whole {LIMIT}")
    assert (stream.status_code, stream.text) == (200, f"stream {LIMIT}")
    assert seen.errors == []


@pytest.mark.anyio
@pytest.mark.parametrize("make", APPS, ids=["listed", "wrapped"])
@pytest.mark.parametrize("path", ["/whole", "/stream", "/form"])
async def test_a_declared_length_over_the_limit_never_reaches_the_app(make: Any, path: str) -> None:
    """A bytes upload carries its Content-Length: 413 before the endpoint runs."""
    seen = Seen()
    async with asgi_client(make(seen)) as client:
        response = await client.post(path, content=b"x" * (LIMIT + 1))

    assert response.status_code == 413
    assert response.text == "Content Too Large"
    assert response.headers["content-length"] == "17"
    assert response.headers["connection"] == "close"
    assert seen.calls == 0


@pytest.mark.anyio
@pytest.mark.parametrize("make", APPS, ids=["listed", "wrapped"])
@pytest.mark.parametrize("path", ["/whole", "/stream"])
async def test_a_streamed_body_over_the_limit_fails_the_read_and_gets_413(
    make: Any, path: str
) -> None:
    """The endpoint's read raises the limit's error, never a short body; the client gets 413.

    Wrapped from outside, Starlette's error middleware answers the error with a 500 first: the
    middleware drops it and sends the 413.
    """
    seen = Seen()
    async with asgi_client(make(seen)) as client:
        response = await send_streamed(client, "POST", path, chunks(256, 64))

    assert (response.status_code, response.text) == (413, "Content Too Large")
    assert [type(error) for error in seen.errors] == [RequestBodyTooLargeError]
    assert seen.received <= LIMIT


@pytest.mark.anyio
async def test_a_form_upload_within_the_limit_is_parsed() -> None:
    """A multipart upload streamed without a length is counted and parsed whole."""
    seen = Seen()
    async with asgi_client(listed(seen)) as client:
        response = await send_streamed(
            client, "POST", "/form", pieces_of(multipart("a.bin", b"y" * 800)), FORM
        )

    assert (response.status_code, response.text) == (200, "form a.bin 800")


@pytest.mark.anyio
@pytest.mark.parametrize("make", APPS, ids=["listed", "wrapped"])
async def test_a_form_upload_over_the_limit_fails_the_parser_and_gets_413(make: Any) -> None:
    """``request.form()`` raises the limit's error mid-file; the client gets 413."""
    seen = Seen()
    async with asgi_client(make(seen)) as client:
        response = await send_streamed(
            client, "POST", "/form", pieces_of(multipart("big.bin", b"y" * 10 * LIMIT)), FORM
        )

    assert response.status_code == 413
    assert [type(error) for error in seen.errors] == [RequestBodyTooLargeError]


@pytest.mark.anyio
async def test_a_path_limit_raises_the_limit_under_its_prefix() -> None:
    """``/upload/*`` takes ten times the default; other paths keep the default."""
    seen = Seen()
    app = listed(seen, path_limits={"/upload/*": 10 * LIMIT})
    async with asgi_client(app) as client:
        upload = await client.post("/upload/whole", content=b"x" * 5 * LIMIT)
        other = await client.post("/whole", content=b"x" * 5 * LIMIT)
        streamed_upload = await send_streamed(client, "POST", "/upload/whole", chunks(1024, 11))

    assert (upload.status_code, upload.text) == (200, f"whole {5 * LIMIT}")
    assert other.status_code == 413
    assert streamed_upload.status_code == 413


@pytest.mark.anyio
async def test_a_websocket_message_over_the_limit_closes_with_1009() -> None:
    """The server gets close 1009; the endpoint gets ``WebSocketDisconnect(1009)``.

    httpx speaks no WebSocket: the Starlette app is driven with raw ASGI messages here, and
    under uvicorn with a real client in tests/live/test_body_limit_live.py.
    """
    seen = Seen()
    script: list[dict[str, Any]] = [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "bytes": b"x" * LIMIT},
        {"type": "websocket.receive", "bytes": b"x" * (LIMIT + 1)},
    ]

    messages = await run(listed(seen, websocket_max_message_size=LIMIT), websocket_scope(), script)

    assert messages == [
        {"type": "websocket.accept", "subprotocol": None, "headers": []},
        {"type": "websocket.send", "bytes": b"x" * LIMIT},
        {"type": "websocket.close", "code": 1009, "reason": "Message too big"},
    ]
    assert [getattr(error, "code", None) for error in seen.errors] == [1009]


# --- FastAPI -------------------------------------------------------------------------------------


def fastapi_app(seen: Seen) -> FastAPI:
    """A FastAPI app with a JSON body, an upload and a raw body, the layer added by the app."""
    app = FastAPI()

    @app.post("/json")
    async def create(item: dict[str, Any]) -> dict[str, int]:
        seen.calls += 1
        return {"keys": len(item)}

    @app.post("/upload")
    async def upload(file: UploadFile) -> dict[str, Any]:
        seen.calls += 1
        return {"name": file.filename, "size": len(await file.read())}

    @app.post("/raw")
    async def raw(request: FastAPIRequest) -> dict[str, int]:
        seen.calls += 1
        try:
            return {"size": len(await request.body())}
        except RequestBodyTooLargeError as error:
            seen.errors.append(error)
            raise

    app.add_middleware(BodyLimitMiddleware, max_body_size=LIMIT)
    return app


@pytest.mark.anyio
async def test_fastapi_bodies_within_the_limit_are_parsed() -> None:
    """JSON, an upload and a raw body under the limit reach the endpoints whole."""
    seen = Seen()
    async with asgi_client(fastapi_app(seen)) as client:
        created = await client.post("/json", json={"a": 1, "b": "x" * 100})
        uploaded = await client.post("/upload", files={"file": ("f.txt", b"z" * 500)})
        raw = await send_streamed(client, "POST", "/raw", chunks(100, 5))

    assert created.json() == {"keys": 2}
    assert uploaded.json() == {"name": "f.txt", "size": 500}
    assert raw.json() == {"size": 500}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "request_options"),
    [
        ("/json", {"json": {"a": "x" * LIMIT}}),
        ("/upload", {"files": {"file": ("f.txt", b"z" * LIMIT)}}),
        ("/raw", {"content": b"z" * (LIMIT + 1)}),
    ],
    ids=["json", "upload", "raw"],
)
async def test_fastapi_declared_lengths_over_the_limit_get_413_first(
    path: str, request_options: dict[str, Any]
) -> None:
    """The client declares the length: 413 before FastAPI parses anything."""
    seen = Seen()
    async with asgi_client(fastapi_app(seen)) as client:
        response = await client.post(path, **request_options)

    assert (response.status_code, response.text) == (413, "Content Too Large")
    assert seen.calls == 0


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/json", "/raw"])
async def test_fastapi_streamed_bodies_over_the_limit_get_413_not_400(path: str) -> None:
    """FastAPI turns a failed body read into its own 400: the middleware answers 413 instead."""
    seen = Seen()
    async with asgi_client(fastapi_app(seen)) as client:
        response = await send_streamed(
            client, "POST", path, chunks(256, 8), {"content-type": "application/json"}
        )

    assert (response.status_code, response.text) == (413, "Content Too Large")


@pytest.mark.anyio
async def test_fastapi_streamed_upload_over_the_limit_gets_413() -> None:
    """An ``UploadFile`` endpoint: the form parser fails mid-file, the client gets 413."""
    seen = Seen()
    async with asgi_client(fastapi_app(seen)) as client:
        response = await send_streamed(
            client, "POST", "/upload", pieces_of(multipart("big.bin", b"y" * 4 * LIMIT)), FORM
        )

    assert response.status_code == 413
    assert seen.calls == 0


@pytest.mark.anyio
async def test_the_413_is_what_httpx_reads_as_a_complete_response() -> None:
    """The refusal's length matches its body, so a client reads it without waiting."""
    async with asgi_client(listed(Seen())) as client:
        response = await send_streamed(client, "POST", "/whole", chunks(2048, 2))

    assert isinstance(response, httpx.Response)
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
