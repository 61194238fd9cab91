"""The compression page's examples (docs/examples/compression_*.py), run as the page shows them."""

from __future__ import annotations

import gzip
import zlib

import pytest

from tests.support.asgi import asgi_client, http_scope, run
from tests.support.samples import load

pytestmark = pytest.mark.anyio


async def test_starlette_recipe_prefers_zstd() -> None:
    """The Starlette recipe answers a modern client with zstd and an old one with gzip."""
    app = load("compression_starlette").app
    async with asgi_client(app) as client:
        modern = await client.get("/users", headers={"accept-encoding": "gzip, br, zstd"})
        old = await client.get("/users", headers={"accept-encoding": "gzip"})
    assert modern.headers["content-encoding"] == "zstd"
    assert old.headers["content-encoding"] == "gzip"
    assert modern.json() == old.json()


async def test_gzip_migration_recipe_keeps_starlettes_options() -> None:
    """The FastAPI app with the swapped import compresses its report with gzip."""
    app = load("compression_gzip_migration").app
    async with asgi_client(app) as client:
        response = await client.get("/report", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.json() == {"values": list(range(2000))}


async def test_streaming_recipe_flushes_each_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SSE route sends each event as its own decodable gzip chunk."""
    module = load("compression_streaming")
    monkeypatch.setattr(module, "EVENT_PAUSE", 0)
    # Raw ASGI, not httpx: its in-process transport would join the chunks.
    sent = await run(
        module.app, http_scope("GET", "/events", headers=[("accept-encoding", "gzip")])
    )
    assert (b"content-encoding", b"gzip") in sent[0]["headers"]
    decoder = zlib.decompressobj(31)
    events = [decoder.decompress(message["body"]) for message in sent[1:]]
    assert events[:3] == [b'id: %d\nevent: tick\ndata: {"tick": %d}\n\n' % (i, i) for i in range(3)]


async def test_streaming_recipe_bulk_export_is_compressed() -> None:
    """The bulk export route streams valid gzip of every row, without per-row flushes."""
    app = load("compression_streaming").app
    async with (
        asgi_client(app) as client,
        client.stream("GET", "/export", headers={"accept-encoding": "gzip"}) as response,
    ):
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    rows = gzip.decompress(raw).splitlines()
    assert len(rows) == 10_000
    assert len(raw) < 10_000 * 5  # far less than a 5-byte sync-flush marker per row


async def test_breach_recipe_leaves_the_secret_page_uncompressed() -> None:
    """The page with a CSRF token and reflected input is sent as is; the public page is coded."""
    app = load("compression_breach").app
    async with asgi_client(app) as client:
        secret = await client.get("/account?q=abc", headers={"accept-encoding": "gzip"})
        public = await client.get("/docs", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in secret.headers
    assert "csrf" in secret.text
    assert public.headers["content-encoding"] == "gzip"
