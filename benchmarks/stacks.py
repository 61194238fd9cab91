"""The three six-layer stacks the ``stack-*`` scenarios and the end-to-end run compare.

Every stack wraps the app in six layers, outermost first: CORS, request ID, access log, timing,
authentication, compression (the order of docs/composition.md).

* ``asgi-middleware``: our six middleware, built by ``compose`` with the options the per-area
  scenarios use.
* ``peers``: the peer each per-area scenario compares with, configured as there: Starlette's
  ``CORSMiddleware``, asgi-correlation-id, asgi-logger, timing-asgi, Starlette's
  ``AuthenticationMiddleware`` with the dict-lookup bearer backend, starlette-compress.
* ``floor``: `benchmarks.floor`, the six jobs as minimal hand-written classes that send the same
  response headers and write the same access-log event.
* ``floor+rules``: `benchmarks.floor_rules`, the floor's classes with the SPEC's per-request rules
  written in by hand: what following them costs, without options or a shared kit.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from asgi_logger.middleware import AccessLoggerMiddleware
from timing_asgi import (  # type: ignore[import-untyped]  # timing-asgi ships no py.typed
    TimingMiddleware as TimingASGIMiddleware,
)

from asgi_middleware import (
    AccessLogMiddleware,
    AuthenticationMiddleware,
    BearerTokenBackend,
    CompressionMiddleware,
    CORSMiddleware,
    Layer,
    LayerLike,
    RequestIDMiddleware,
    TimingMiddleware,
    compose,
)
from benchmarks.bench_access_log import Sink, stdlib_logger, structlog_logger
from benchmarks.bench_auth import TOKEN, USER, starlette_bearer
from benchmarks.bench_compression import (
    BROTLI_QUALITY,
    GZIP_LEVEL,
    MINIMUM_SIZE,
    ZSTD_LEVEL,
    starlette_compress_all,
)
from benchmarks.bench_cors import CORS_POLICY, starlette_cors
from benchmarks.bench_request_id import HEADER, correlation_id
from benchmarks.bench_timing import NoOpClient
from benchmarks.common import JSON_16K, JSON_100, ORIGIN
from benchmarks.floor import (
    METHOD_VAR,
    PATH_VAR,
    REQUEST_ID_VAR,
    FloorAccessLog,
    FloorAuth,
    FloorCORS,
    FloorGZip,
    FloorRequestID,
    FloorTiming,
)
from benchmarks.floor_rules import RULES, rules_layers
from benchmarks.model import ASGIApp, Scope

LAYERS = ("cors", "request_id", "access_log", "timing", "auth", "compression")
"""The six jobs, outermost first; ``without=`` in the builders below names them."""

SMALL_PATH = "/api/items"
LARGE_PATH = "/api/users"
REQUEST_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"origin", ORIGIN.encode("ascii")),
    (b"authorization", f"Bearer {TOKEN}".encode("ascii")),
    (b"accept-encoding", b"gzip"),
)
STACKS = ("bare", "floor", "floor+rules", "peers", "asgi-middleware")
"""Row names, in display order; ``bare`` is the app alone."""
PEERS_NOTE = (
    "Starlette CORS + auth, asgi-correlation-id, asgi-logger, timing-asgi, starlette-compress"
)


class StackApp:
    """The app every row wraps: a fixed JSON answer naming the authenticated user in ``x-user``.

    It reads the request to its end, and keeps in ``context`` the structlog context variables
    ``method``, ``path`` and ``request_id`` as it saw them (three ``ContextVar.get`` calls), so a
    check can tell that the layers around it bound them. ``calls`` counts the requests served.

    Args:
        body: The response body.
    """

    __slots__ = ("_length", "body", "calls", "context")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self._length = str(len(body)).encode("ascii")
        self.calls = 0
        self.context: tuple[Any, ...] = ()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Read the request, then answer 200 with ``body``."""
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        self.calls += 1
        self.context = (METHOD_VAR.get(), PATH_VAR.get(), REQUEST_ID_VAR.get())
        # New dicts and a new header list per response: some peers edit them in place.
        headers = [(b"content-type", b"application/json"), (b"content-length", self._length)]
        user = scope.get("user")
        if user is not None and user.is_authenticated:
            headers.append((b"x-user", user.display_name.encode("utf-8")))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


def _nest(app: ASGIApp, layers: Sequence[Callable[[ASGIApp], ASGIApp]]) -> ASGIApp:
    # What compose does, without it: the first layer ends up outermost.
    for wrap in reversed(layers):
        app = wrap(app)
    return app


def _check_names(without: Collection[str]) -> None:
    unknown = set(without) - set(LAYERS)
    if unknown:
        msg = f"without must name layers among {LAYERS!r}, got {sorted(unknown)!r}"
        raise ValueError(msg)


def _our_layers(logger: Any) -> dict[str, LayerLike]:
    return {
        "cors": Layer(CORSMiddleware, **CORS_POLICY),
        "request_id": Layer(RequestIDMiddleware, header_name=HEADER),
        "access_log": Layer(AccessLogMiddleware, logger=logger),
        "timing": TimingMiddleware,
        "auth": Layer(
            AuthenticationMiddleware, backend=BearerTokenBackend(tokens=[TOKEN], scopes=["read"])
        ),
        "compression": Layer(
            CompressionMiddleware,
            minimum_size=MINIMUM_SIZE,
            gzip_level=GZIP_LEVEL,
            brotli_quality=BROTLI_QUALITY,
            zstd_level=ZSTD_LEVEL,
        ),
    }


def ours_stack(app: ASGIApp, logger: Any, *, without: Collection[str] = ()) -> ASGIApp:
    """Wrap ``app`` in our six middleware with ``compose``, in the recommended order.

    Args:
        app: The app to wrap.
        logger: The structlog logger of the access log.
        without: Layers to leave out (for tests of the checks).

    Returns:
        The wrapped app.
    """
    _check_names(without)
    layers = _our_layers(logger)
    return compose(app, *(layers[name] for name in LAYERS if name not in without))


def mixed_stack(app: ASGIApp, logger: Any, *, ours: Collection[str]) -> ASGIApp:
    """Wrap ``app`` in the six layers: ours where named in ``ours``, else `rules_stack`'s.

    Args:
        app: The app to wrap.
        logger: The structlog logger of the access log.
        ours: The layers that are our middleware (each wrapped by ``compose`` alone).

    Returns:
        The wrapped app.
    """
    _check_names(ours)
    our_layers, ruled = _our_layers(logger), rules_layers(logger, ORIGIN, {TOKEN: USER}, RULES)
    for name in reversed(LAYERS):
        app = compose(app, our_layers[name]) if name in ours else ruled[name](app)
    return app


def floor_stack(app: ASGIApp, logger: Any, *, without: Collection[str] = ()) -> ASGIApp:
    """Wrap ``app`` in the six floor classes, in the same order.

    Args:
        app: The app to wrap.
        logger: The structlog logger of the access log.
        without: Layers to leave out (for tests of the checks).

    Returns:
        The wrapped app.
    """
    _check_names(without)
    layers: dict[str, Callable[[ASGIApp], ASGIApp]] = {
        "cors": lambda inner: FloorCORS(inner, ORIGIN),
        "request_id": FloorRequestID,
        "access_log": lambda inner: FloorAccessLog(inner, logger),
        "timing": FloorTiming,
        "auth": lambda inner: FloorAuth(inner, {TOKEN: USER}, ("read",)),
        "compression": FloorGZip,
    }
    return _nest(app, [layers[name] for name in LAYERS if name not in without])


def rules_stack(
    app: ASGIApp, logger: Any, *, without: Collection[str] = (), rules: Collection[str] = RULES
) -> ASGIApp:
    """Wrap ``app`` in the six floor classes with the SPEC's rules, in the same order.

    Args:
        app: The app to wrap.
        logger: The structlog logger of the access log.
        without: Layers to leave out (for tests of the checks).
        rules: The rules of `benchmarks.floor_rules.RULES` to follow; all by default.

    Returns:
        The wrapped app.
    """
    _check_names(without)
    layers = rules_layers(logger, ORIGIN, {TOKEN: USER}, rules)
    return _nest(app, [layers[name] for name in LAYERS if name not in without])


def peer_stack(
    app: ASGIApp, sink: Sink, client: NoOpClient, *, without: Collection[str] = ()
) -> ASGIApp:
    """Wrap ``app`` in the six peers, configured as in their per-area scenarios.

    Args:
        app: The app to wrap.
        sink: Where asgi-logger's lines go (through a stdlib logger rendering JSON).
        client: The metrics client timing-asgi reports to.
        without: Layers to leave out (for tests of the checks).

    Returns:
        The wrapped app.
    """
    _check_names(without)
    logger = stdlib_logger(sink)
    layers: dict[str, Callable[[ASGIApp], ASGIApp]] = {
        "cors": starlette_cors,
        "request_id": correlation_id,
        "access_log": lambda inner: AccessLoggerMiddleware(inner, logger=logger),
        "timing": lambda inner: TimingASGIMiddleware(inner, client=client),
        "auth": starlette_bearer,
        "compression": starlette_compress_all,
    }
    return _nest(app, [layers[name] for name in LAYERS if name not in without])


def e2e_app(stack: str) -> tuple[ASGIApp, Callable[[], dict[str, int]]]:
    """Build one stack for a server: both bodies, routed by path, behind the named stack.

    Args:
        stack: One of `STACKS`.

    Returns:
        The app, and a function returning how many requests reached the app and how many
        access-log events were written (each request should give exactly one).

    Raises:
        ValueError: For an unknown stack name.
    """
    small, large = StackApp(JSON_100), StackApp(JSON_16K)

    async def routed(scope: Scope, receive: Any, send: Any) -> None:
        await (large if scope.get("path") == LARGE_PATH else small)(scope, receive, send)

    sink = Sink()
    builders: dict[str, Callable[[ASGIApp], ASGIApp]] = {
        "bare": lambda app: app,
        "floor": lambda app: floor_stack(app, structlog_logger(sink)),
        "floor+rules": lambda app: rules_stack(app, structlog_logger(sink)),
        "peers": lambda app: peer_stack(app, sink, NoOpClient()),
        "asgi-middleware": lambda app: ours_stack(app, structlog_logger(sink)),
    }
    if stack not in builders:
        msg = f"stack must be one of {STACKS!r}, got {stack!r}"
        raise ValueError(msg)

    def stats() -> dict[str, int]:
        return {"app_calls": small.calls + large.calls, "log_events": sink.count}

    return builders[stack](routed), stats
