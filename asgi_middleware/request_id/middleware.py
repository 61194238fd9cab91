"""Request IDs: read or generate one per request, and make it visible everywhere (SPEC §5)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from asgi_middleware._kit.config import require_bool, require_sync_callable, require_token
from asgi_middleware._kit.context import REQUEST_ID, structlog_contextvar
from asgi_middleware._kit.headers import HeaderNames, add_headers, get_first, with_headers
from asgi_middleware._kit.order import check_position
from asgi_middleware._kit.types import ASGIApp, Message, RawHeaders, Receive, Scope, Send
from asgi_middleware.request_id._ids import is_safe_id, is_safe_id_text, trace_id_from_traceparent
from asgi_middleware.request_id.generators import uuid4_hex

__all__ = ["RequestIDLogFilter", "RequestIDMiddleware", "get_request_id"]

_logger = logging.getLogger("asgi_middleware.request_id")
_HANDLED = frozenset({"http", "websocket"})
_TRACEPARENT = HeaderNames(b"traceparent")
# structlog's variable for "request_id", set directly on the request path (see the helper).
_STRUCTLOG_REQUEST_ID = structlog_contextvar("request_id")
# The messages that open a response: the header goes on each (SPEC §5).
_RESPONSE_STARTS = frozenset(
    {"http.response.start", "websocket.accept", "websocket.http.response.start"}
)


def get_request_id() -> str | None:
    """Return the ID of the request being handled, or ``None`` outside a request.

    Set by [`RequestIDMiddleware`][asgi_middleware.RequestIDMiddleware] for the duration of
    each HTTP request or WebSocket session, and reset afterwards.

    Added in version 0.1.0.
    """
    return REQUEST_ID.get()


class RequestIDLogFilter(logging.Filter):
    """Add the current request ID to stdlib log records as ``record.request_id``.

    Attach it to a handler and use ``%(request_id)s`` in the format. Outside a request the
    attribute is ``default_value``. The filter never drops a record.

    Args:
        name: Passed to ``logging.Filter``.
        default_value: What ``record.request_id`` holds outside a request.

    Example:
        ```python
        handler.addFilter(RequestIDLogFilter())
        handler.setFormatter(logging.Formatter("%(request_id)s %(levelname)s %(message)s"))
        ```

    Added in version 0.1.0.
    """

    def __init__(self, name: str = "", *, default_value: str | None = "-") -> None:
        super().__init__(name)
        self.default_value = default_value

    def filter(self, record: logging.LogRecord) -> bool:
        """Set ``record.request_id``; always keep the record."""
        request_id = REQUEST_ID.get()
        record.request_id = self.default_value if request_id is None else request_id
        return True


class RequestIDMiddleware:
    """Give every request an ID, taken from the client when it is safe, generated otherwise.

    For `http` and `websocket` scopes the ID is read from the ``header_name`` request header
    (when ``trust_incoming``), checked by the validator, and replaced by a fresh one when it is
    missing or rejected. The ID is then available to everything inside the request as
    [`get_request_id()`][asgi_middleware.get_request_id], as ``scope["state"]["request_id"]``
    (so Starlette's ``request.state.request_id``), as ``request_id`` in structlog's contextvars
    (every structlog event inside the request carries it), and on stdlib log records through
    [`RequestIDLogFilter`][asgi_middleware.RequestIDLogFilter]. The response header is set on
    ``http.response.start``, ``websocket.accept`` and a WebSocket denial response, replacing a
    value the app set, never duplicated. `lifespan` and other scope types pass through.

    The scope is never edited: the app gets a new scope and, when the request header changed, a
    new header list. Its ``state`` is the server's own per-request dict, the ID written into it
    (a new dict only when the server gave none), so what the app stores on ``request.state`` is
    seen by every layer around it, as the server meant (SPEC §2.3).

    Args:
        app: The ASGI application to wrap.
        header_name: The request and response header holding the ID.
        update_request_header: Whether the app sees the ID in the request header when it was
            generated or replaced (as asgi-correlation-id does).
        generator: Returns a new ID; it must return a ``str`` the built-in check accepts
            (checked once at start-up). Default:
            [`uuid4_hex`][asgi_middleware.request_id.uuid4_hex];
            [`uuid7_hex`][asgi_middleware.request_id.uuid7_hex] gives time-ordered IDs.
        validator: An extra check of an incoming ID (a ``str``), such as "UUIDs only". It runs
            after the built-in check, which always applies: 1 to 128 characters of letters,
            digits and ``-_.:;=+/@~``. ``None`` (the default) adds nothing.
        transformer: Changes every ID before use (for example ``str.lower``). A result the
            built-in check rejects is replaced by a generated ID.
        trust_incoming: Whether to use an ID from the client at all. ``False`` always generates,
            for services on the edge of an untrusted network.
        response_header: Whether to send the ID back in the response header.
        traceparent: Whether to take the trace-id of a valid W3C ``traceparent`` header as the
            ID when no usable request-ID header came in (only with ``trust_incoming``).

    Security:
        An incoming ID is client input that ends up in logs and headers. The built-in check
        rejects control characters, whitespace, quotes, backslashes, ``<>``, ``%`` and anything
        over 128 characters, so it cannot forge log lines, break quoted log formats or inject
        headers. A rejected value is replaced, and never logged.

    Example:
        ```python
        app = RequestIDMiddleware(app, generator=uuid7_hex)
        ```

    Added in version 0.1.0.
    """

    __slots__ = (
        "_extra_check",
        "_generate",
        "_header",
        "_names",
        "_plain",
        "_respond",
        "_trace",
        "_transform",
        "_trust",
        "_update_request",
        "app",
    )
    _compose_role = "request_id"

    def __init__(
        self,
        app: ASGIApp,
        *,
        header_name: str = "X-Request-ID",
        update_request_header: bool = True,
        generator: Callable[[], str] = uuid4_hex,
        validator: Callable[[str], bool] | None = None,
        transformer: Callable[[str], str] | None = None,
        trust_incoming: bool = True,
        response_header: bool = True,
        traceparent: bool = False,
    ) -> None:
        self.app = app
        check_position(self, app)
        self._header = require_token("header_name", header_name).lower().encode("ascii")
        self._names = HeaderNames(self._header)
        self._update_request = require_bool("update_request_header", update_request_header)
        self._generate = require_sync_callable("generator", generator)
        self._extra_check = (
            None if validator is None else require_sync_callable("validator", validator)
        )
        self._transform = (
            None if transformer is None else require_sync_callable("transformer", transformer)
        )
        self._trust = require_bool("trust_incoming", trust_incoming)
        self._respond = require_bool("response_header", response_header)
        self._trace = require_bool("traceparent", traceparent)
        # The default options: an ID that came is used as it came, else one is generated.
        self._plain = (
            self._trust
            and self._extra_check is None
            and self._transform is None
            and not self._trace
        )
        # A common mistake is generator=uuid.uuid4, which returns a UUID, not a str: caught here.
        sample: object = generator()
        if not isinstance(sample, str) or not is_safe_id_text(sample):
            msg = (
                "generator must return a str of 1 to 128 letters, digits or -_.:;=+/@~, "
                f"got {sample!r}"
            )
            raise (TypeError if not isinstance(sample, str) else ValueError)(msg)

    def _from_header(self, raw: bytes) -> str | None:
        if is_safe_id(raw):
            value = raw.decode("ascii")
            if self._extra_check is None or self._extra_check(value):
                return value
        # The raw value is client input of unknown content: never logged (SPEC §5).
        _logger.debug("replaced an invalid %s request header", self._header.decode())
        return None

    def _resolve(self, headers: RawHeaders, raw: bytes | None) -> tuple[str, bytes, RawHeaders]:
        """Return the request ID, its header value and the app's request headers.

        ``raw`` is the value of the ID's request header in ``headers``, or ``None``.
        """
        incoming = None
        accepted = None  # the header's bytes, when its ID is used as it came
        if self._trust:
            if raw is not None:
                incoming = self._from_header(raw)
                accepted = None if incoming is None else raw
            if incoming is None and self._trace:
                traceparent = get_first(headers, _TRACEPARENT)
                if traceparent is not None:
                    incoming = trace_id_from_traceparent(traceparent)
        request_id = self._generate() if incoming is None else incoming
        if self._transform is not None:
            # The transformer sees client input: a result that is unsafe is not used.
            transformed: object = self._transform(request_id)
            if isinstance(transformed, str) and is_safe_id_text(transformed):
                request_id = transformed
            else:
                request_id = self._generate()
        if accepted is not None and request_id is incoming:
            value = accepted  # echoed as it came: no encoding, no header rebuild
        else:
            value = request_id.encode("ascii")  # safe, so ASCII
            if self._update_request:
                field = ((self._header, value),)
                # Usually there was none (raw is None), and the scan above need not be repeated.
                if raw is None:
                    headers = add_headers(headers, field)
                else:
                    headers = with_headers(headers, field, self._names)
        return request_id, value, headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] not in _HANDLED:
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", ())
        raw = get_first(headers, self._names)
        # The one fast path (benchmark rows request-id-generated, request-id-echoed and
        # stack-100b): _resolve's work for the default options, without its tests of options.
        if not self._plain:
            request_id, value, headers = self._resolve(headers, raw)
        elif raw is None:
            request_id = self._generate()
            value = request_id.encode("ascii")
            if self._update_request:
                headers = add_headers(headers, ((self._header, value),))
        elif is_safe_id(raw):
            request_id = raw.decode("ascii")
            value = raw
        else:
            request_id, value, headers = self._resolve(headers, raw)
        # SPEC §2.3: the server's per-request state dict is shared by every layer and the app
        # (uvicorn copies the lifespan state into a new one per request), so it is written
        # into, never replaced by a copy that would hide what the app stores there.
        state = scope.get("state")
        if state is None:
            state = {}
        state["request_id"] = request_id
        inner_scope = {**scope, "headers": headers, "state": state}
        if self._respond:
            field = ((self._header, value),)
            names = self._names

            # A plain function returning send's awaitable, which the app awaits directly: that
            # saves a coroutine per message, and errors still surface at the app's ``await send``.
            def send_wrapper(message: Message) -> Awaitable[None]:
                if message["type"] in _RESPONSE_STARTS:
                    headers = with_headers(message.get("headers", ()), field, names)
                    message = {**message, "headers": headers}
                return send(message)

            inner_send: Send = send_wrapper
        else:
            inner_send = send
        token = REQUEST_ID.set(request_id)
        structlog_token = _STRUCTLOG_REQUEST_ID.set(request_id)
        try:
            await self.app(inner_scope, receive, inner_send)
        finally:
            _STRUCTLOG_REQUEST_ID.reset(structlog_token)
            REQUEST_ID.reset(token)
