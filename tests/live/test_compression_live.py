"""Compression against a real uvicorn on 127.0.0.1: curl, a raw-socket SSE client, 256 MiB."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
import zlib

import pytest

from tests.support.compression_apps import JSON_BODY, sse_event
from tests.support.compression_apps import app as compressed_app
from tests.support.servers import ServeApp, peak_rss_kib, reset_peak_rss, serve_process

TIMEOUT = 10.0
CURL = shutil.which("curl")


def _curl_features() -> set[str]:
    if CURL is None:  # pragma: no cover - curl is part of the dev image (Debian's curl)
        return set()
    version = subprocess.run([CURL, "--version"], capture_output=True, text=True, check=True)
    match = re.search(r"^Features: (.*)$", version.stdout, re.MULTILINE)
    return set(match.group(1).lower().split()) if match else set()


FEATURES = _curl_features()
_CODINGS = [coding for coding, feature in (("gzip", "libz"), ("br", "brotli"), ("zstd", "zstd"))
            if feature in FEATURES]  # fmt: skip


@pytest.mark.server
@pytest.mark.parametrize("coding", _CODINGS)
def test_curl_compressed_decodes(live_server: ServeApp, coding: str) -> None:
    """``curl --compressed`` asking for one coding gets it and decodes the body byte for byte."""
    assert CURL is not None
    server = live_server(compressed_app)
    result = subprocess.run(
        [CURL, "-sS", "--noproxy", "*", "--compressed", "-H", f"Accept-Encoding: {coding}",
         "-D", "-", f"{server.url}/json"],
        capture_output=True, check=True, timeout=TIMEOUT,
    )  # fmt: skip
    head, _, content = result.stdout.partition(b"\r\n\r\n")
    assert f"content-encoding: {coding}".encode() in head.lower()
    assert content == JSON_BODY


def test_installed_curl_has_gzip() -> None:
    """The curl used here decodes gzip at least, so the server tests above always run."""
    assert "gzip" in _CODINGS


def _read_chunked_until(sock: socket.socket, wanted: bytes, deadline: float) -> bytes:
    """Read a chunked gzip response from ``sock`` until the decoded text contains ``wanted``."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        buffer += sock.recv(65536)
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    assert b"content-encoding: gzip" in head.lower()
    assert b"transfer-encoding: chunked" in head.lower()
    decoder = zlib.decompressobj(31)
    decoded = b""
    while wanted not in decoded:
        assert time.monotonic() < deadline, f"only {decoded!r} arrived in time"
        while b"\r\n" not in buffer:
            buffer += sock.recv(65536)
        size_line, _, buffer = buffer.partition(b"\r\n")
        size = int(size_line, 16)
        while len(buffer) < size + 2:
            buffer += sock.recv(65536)
        decoded += decoder.decompress(buffer[:size])
        buffer = buffer[size + 2 :]
    return decoded


@pytest.mark.server
def test_sse_first_event_arrives_before_the_app_finishes(live_server: ServeApp) -> None:
    """A raw-socket client decodes the first SSE event while the app is still sleeping."""
    server = live_server(compressed_app)
    pause = 1.0
    request = (
        f"GET /sse?pause={pause} HTTP/1.1\r\nHost: {server.host}\r\n"
        "Accept-Encoding: gzip\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as sock:
        started = time.monotonic()
        sock.sendall(request)
        decoded = _read_chunked_until(sock, sse_event(0), started + pause * 0.8)
        elapsed = time.monotonic() - started
    assert decoded == sse_event(0)
    assert elapsed < pause * 0.8


@pytest.mark.server
def test_256_mib_stream_keeps_memory_flat() -> None:
    """256 MiB streamed through the middleware raise the server's peak RSS by under 16 MiB."""
    with serve_process("tests.support.compression_apps:app") as server:
        assert server.pid is not None
        with server.client(timeout=TIMEOUT) as client:
            # Warm up: imports, the first compressor, uvicorn's buffers.
            client.get("/stream", params={"mib": 2}, headers={"accept-encoding": "gzip"})
            reset_peak_rss(server.pid)
            baseline = peak_rss_kib(server.pid)
            decoder = zlib.decompressobj(31)
            size = 0
            headers = {"accept-encoding": "gzip"}
            with client.stream("GET", "/stream", params={"mib": 256}, headers=headers) as response:
                assert response.headers["content-encoding"] == "gzip"
                for raw in response.iter_raw():
                    size += len(decoder.decompress(raw))
            growth = peak_rss_kib(server.pid) - baseline
    assert decoder.eof
    assert size == 256 * 1024 * 1024
    assert growth < 16 * 1024, f"peak RSS grew by {growth} KiB"
