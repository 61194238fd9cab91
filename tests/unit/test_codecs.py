"""The compressor objects: round trips, sync flushes and the optional imports."""

from __future__ import annotations

import gzip
import importlib
import sys
import types
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import brotli  # type: ignore[import-untyped]
import pytest
import zstandard

from asgi_middleware.compression import _codecs

_CHUNKS = [b'{"n": %d, "text": "' % i + b"compressible " * 40 + b'"}\n' for i in range(5)]


def _gunzip_stream() -> Callable[[bytes], bytes]:
    return zlib.decompressobj(31).decompress


def _unbrotli_stream() -> Callable[[bytes], bytes]:
    decompressor: Callable[[bytes], bytes] = brotli.Decompressor().process
    return decompressor


def _unzstd_stream() -> Callable[[bytes], bytes]:
    return zstandard.ZstdDecompressor().decompressobj().decompress


CODECS = [
    pytest.param(lambda: _codecs.gzip_codec(6), _gunzip_stream, id="gzip"),
    pytest.param(lambda: _codecs.brotli_codec(4), _unbrotli_stream, id="br"),
    pytest.param(lambda: _codecs.zstd_codec(3), _unzstd_stream, id="zstd"),
]


@pytest.mark.parametrize(("make", "decoder"), CODECS)
def test_every_flush_is_decodable_on_arrival(make: Any, decoder: Any) -> None:
    """After each sync flush the receiver decodes exactly the chunks given so far."""
    compressor = make().new()
    decode = decoder()
    for index, chunk in enumerate(_CHUNKS):
        output = compressor.compress(chunk) + compressor.flush()
        assert decode(output) == chunk, f"chunk {index} not decodable on arrival"
    assert decode(compressor.finish()) == b""


@pytest.mark.parametrize(("make", "decoder"), CODECS)
def test_one_shot_round_trip(make: Any, decoder: Any) -> None:
    """Compress + finish gives a complete stream that decodes to the input, and smaller."""
    body = b"".join(_CHUNKS)
    compressor = make().new()
    output = compressor.compress(body) + compressor.finish()
    assert decoder()(output) == body
    assert len(output) < len(body) // 4


def _compress_310(data: bytes, level: int = -1) -> bytes:
    """``zlib.compress`` as Python 3.10 has it: no ``wbits``."""
    return zlib.compress(data, level)


def _compress_311(data: bytes, level: int = -1, wbits: int = 15) -> bytes:
    """``zlib.compress`` as Python 3.11+ has it, with ``wbits``."""
    stream = zlib.compressobj(level, zlib.DEFLATED, wbits)
    return stream.compress(data) + stream.flush()


@pytest.mark.parametrize("compress", [_compress_310, _compress_311], ids=["3.10", "3.11+"])
def test_gzip_one_shot_matches_a_stream_on_every_python(
    monkeypatch: pytest.MonkeyPatch, compress: Callable[..., bytes]
) -> None:
    """Whether or not ``zlib.compress`` takes ``wbits``, the one-shot body is the same gzip."""
    monkeypatch.setattr(_codecs, "_compress", compress)
    body = b"".join(_CHUNKS)
    stream = zlib.compressobj(6, zlib.DEFLATED, 31)
    assert _codecs.gzip_codec(6).oneshot(body) == stream.compress(body) + stream.flush()


def test_gzip_codec_token_and_format() -> None:
    """The gzip codec is named ``gzip`` and writes RFC 1952 data the gzip module reads."""
    codec = _codecs.gzip_codec(9)
    compressor = codec.new()
    assert codec.token == b"gzip"
    assert gzip.decompress(compressor.compress(b"abc" * 100) + compressor.finish()) == b"abc" * 100


def test_available_lists_importable_codings_in_preference_order() -> None:
    """With brotli and zstandard installed every coding is available, zstd first."""
    assert _codecs.available() == ("zstd", "br", "gzip")


class _FakeStdlibZstd:
    """A stand-in for Python 3.14's ``compression.zstd.ZstdCompressor``, built on zstandard.

    Like the real one it starts a new frame after ``FLUSH_FRAME``, so it can be reused.
    """

    CONTINUE = 0
    FLUSH_BLOCK = 1
    FLUSH_FRAME = 2
    made: int = 0

    def __init__(self, level: int) -> None:
        self._level = level
        self._inner = zstandard.ZstdCompressor(level=level).compressobj()
        type(self).made += 1

    def compress(self, data: bytes, mode: int = CONTINUE) -> bytes:
        output = self._inner.compress(data)
        return output if mode == self.CONTINUE else output + self.flush(mode)

    def flush(self, mode: int = FLUSH_FRAME) -> bytes:
        if mode == self.FLUSH_BLOCK:
            return self._inner.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        output = self._inner.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)
        self._inner = zstandard.ZstdCompressor(level=self._level).compressobj()
        return output


@pytest.fixture
def reload_codecs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Re-import ``_codecs`` with some modules replaced; the real state is restored afterwards."""

    def reload(**modules: object) -> None:
        for name, module in modules.items():
            monkeypatch.setitem(sys.modules, name.replace("__", "."), module)
        importlib.reload(_codecs)

    yield reload
    monkeypatch.undo()
    importlib.reload(_codecs)


def test_stdlib_zstd_is_preferred(reload_codecs: Callable[..., None]) -> None:
    """Where ``compression.zstd`` exists it is used and the zstandard binding is not imported."""
    _FakeStdlibZstd.made = 0
    fake = types.ModuleType("compression.zstd")
    fake.ZstdCompressor = _FakeStdlibZstd  # type: ignore[attr-defined]
    reload_codecs(compression__zstd=fake)
    assert _codecs._ZSTANDARD is None
    codec = _codecs.zstd_codec(3)
    compressor = codec.new()
    assert _FakeStdlibZstd.made == 1
    decode = _unzstd_stream()
    assert decode(compressor.compress(b"hello " * 50) + compressor.flush()) == b"hello " * 50
    assert decode(compressor.finish()) == b""
    for text in (b"first " * 50, b"second " * 50):
        assert _unzstd_stream()(codec.oneshot(text)) == text
    assert _FakeStdlibZstd.made == 2, "the one-shot context is made once and reused"


def test_zstandard_is_the_fallback(reload_codecs: Callable[..., None]) -> None:
    """Without ``compression.zstd`` (Python < 3.14) the zstandard binding produces zstd."""
    reload_codecs(compression__zstd=None)
    assert _codecs._ZSTANDARD is zstandard
    codec = _codecs.zstd_codec(3)
    assert codec.oneshot(b"abc" * 100)[:4] == b"\x28\xb5\x2f\xfd"  # zstd frame magic
    assert zstandard.ZstdDecompressor().decompress(codec.oneshot(b"abc" * 100)) == b"abc" * 100


@pytest.mark.parametrize(
    ("missing", "coding", "make", "extra"),
    [
        ({"brotli": None}, "br", lambda: _codecs.brotli_codec(4), "brotli"),
        (
            {"compression__zstd": None, "zstandard": None},
            "zstd",
            lambda: _codecs.zstd_codec(3),
            "zstd",
        ),
    ],
)
def test_missing_module_removes_the_coding(
    reload_codecs: Callable[..., None],
    missing: dict[str, None],
    coding: str,
    make: Callable[[], object],
    extra: str,
) -> None:
    """A coding whose module is missing is not available, and asking for it names the extra."""
    reload_codecs(**missing)
    assert coding not in _codecs.available()
    assert "gzip" in _codecs.available()
    with pytest.raises(ValueError, match=rf'pip install "asgi-middleware\[{extra}\]"'):
        make()
