"""The body-limit samples (docs/examples/body_limit_*.py) do what docs/body-limit.md says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.asgi import asgi_client, run, send_streamed, websocket_scope
from tests.support.samples import app_of, load

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("sibling_imports")]

MB = 1_000_000


def pieces(size: int, piece: bytes = b"x" * 65536) -> Iterator[bytes]:
    """``size`` bytes in pieces of ``piece``."""
    while size > 0:
        yield piece[:size]
        size -= len(piece)


async def test_basic_sample_takes_small_json_and_refuses_a_large_one() -> None:
    """body_limit_basic: 1 MB by default, declared or streamed."""
    big = json.dumps({"data": "x" * MB})
    async with asgi_client(app_of(load("body_limit_basic"))) as client:
        small = await client.post("/items", json={"a": 1, "b": 2})
        declared = await client.post("/items", content=big)
        counted = await send_streamed(client, "POST", "/items", pieces(2 * MB))

    assert (small.status_code, small.json()) == (201, {"fields": 2})
    assert (declared.status_code, declared.text) == (413, "Content Too Large")
    assert counted.status_code == 413


async def test_basic_sample_takes_large_uploads_under_its_prefix() -> None:
    """body_limit_basic: 100 MB under /uploads/, so 5 MB passes there."""
    async with asgi_client(app_of(load("body_limit_basic"))) as client:
        response = await send_streamed(client, "PUT", "/uploads/a.bin", pieces(5 * MB))

    assert (response.status_code, response.json()) == (200, {"size": 5 * MB})


async def test_basic_sample_has_no_limit_on_the_stream_the_app_bounds() -> None:
    """body_limit_basic: /ingest has no limit; the app stops after its 10 lines."""
    lines = pieces(3 * MB, b"a line of the stream\n" * 3000)
    async with asgi_client(app_of(load("body_limit_basic"))) as client:
        response = await send_streamed(client, "POST", "/ingest", lines)

    assert (response.status_code, response.json()) == (200, {"lines": 10})


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (64_000, {"type": "websocket.send", "text": "é" * 32_000}),
        (64_002, {"type": "websocket.close", "code": 1009, "reason": "Message too big"}),
    ],
)
async def test_basic_sample_closes_a_chat_message_over_64_kb(
    size: int, expected: dict[str, Any]
) -> None:
    """body_limit_basic: a text message is measured in UTF-8 bytes; over 64 kB closes with 1009."""
    script: list[dict[str, Any]] = [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": "é" * (size // 2)},
        {"type": "websocket.disconnect", "code": 1000},
    ]

    messages = await run(app_of(load("body_limit_basic")), websocket_scope("/chat"), script)

    assert messages[1] == expected


@pytest.mark.parametrize(("size", "status"), [(MB, 200), (MB + 1, 413)])
async def test_migration_sample_answers_as_starlettes(size: int, status: int) -> None:
    """body_limit_migration: before and after agree on the limit; only the import changed."""
    module = load("body_limit_migration")
    answers = []
    for name in ("before_app", "app"):
        async with asgi_client(app_of(module, name)) as client:
            response = await client.post("/echo", content=b"x" * size)
        answers.append((response.status_code, response.text))

    expected = (200, str(size)) if status == 200 else (413, "Content Too Large")
    assert answers == [expected, expected]


async def test_streaming_sample_stores_an_upload_within_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """body_limit_streaming: the file holds every byte sent."""
    monkeypatch.setenv("UPLOAD_DIR", str(tmp_path))
    async with asgi_client(app_of(load("body_limit_streaming"))) as client:
        response = await send_streamed(client, "PUT", "/files/a.bin", pieces(MB))

    assert (response.status_code, response.json()) == (201, {"stored": "a.bin"})
    assert (tmp_path / "a.bin").stat().st_size == MB


async def test_streaming_sample_deletes_a_cut_upload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """body_limit_streaming: over 5 MB, the client gets 413 and no file is left behind."""
    monkeypatch.setenv("UPLOAD_DIR", str(tmp_path))
    async with asgi_client(app_of(load("body_limit_streaming"))) as client:
        response = await send_streamed(client, "PUT", "/files/big.bin", pieces(6 * MB))

    assert response.status_code == 413
    assert not (tmp_path / "big.bin").exists()


async def test_stack_sample_refusal_carries_cors_request_id_and_security_headers() -> None:
    """body_limit_stack: the 413 passes out through every layer outside the limit."""
    headers = {"Origin": "https://app.example.com", "Host": "api.example.com"}
    async with asgi_client(app_of(load("body_limit_stack"))) as client:
        refused = await client.post("/items", content=b"x" * (MB + 1), headers=headers)
        created = await client.post("/items", json={"a": 1}, headers=headers)

    assert refused.status_code == 413
    assert refused.headers["access-control-allow-origin"] == "https://app.example.com"
    assert len(refused.headers["x-request-id"]) == 32
    assert refused.headers["x-content-type-options"] == "nosniff"
    assert (created.status_code, created.json()) == (201, {"a": 1})


@pytest.mark.parametrize(
    ("path", "size", "status"),
    [
        ("/upload/avatar", 2_000_000, 200),
        ("/upload/avatar", 2_000_001, 413),
        ("/upload/video.mp4", 3_000_000, 200),
        ("/export", 100_000, 200),
        ("/export", 100_001, 413),
    ],
)
async def test_paths_sample_gives_each_path_its_limit(path: str, size: int, status: int) -> None:
    """body_limit_paths: the avatar's 2 MB, the other uploads' 50 MB, 100 kB elsewhere."""
    method = "POST" if path == "/export" else "PUT"
    async with asgi_client(app_of(load("body_limit_paths"))) as client:
        response = await client.request(method, path, content=b"x" * size)

    assert response.status_code == status


@pytest.mark.parametrize(
    ("path", "size", "status"),
    [("/upload/avatar", 2_000_001, 413), ("/upload/video.mp4", 3_000_000, 200)],
)
async def test_paths_sample_in_the_other_order_gives_the_same_limits(
    path: str, size: int, status: int
) -> None:
    """body_limit_paths: with the mapping reversed, the avatar still has its smaller limit."""
    module = load("body_limit_paths")
    limits = {"/upload/avatar": 2_000_000, "/upload/*": 50_000_000}
    app = module.BodyLimitMiddleware(
        module.starlette_app, max_body_size=100_000, path_limits=limits
    )
    async with asgi_client(app) as client:
        response = await client.put(path, content=b"x" * size)

    assert response.status_code == status
