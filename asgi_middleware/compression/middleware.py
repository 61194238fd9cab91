"""Response compression: zstd, br and gzip, negotiated per RFC 9110 §12.5.3 (SPEC §4)."""

from __future__ import annotations

import re
import sys
from collections.abc import Awaitable, Sequence
from typing import Any, Final

from asgi_middleware._kit.config import require_bool, require_int, require_strings
from asgi_middleware._kit.headers import (
    REPEATED,
    HeaderNames,
    get_all,
    get_first,
    get_single,
    merge_tokens,
    replace_values,
    with_headers,
)
from asgi_middleware._kit.order import check_position
from asgi_middleware._kit.threads import run_sync
from asgi_middleware._kit.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    Message,
    Receive,
    Scope,
    Send,
)
from asgi_middleware.compression._accept_encoding import negotiate
from asgi_middleware.compression._codecs import (
    Codec,
    Compressor,
    available,
    brotli_codec,
    gzip_codec,
    zstd_codec,
)

__all__ = ["DEFAULT_EXCLUDED_CONTENT_TYPES", "CompressionMiddleware", "GZipMiddleware"]

DEFAULT_EXCLUDED_CONTENT_TYPES: tuple[str, ...] = (
    # Already compressed: compressing again costs CPU and saves nothing (or grows the body).
    "image/*",  # except structured-syntax suffixes such as image/svg+xml, which are text
    "audio/*",
    "video/*",
    "font/woff",
    "font/woff2",
    "application/font-woff",
    "application/zip",
    "application/gzip",
    "application/x-gzip",
    "application/zstd",
    "application/x-bzip2",
    "application/x-xz",
    "application/x-7z-compressed",
    "application/vnd.rar",
    "application/x-rar-compressed",
    # gRPC frames carry their own compression flag; an HTTP coding would break the framing.
    "application/grpc",
    "application/grpc+proto",
    "application/grpc-web",
    "application/grpc-web+proto",
    "application/grpc-web-text",
)
"""The media types never compressed by default. ``type/*`` excludes a whole top-level type,
except subtypes with a ``+xml`` or ``+json`` suffix (RFC 6838 §4.2.8), which are text."""

_HANDLED = frozenset({"http"})
_CODINGS = ("zstd", "br", "gzip")
_EVENT_STREAM = b"text/event-stream"
# RFC 9110 §8.3: a recipient may take a response without Content-Type as this type; so does the
# exclusion list, and excluding it also leaves untyped bodies (of unknown content) alone.
_UNTYPED = b"application/octet-stream"
_TEXT_SUFFIXES = (b"+xml", b"+json")
# RFC 9110 §15: no content (1xx, 204, 205, 304) or a partial one (206) is never recoded.
_SKIP_STATUS = frozenset({204, 205, 206, 304})
_FIRST_FULL_STATUS = 200
# What the decision reads; several Cache-Control fields are one list (RFC 9110 §5.3).
_SCANNED = HeaderNames(
    b"content-type",
    b"content-length",
    b"cache-control",
    b"content-encoding",
    b"content-range",
    lists=(b"cache-control",),
)
# What a coded response's start changes: the coding and its length are ours, Vary is merged
# into, and Accept-Ranges goes, since ranges of the coded bytes are not served.
_CODED = HeaderNames(
    b"content-encoding", b"content-length", b"accept-ranges", b"vary", lists=(b"vary",)
)
_ETAG = HeaderNames(b"etag")
_VARY = (b"Accept-Encoding",)
_VARY_HEADER = (b"vary", b"Accept-Encoding")
_PATH_SENDS = frozenset({"http.response.pathsend", "http.response.zerocopysend"})
_ZEROCOPY = "http.response.zerocopysend"
_BODY: Final = "http.response.body"
_START = "http.response.start"
# Responder states.
_WAIT, _HELD, _STREAM, _HEAD, _PASS = range(5)
_AE = b"accept-encoding"
_CACHE_SIZE = 256
_UNKNOWN: Any = object()  # a memo miss (None is a valid memoised answer: identity)
# RFC 6838 §4.2: type "/" subtype, both tokens; "*" as the whole subtype means any.
_MEDIA_TYPE = re.compile(r"[!#$%&'+\-.^_`|~0-9a-z]+/(?:\*|[!#$%&'+\-.^_`|~0-9a-z]+)")
_CACHE_VALUE_SIZE = 256


def _media_types(option: str, value: object) -> tuple[tuple[bytes, ...], frozenset[bytes]]:
    exact: list[bytes] = []
    major: set[bytes] = set()
    for index, item in enumerate(require_strings(option, value)):
        media_type = item.strip().lower()
        if _MEDIA_TYPE.fullmatch(media_type) is None:
            rule = "a media type like 'image/png' or 'image/*'"
            msg = f"{option}[{index}] must be {rule}, got {item!r}"
            raise ValueError(msg)
        kind, _, sub = media_type.partition("/")
        if sub == "*":
            major.add(kind.encode("ascii"))
        else:
            exact.append(f"{kind}/{sub}".encode("ascii"))
    return tuple(exact), frozenset(major)


class _Settings:
    """What a response's decisions need, precomputed once per middleware."""

    __slots__ = ("event_streams", "exclude_exact", "exclude_major", "flush", "minimum", "offload")

    def __init__(
        self,
        minimum: int,
        exclude_exact: tuple[bytes, ...],
        exclude_major: frozenset[bytes],
        *,
        event_streams: bool,
        flush: bool,
        offload: int | None,
    ) -> None:
        self.minimum = minimum
        self.exclude_exact = frozenset(exclude_exact)
        self.exclude_major = exclude_major
        self.event_streams = event_streams
        self.flush = flush
        # An int either way, so the per-chunk test is one comparison.
        self.offload = sys.maxsize if offload is None else offload

    def skips(self, media_type: bytes) -> bool:
        """Whether a media type is never compressed (excluded, or an event stream not opted in)."""
        if media_type == _EVENT_STREAM:
            return not self.event_streams
        if media_type in self.exclude_exact:
            return True
        major, _, minor = media_type.partition(b"/")
        return major in self.exclude_major and not minor.endswith(_TEXT_SUFFIXES)


class CompressionMiddleware:
    """Compress HTTP responses with zstd, br or gzip, whichever the client prefers.

    ``http`` responses are compressed when the client accepts a coding we produce and the
    response is eligible (SPEC §4): no ``Content-Encoding`` yet, a status with a full body (not
    1xx, 204, 205, 206 or 304), no ``Content-Range``, no ``Cache-Control: no-transform``, a media
    type not excluded, ``text/event-stream`` only when opted in, and at least ``minimum_size``
    bytes when the size is known. Streams are compressed chunk by chunk, each flushed so it can be
    decoded on arrival; only the first body message is held, to see whether it is the whole body.
    ``websocket``, ``lifespan`` and any other scope type pass through untouched.

    When compressing: ``Content-Encoding`` is set, ``Vary: Accept-Encoding`` merged,
    ``Content-Length`` recomputed (one-shot body) or removed (stream), a strong ``ETag``
    weakened and ``Accept-Ranges`` removed. An eligible response sent as identity still gets
    ``Vary: Accept-Encoding``. HEAD gets the headers GET would. ``http.response.pathsend`` and
    ``zerocopysend`` pass through uncompressed, and ``zerocopysend`` is removed from a copy of
    ``scope["extensions"]`` whenever the response may be compressed.

    Security: compressing a response that reflects attacker-chosen input next to a secret (a
    CSRF token, a session value) over TLS enables BREACH. Leave such responses uncompressed
    (``Cache-Control: no-transform`` from the handler does it) or mask the secret per response.

    Args:
        app: The ASGI application to wrap.
        minimum_size: Bodies shorter than this many bytes (when their size is known) are sent
            uncompressed.
        encodings: Codings to offer, most preferred first, from ``"zstd"``, ``"br"`` and
            ``"gzip"``. ``None`` means all of them whose module is importable. Naming one whose
            module is missing raises ``ValueError`` naming the extra to install.
        gzip_level: zlib level for gzip, 1-9.
        brotli_quality: brotli quality, 0-11.
        zstd_level: zstd level, 1-22.
        exclude_content_types: Media types (``type/subtype`` or ``type/*``) never compressed.
            A response without ``Content-Type`` counts as ``application/octet-stream``, which
            is compressed unless listed here.
        compress_event_streams: Also compress ``text/event-stream`` (always flushed per event).
        flush_chunks: Sync-flush after every streamed chunk so it is decodable on arrival. Turn
            off for bulk downloads: output is then produced as the compressor sees fit.
        offload_threshold: Chunks of at least this many bytes are compressed in a worker thread,
            so the event loop is not blocked; ``None`` keeps all work on the loop.

    Example:
        ``app = CompressionMiddleware(app, minimum_size=1024, encodings=("br", "gzip"))``

    Added in version 0.1.0.
    """

    __slots__ = ("_cache", "_codecs", "_settings", "_tokens", "app")

    _compose_role = "compression"

    def __init__(
        self,
        app: ASGIApp,
        *,
        minimum_size: int = 500,
        encodings: Sequence[str] | None = None,
        gzip_level: int = 6,
        brotli_quality: int = 4,
        zstd_level: int = 3,
        exclude_content_types: Sequence[str] = DEFAULT_EXCLUDED_CONTENT_TYPES,
        compress_event_streams: bool = False,
        flush_chunks: bool = True,
        offload_threshold: int | None = 256 * 1024,
    ) -> None:
        self.app = app
        check_position(self, app)
        minimum_size = require_int("minimum_size", minimum_size, minimum=0)
        names = available() if encodings is None else require_strings("encodings", encodings)
        if not names or len(set(names)) != len(names) or not set(names) <= set(_CODINGS):
            msg = f"encodings must be distinct names from {_CODINGS!r}, got {encodings!r}"
            raise ValueError(msg)
        # Every level is checked, offered or not: a typo should not wait for a config change.
        levels = {
            "gzip": require_int("gzip_level", gzip_level, minimum=1, maximum=9),
            "br": require_int("brotli_quality", brotli_quality, minimum=0, maximum=11),
            "zstd": require_int("zstd_level", zstd_level, minimum=1, maximum=22),
        }
        makers = {"gzip": gzip_codec, "br": brotli_codec, "zstd": zstd_codec}
        codecs = [makers[name](levels[name]) for name in names]
        self._codecs: dict[bytes, Codec] = {codec.token: codec for codec in codecs}
        self._tokens = tuple(codec.token for codec in codecs)
        # The one fast path (benchmark row gzip-small): a memo of negotiate(), a pure function
        # of the header value and the options above.
        self._cache: dict[bytes, Codec | None] = {}
        if offload_threshold is not None:
            require_int("offload_threshold", offload_threshold, minimum=1)
        self._settings = _Settings(
            minimum_size,
            *_media_types("exclude_content_types", exclude_content_types),
            event_streams=require_bool("compress_event_streams", compress_event_streams),
            flush=require_bool("flush_chunks", flush_chunks),
            offload=offload_threshold,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection: negotiate for ``http``, pass anything else through."""
        if scope["type"] not in _HANDLED:
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", ())
        accept = get_single(headers, _AE)
        if accept is None:
            codec = None  # no Accept-Encoding: identity (see negotiate)
        elif accept is REPEATED:
            # Several fields are one list (RFC 9110 §5.3): read them all, and do not memoise.
            codec = self._negotiate(get_all(headers, _AE))
        else:
            codec = self._cache.get(accept, _UNKNOWN)
            if codec is _UNKNOWN:
                codec = self._negotiate([accept])
        if codec is not None and _ZEROCOPY in scope.get("extensions", ()):
            # The app must not bypass us with a file descriptor we cannot compress (SPEC §4).
            extensions = {k: v for k, v in scope["extensions"].items() if k != _ZEROCOPY}
            scope = {**scope, "extensions": extensions}
        responder = _CompressionResponder(self._settings, codec, send, scope)
        await self.app(scope, receive, responder.send_wrapper)

    def _negotiate(self, values: list[bytes]) -> Codec | None:
        """The codec for these ``Accept-Encoding`` values (not memoised yet), or ``None``."""
        token = negotiate(values, self._tokens)
        codec = None if token is None else self._codecs[token]
        cache = self._cache
        # One field is the norm and clients send a handful of distinct values; the bounds keep
        # junk from growing the memo.
        if len(values) == 1 and len(cache) < _CACHE_SIZE and len(values[0]) <= _CACHE_VALUE_SIZE:
            cache[values[0]] = codec
        return codec


class GZipMiddleware(CompressionMiddleware):
    """Gzip-only compression with Starlette's option names: switching is a changed import.

    Behaves as :class:`CompressionMiddleware` with ``encodings=("gzip",)``.

    Args:
        app: The ASGI application to wrap.
        minimum_size: Bodies shorter than this many bytes (size known) are sent uncompressed.
        compresslevel: zlib level, 1-9.
        exclude_content_types: As for :class:`CompressionMiddleware`.
        compress_event_streams: As for :class:`CompressionMiddleware`.
        flush_chunks: As for :class:`CompressionMiddleware`.
        thread_minimum_size: Chunks of at least this many bytes are compressed in a worker
            thread (``offload_threshold`` of :class:`CompressionMiddleware`); ``None`` never.

    Options are keyword-only (Starlette also accepts ``minimum_size`` and ``compresslevel``
    positionally), and ``compresslevel`` defaults to 6 where Starlette's defaults to 9: level 9
    costs half again as much CPU for about 3 % smaller bodies.

    Example:
        ``app = GZipMiddleware(app, minimum_size=1000, compresslevel=6)``

    Added in version 0.1.0.
    """

    __slots__ = ()

    def __init__(
        self,
        app: ASGIApp,
        *,
        minimum_size: int = 500,
        compresslevel: int = 6,
        exclude_content_types: Sequence[str] = DEFAULT_EXCLUDED_CONTENT_TYPES,
        compress_event_streams: bool = False,
        flush_chunks: bool = True,
        thread_minimum_size: int | None = 256 * 1024,
    ) -> None:
        level = require_int("compresslevel", compresslevel, minimum=1, maximum=9)
        if thread_minimum_size is not None:
            require_int("thread_minimum_size", thread_minimum_size, minimum=1)
        super().__init__(
            app,
            minimum_size=minimum_size,
            encodings=("gzip",),
            gzip_level=level,
            exclude_content_types=exclude_content_types,
            compress_event_streams=compress_event_streams,
            flush_chunks=flush_chunks,
            offload_threshold=thread_minimum_size,
        )


class _CompressionResponder:
    """One response's state machine: decide on the start message, then transform the body."""

    __slots__ = (
        "codec", "coding", "compressor", "flush", "length", "scope", "server", "settings", "start",
        "state",
    )  # fmt: skip

    def __init__(self, settings: _Settings, codec: Codec | None, send: Send, scope: Scope) -> None:
        # Only what every response needs; the rest is set once a decision needs it.
        self.settings = settings
        self.codec = codec
        self.server = send
        self.scope = scope
        self.state = _WAIT

    def send_wrapper(self, message: Message) -> Awaitable[None]:
        """The ``send`` the app sees: decide on the start, then pass, stream or buffer.

        A plain function returning the awaitable of what goes out: a response that is not
        coded (benchmark row stack-100b, gzip-small) costs no coroutine per message; only
        coding a chunk and the held start's first body are coroutines.
        """
        state = self.state
        if state == _PASS:
            return self.server(message)
        kind = message["type"]
        if state == _STREAM:
            return self._chunk(message) if kind == _BODY else self.server(message)
        if kind == _START:
            start = self._decide(message)
            return _held() if start is None else self.server(start)
        if state == _HELD:
            return self._first(message)
        if state == _HEAD and kind == _BODY and message.get("body"):
            return self.server({**message, "body": b""})
        # Before the start (early hints, debug) or a HEAD's other messages.
        return self.server(message)

    async def _chunk(self, message: Message) -> None:
        """Code one body message of a coded stream and send what the coder gave."""
        data = message.get("body", b"")
        more = message.get("more_body", False)
        if more and not data:
            return  # nothing to code; an empty flush would only add bytes
        compressor = self.compressor
        if len(data) >= self.settings.offload:
            output = await run_sync(_code, compressor, data, more, self.flush)
        else:
            output = _code(compressor, data, more, self.flush)
        if not more:
            self.state = _PASS
            final: HTTPResponseBodyEvent = {"type": _BODY, "body": output}
            await self.server(final)
        elif output:
            chunk: HTTPResponseBodyEvent = {"type": _BODY, "body": output, "more_body": True}
            await self.server(chunk)

    def _decide(self, message: Message) -> Message | None:
        """Return the start message to send now, or ``None`` to hold it for the first body."""
        settings = self.settings
        headers = message.get("headers", ())
        content_type, declared, cache_control, encoding, content_range = _SCANNED.scan(headers)
        length = int(declared) if declared is not None and declared.isdigit() else None
        status = message["status"]
        self.state = _PASS
        if (
            encoding is not None  # already coded
            or content_range is not None  # only a part
            or status < _FIRST_FULL_STATUS
            or status in _SKIP_STATUS
            or (length is not None and length < settings.minimum)
            # A substring test: "no-transform" is a bare directive, never part of another one.
            or (cache_control is not None and b"no-transform" in cache_control.lower())
        ):
            return message
        media_type = _media_type(content_type)
        if settings.skips(media_type):
            return message
        codec = self.codec
        if codec is None:
            # Eligible but sent as identity: the choice depended on Accept-Encoding (SPEC §4).
            return {**message, "headers": merge_tokens(headers, b"vary", _VARY)}
        if self.scope.get("method") == "HEAD":
            self.state = _HEAD
            return _coded(message, codec.token, None)
        self.coding = codec
        self.flush = settings.flush or media_type == _EVENT_STREAM
        self.state = _HELD
        self.start = message
        self.length = length
        return None

    async def _first(self, message: Message) -> None:
        """The first message after a held start decides between one-shot, stream and bypass."""
        codec = self.coding
        kind = message["type"]
        self.state = _PASS
        if kind == _BODY and not message.get("more_body", False):
            data = message.get("body", b"")
            if self.length is None and len(data) < self.settings.minimum:
                await self.server(self.start)
                await self.server(message)
                return
            if len(data) >= self.settings.offload:
                output = await run_sync(codec.oneshot, data)
            else:
                output = codec.oneshot(data)
            await self.server(_coded(self.start, codec.token, len(output)))
            body: HTTPResponseBodyEvent = {"type": _BODY, "body": output}
            await self.server(body)
            return
        if kind in _PATH_SENDS:
            # A file the server sends itself: uncompressed, with the app's own headers.
            await self.server(self.start)
            await self.server(message)
            return
        # A streamed body, or a message we do not know: commit to a coded stream, in order.
        self.state = _STREAM
        self.compressor = codec.new()
        await self.server(_coded(self.start, codec.token, None))
        await self.send_wrapper(message)


async def _held() -> None:
    """What the app awaits for a start message held until the first body decides."""


def _code(compressor: Compressor, data: bytes, more: bool, flush: bool) -> bytes:  # noqa: FBT001
    """Code one streamed chunk; positional arguments, as ``run_sync`` passes them."""
    output = compressor.compress(data)
    if not more:
        return output + compressor.finish()
    return output + compressor.flush() if flush else output


def _media_type(content_type: bytes | None) -> bytes:
    """``type/subtype`` of a Content-Type value, lower case, without parameters.

    A missing or empty one is ``application/octet-stream`` (RFC 9110 §8.3).
    """
    if content_type is None:
        return _UNTYPED
    return content_type.partition(b";")[0].strip(b" \t").lower() or _UNTYPED


def _weak(etag: bytes) -> bytes:
    # RFC 9110 §8.8.3: the coded bytes differ, so the validator can only be weak.
    return etag if etag.startswith(b"W/") else b"W/" + etag


def _coded(start: Message, token: bytes, length: int | None) -> Message:
    """A new start message announcing ``token``, with the headers that depend on a coding."""
    fields = [_VARY_HEADER, (b"content-encoding", token)]
    if length is not None:
        fields.append((b"content-length", b"%d" % length))
    headers = start.get("headers", ())
    if get_first(headers, _ETAG) is not None:  # a look is cheaper than a copy of every header
        headers = replace_values(headers, b"etag", _weak)
    return {**start, "headers": with_headers(headers, fields, _CODED)}
