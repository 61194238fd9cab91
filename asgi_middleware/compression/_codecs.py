"""Compressor objects for gzip, br and zstd behind one small interface.

Every compressor answers ``compress(data)`` (may buffer), ``flush()`` (a sync flush: everything
given so far becomes decodable, the stream goes on) and ``finish()`` (ends the stream). A
:class:`Codec` is built once per middleware with its level; it makes one compressor per streamed
response and compresses one-shot bodies directly.

br needs the ``brotli`` package (extra ``brotli``). zstd uses the standard library's
``compression.zstd`` where it exists (Python 3.14+) and else the ``zstandard`` package (extra
``zstd``). The imports are optional: a missing module only removes that coding.
"""

from __future__ import annotations

import importlib
import threading
import zlib
from collections.abc import Callable
from functools import partial
from types import ModuleType
from typing import Any

__all__ = ["Codec", "Compressor", "available", "brotli_codec", "gzip_codec", "zstd_codec"]


def _optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


_BROTLI = _optional("brotli")
_ZSTD_STDLIB = _optional("compression.zstd")
# The binding only where the standard library has no zstd (the extra is not installed on 3.14+).
_ZSTANDARD = _optional("zstandard") if _ZSTD_STDLIB is None else None

_EXTRAS = {"br": "brotli", "zstd": "zstd"}


class Compressor:
    """One response's compression stream: three callables, most of them the library's own.

    Attributes:
        compress: Feed bytes; returns whatever output is ready (possibly nothing).
        flush: Sync flush: returns output making everything fed so far decodable.
        finish: Ends the stream and returns the rest of the output.
    """

    __slots__ = ("compress", "finish", "flush")

    def __init__(
        self,
        compress: Callable[[bytes], bytes],
        flush: Callable[[], bytes],
        finish: Callable[[], bytes],
    ) -> None:
        # Bound methods of the compression library, so a streamed chunk costs no Python frame.
        self.compress = compress
        self.flush = flush
        self.finish = finish


def _gzip(level: int) -> Compressor:
    # wbits 31: a gzip header and trailer around raw deflate (RFC 1952), default memLevel.
    stream = zlib.compressobj(level, zlib.DEFLATED, 31)
    return Compressor(
        stream.compress,
        partial(stream.flush, zlib.Z_SYNC_FLUSH),
        partial(stream.flush, zlib.Z_FINISH),
    )


def _gzip_oneshot(level: int, data: bytes) -> bytes:
    """One-shot gzip before Python 3.11, whose ``zlib.compress`` cannot write a gzip header."""
    stream = zlib.compressobj(level, zlib.DEFLATED, 31)
    return stream.compress(data) + stream.flush()


# Any: zlib.compress takes wbits from Python 3.11, and mypy checks against 3.10's signature.
_compress: Any = zlib.compress


def _gzip_oneshot_for(level: int) -> Callable[[bytes], bytes]:
    """The fastest one-shot gzip this Python has: one C call where zlib.compress takes wbits."""
    try:
        _compress(b"", level, 31)
    except TypeError:  # Python 3.10
        return partial(_gzip_oneshot, level)
    return partial(_compress, level=level, wbits=31)


def _brotli(quality: int) -> Compressor:
    stream = _module("br").Compressor(quality=quality)
    return Compressor(stream.process, stream.flush, stream.finish)


def _zstd(level: int) -> Compressor:
    if _ZSTD_STDLIB is not None:
        # compression.zstd (Python 3.14+).
        stream = _ZSTD_STDLIB.ZstdCompressor(level=level)
        return Compressor(
            stream.compress,
            partial(stream.flush, stream.FLUSH_BLOCK),
            partial(stream.flush, stream.FLUSH_FRAME),
        )
    # The zstandard binding (the zstd extra, before Python 3.14).
    module = _module("zstd")
    stream = module.ZstdCompressor(level=level).compressobj()
    return Compressor(
        stream.compress, partial(stream.flush, module.COMPRESSOBJ_FLUSH_BLOCK), stream.flush
    )


def _module(coding: str) -> Any:
    if coding == "br":
        return _BROTLI
    return _ZSTD_STDLIB if _ZSTD_STDLIB is not None else _ZSTANDARD


def available() -> tuple[str, ...]:
    """Return the codings this interpreter can produce, in the default preference order."""
    return tuple(coding for coding in ("zstd", "br", "gzip") if coding == "gzip" or _module(coding))


class Codec:
    """A content coding at a fixed level: its token, a factory of streams and a one-shot form.

    Args:
        token: The content-coding token, lower case (``b"gzip"``).
        new: Makes one :class:`Compressor` for one streamed response.
        oneshot: Compresses a whole body into a complete coded body; safe to call from any
            thread.
    """

    __slots__ = ("new", "oneshot", "token")

    def __init__(
        self,
        token: bytes,
        new: Callable[[], Compressor],
        oneshot: Callable[[bytes], bytes],
    ) -> None:
        self.token = token
        self.new = new
        self.oneshot = oneshot


def _require(coding: str) -> None:
    if _module(coding) is None:
        extra = _EXTRAS[coding]
        msg = (
            f"encodings includes {coding!r} but its module is not installed; "
            f'install it with: pip install "asgi-middleware[{extra}]"'
        )
        raise ValueError(msg)


def gzip_codec(level: int) -> Codec:
    """Return the gzip codec at ``level`` (1-9)."""
    return Codec(b"gzip", partial(_gzip, level), _gzip_oneshot_for(level))


def brotli_codec(quality: int) -> Codec:
    """Return the br codec at ``quality`` (0-11); ``ValueError`` if brotli is missing."""
    _require("br")
    return Codec(b"br", partial(_brotli, quality), partial(_module("br").compress, quality=quality))


def zstd_codec(level: int) -> Codec:
    """Return the zstd codec at ``level``; ``ValueError`` if no zstd module is importable."""
    _require("zstd")
    contexts = threading.local()
    module = _module("zstd")
    stdlib = module is _ZSTD_STDLIB

    def oneshot(data: bytes) -> bytes:
        # A compression context per thread, reused: building one costs more than compressing
        # a small body, and a context must never be used by two threads at once.
        try:
            context = contexts.context
        except AttributeError:
            context = contexts.context = module.ZstdCompressor(level=level)
        result: bytes = (
            context.compress(data, context.FLUSH_FRAME) if stdlib else context.compress(data)
        )
        return result

    return Codec(b"zstd", partial(_zstd, level), oneshot)
