"""The floor plus the SPEC's rules: what hand-written layers cost once they follow them.

`benchmarks.floor` does each job and nothing else. Our middleware also follow rules the SPEC sets
for every request (§2 and the section of each job), which the floor breaks on purpose. The classes
here are the floor's, each with those rules written in by hand, every one switchable: the
``floor+rules`` row of the ``stack-*`` scenarios runs them all, and ``python -m
benchmarks.profile_stack --rules`` times the stack with each rule left out, so the note of a run can
say which rule costs what. No options, no validation, nothing the benchmark's request does not
reach: only the rules.

`RULES`, by name:

* ``any-case`` (§2.6): header names are matched in any case, in requests and in responses.
* ``single`` (§2.10, RFC 9110 §5.3): ``Origin`` and ``Authorization`` are read as single values;
  a repeated one is refused, so the whole header list is read, not up to the first match.
* ``owned`` (§2.6): a response header we write replaces the app's copy, never doubles it; ``Vary``,
  ``Access-Control-Expose-Headers`` and ``Server-Timing`` are merged with the app's.
* ``id-places`` (§5): the request ID is also in ``scope["state"]`` (a new scope), in
  ``get_request_id()``'s context variable, and in the request header the app reads.
* ``log-safety`` (§2.10, §6): the logged path and user agent are escaped and capped, the query
  redacted, the client written as ``host:port``, a send that fails because the client went away
  told apart from the app's errors, and the logging never raises into the request.
* ``app-metrics`` (§7): the app can add its own ``Server-Timing`` metrics through a context
  variable set for the request.
* ``auth`` (§8): the scheme matched in any case, the credentials' length capped, the token
  confirmed in constant time, ``OPTIONS`` preflights let through.
* ``negotiation`` (§4): ``Accept-Encoding`` parsed per RFC 9110 §12.5.3 (tokens, q-values).
* ``skip-checks`` (§4): the response is checked before compressing: status, an existing
  ``Content-Encoding``, ``Content-Range``, ``Cache-Control: no-transform``, the content type.

These classes exist to be measured, not used.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import zlib
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from contextvars import ContextVar
from time import perf_counter_ns
from typing import Any

from benchmarks.floor import (
    METHOD_VAR,
    PATH_VAR,
    REQUEST_ID_VAR,
    FloorCredentials,
    FloorUser,
    Receive,
    Send,
    send_unauthorized,
)
from benchmarks.model import ASGIApp, Message, Scope

__all__ = [
    "RULES",
    "RulesAccessLog",
    "RulesAuth",
    "RulesCORS",
    "RulesGZip",
    "RulesRequestID",
    "RulesTiming",
]

RULES = (
    "any-case",
    "single",
    "owned",
    "id-places",
    "log-safety",
    "app-metrics",
    "auth",
    "negotiation",
    "skip-checks",
)
"""Every rule, by the name ``rules=`` takes."""

Pair = tuple[bytes, bytes]
#: What a single-value read returns for a repeated header: one object, told by identity from any
#: value a request can carry.
_REPEATED = bytes(bytearray(b"<repeated>"))
#: What ``get_request_id()`` reads (the floor binds only structlog's variable).
_REQUEST_ID: ContextVar[str | None] = ContextVar("rules_request_id", default=None)
#: The app's own Server-Timing metrics (``app-metrics``).
_APP_METRICS: ContextVar[list[bytes] | None] = ContextVar("rules_app_metrics", default=None)


def _find(headers: Sequence[Pair], name: bytes, *, any_case: bool, single: bool) -> bytes | None:
    """The value of header ``name``: the first, or with ``single`` the one (`_REPEATED`)."""
    found: bytes | None = None
    size = len(name)
    for key, value in headers:
        if key == name or (any_case and len(key) == size and key.lower() == name):
            if not single:
                return value
            if found is not None:
                return _REPEATED
            found = value
    return found


class _Names(dict[bytes, bool]):
    """Our header names (lower case), each mapped to whether it is a list field to merge into.

    ``sizes`` are their lengths: a name of another length is not ours in any case, without a
    ``lower()``.
    """

    def __init__(self, names: Mapping[bytes, bool]) -> None:
        super().__init__(names)
        self.sizes = frozenset(map(len, names))


def _set(headers: Sequence[Pair], fields: Sequence[Pair], names: _Names) -> list[Pair]:
    """``headers`` with ``fields`` set: the app's copies dropped, list fields merged into ours."""
    sizes = names.sizes
    for key, _ in headers:
        if len(key) in sizes and (key in names or key.lower() in names):
            break
    else:  # the usual case: the app wrote none of ours
        return [*headers, *fields]
    merged: dict[bytes, list[bytes]] = {}
    kept: list[Pair] = []
    for pair in headers:
        key = pair[0]
        if key not in names and len(key) in sizes:
            key = key.lower()
        if key not in names:
            kept.append(pair)
        elif names[key]:
            merged.setdefault(key, []).append(pair[1])
    if not merged:
        kept += fields
        return kept
    for key, ours in fields:
        if key in merged:
            values = [*merged.pop(key), ours]
            tokens = dict.fromkeys(token.strip() for value in values for token in value.split(b","))
            kept.append((key, b", ".join(tokens)))
        else:
            kept.append((key, ours))
    return kept


class _Ruled:
    """A floor layer with some of `RULES`: each one a flag fixed at construction."""

    __slots__ = ("any_case", "app", "rules")

    def __init__(self, app: ASGIApp, rules: Collection[str]) -> None:
        unknown = set(rules) - set(RULES)
        if unknown:
            msg = f"rules must be among {RULES!r}, got {sorted(unknown)!r}"
            raise ValueError(msg)
        self.app = app
        self.rules = frozenset(rules)
        self.any_case = "any-case" in self.rules


class RulesCORS(_Ruled):
    """`benchmarks.floor.FloorCORS`'s simple requests, with ``any-case``, ``single``, ``owned``."""

    __slots__ = ("_added", "_names", "_origin", "_owned", "_single")

    def __init__(self, app: ASGIApp, origin: str, rules: Collection[str]) -> None:
        super().__init__(app, rules)
        self._origin = origin.encode("latin-1")
        self._added = (
            (b"access-control-allow-origin", self._origin),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-expose-headers", b"x-total"),
            (b"vary", b"Origin"),
        )
        self._names = _Names(
            {
                b"access-control-allow-origin": False,
                b"access-control-allow-credentials": False,
                b"access-control-expose-headers": True,
                b"vary": True,
            }
        )
        self._single = "single" in self.rules
        self._owned = "owned" in self.rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the CORS headers when the request comes from the origin."""
        if scope["type"] != "http" or self._origin != _find(
            scope["headers"], b"origin", any_case=self.any_case, single=self._single
        ):
            await self.app(scope, receive, send)
            return
        added, names, owned = self._added, self._names, self._owned

        def send_wrapper(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                headers = message.get("headers", ())
                headers = _set(headers, added, names) if owned else [*headers, *added]
                message = {**message, "headers": headers}
            return send(message)

        await self.app(scope, receive, send_wrapper)


class RulesRequestID(_Ruled):
    """`benchmarks.floor.FloorRequestID`, with ``any-case``, ``owned`` and ``id-places``."""

    __slots__ = ("_names", "_owned", "_places")

    def __init__(self, app: ASGIApp, rules: Collection[str]) -> None:
        super().__init__(app, rules)
        self._owned = "owned" in self.rules
        self._places = "id-places" in self.rules
        self._names = _Names({b"x-request-id": False})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Bind the ID, put it where the SPEC says, and set it on the response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        value = _find(headers, b"x-request-id", any_case=self.any_case, single=False)
        if value is None:
            raw = bytearray(os.urandom(16))
            raw[6] = raw[6] & 0x0F | 0x40
            raw[8] = raw[8] & 0x3F | 0x80
            request_id = raw.hex()
            value = request_id.encode("ascii")
            if self._places:
                headers = [*headers, (b"x-request-id", value)]
        else:
            request_id = value.decode("latin-1")
        entry = ((b"x-request-id", value),)
        owned, names = self._owned, self._names

        def send_wrapper(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                fields = message.get("headers", ())
                fields = _set(fields, entry, names) if owned else [*fields, *entry]
                message = {**message, "headers": fields}
            return send(message)

        if self._places:
            state = scope.get("state")
            if state is None:
                state = {}
            state["request_id"] = request_id
            scope = {**scope, "headers": headers, "state": state}
            id_token = _REQUEST_ID.set(request_id)
        token = REQUEST_ID_VAR.set(request_id)
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            REQUEST_ID_VAR.reset(token)
            if self._places:
                _REQUEST_ID.reset(id_token)


_SECRETS = frozenset({"token", "password", "api_key", "secret"})
_MAX_TEXT = 1024


def _escaped(text: str) -> str:
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _redacted(query: bytes) -> str:
    text = query.decode("latin-1")
    if not text:
        return text
    parts = text.split("&")
    for index, part in enumerate(parts):
        name, equals, _ = part.partition("=")
        if equals and name.lower() in _SECRETS:
            parts[index] = f"{name}=[REDACTED]"
    return _escaped("&".join(parts))


class RulesAccessLog(_Ruled):
    """`benchmarks.floor.FloorAccessLog`, with ``any-case`` and ``log-safety``."""

    __slots__ = ("_logger", "_safe")

    def __init__(self, app: ASGIApp, logger: Any, rules: Collection[str]) -> None:
        super().__init__(app, rules)
        self._logger = logger
        self._safe = "log-safety" in self.rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: PLR0915
        """Watch the request and response, then log them in ``finally``."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter_ns()
        status = 0
        ttfb = finished = 0
        sent = 0
        complete = disconnected = cancelled = False
        safe = self._safe
        path = _escaped(scope["path"]) if safe else scope["path"]
        send_error: OSError | None = None

        async def receive_wrapper() -> Message:
            nonlocal disconnected
            message: Message = await receive()
            if message["type"] == "http.disconnect" and not complete:
                disconnected = True
            return message

        def track(message: Message) -> None:
            nonlocal status, ttfb, finished, sent, complete
            kind = message["type"]
            if kind == "http.response.body":
                sent += len(message.get("body", b""))
                if not message.get("more_body", False):
                    finished = perf_counter_ns()
                    complete = True
            elif kind == "http.response.start":
                ttfb = perf_counter_ns()
                status = message["status"]

        def send_wrapper(message: Message) -> Awaitable[None]:
            track(message)
            return send(message)

        async def telling_send(message: Message) -> None:
            nonlocal disconnected, send_error
            track(message)
            try:
                await send(message)
            except OSError as exc:  # the client went away: not the app's error
                disconnected = True
                send_error = exc
                raise

        error: BaseException | None = None
        method_token = METHOD_VAR.set(scope["method"])
        path_token = PATH_VAR.set(path)
        try:
            await self.app(scope, receive_wrapper, telling_send if safe else send_wrapper)
        except asyncio.CancelledError:
            cancelled = True
            raise
        except Exception as exc:
            if exc is not send_error:
                error = exc
            raise
        finally:
            if not status:
                status = 499 if cancelled or (disconnected and error is None) else 500
            fields = {
                "method": scope["method"],
                "path": path,
                "query": _redacted(scope["query_string"])
                if safe
                else scope["query_string"].decode("latin-1"),
                "status": status,
                "duration_ms": ((finished or perf_counter_ns()) - started) // 1000 / 1000,
                "ttfb_ms": (ttfb - started) // 1000 / 1000 if ttfb else None,
                "bytes_sent": sent,
                "disconnected": disconnected,
                "cancelled": cancelled,
            }
            try:
                self._emit_fields(scope, fields, error)
            except Exception:
                if not safe:
                    raise
            finally:
                PATH_VAR.reset(path_token)
                METHOD_VAR.reset(method_token)

    def _emit_fields(
        self, scope: Scope, fields: dict[str, Any], error: BaseException | None
    ) -> None:
        client = scope.get("client")
        agent = _find(scope["headers"], b"user-agent", any_case=self.any_case, single=False)
        request_id = REQUEST_ID_VAR.get()
        if not client:
            fields["client"] = None
        elif self._safe:
            host, port = client
            host = _escaped(str(host))
            fields["client"] = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        else:
            fields["client"] = f"{client[0]}:{client[1]}"
        fields["http_version"] = scope["http_version"]
        if agent is None:
            fields["user_agent"] = None
        elif self._safe:
            fields["user_agent"] = _escaped(agent[:_MAX_TEXT].decode("latin-1"))
        else:
            fields["user_agent"] = agent.decode("latin-1")
        fields["request_id"] = None if request_id is ... else request_id
        status, logger = fields["status"], self._logger
        if error is not None:
            logger.error("http_request", exc_info=error, **fields)
        elif status >= 500:
            logger.error("http_request", **fields)
        elif status >= 400 or fields["cancelled"]:
            logger.warning("http_request", **fields)
        else:
            logger.info("http_request", **fields)


class RulesTiming(_Ruled):
    """`benchmarks.floor.FloorTiming`, with ``owned`` and ``app-metrics``."""

    __slots__ = ("_metrics", "_names", "_owned")

    def __init__(self, app: ASGIApp, rules: Collection[str]) -> None:
        super().__init__(app, rules)
        self._owned = "owned" in self.rules
        self._metrics = "app-metrics" in self.rules
        self._names = _Names({b"server-timing": True})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the header when the response starts."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter_ns()
        owned, names = self._owned, self._names
        metrics: list[bytes] = []

        def send_wrapper(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                value = b"app;dur=%.3f" % ((perf_counter_ns() - started) / 1e6)
                if metrics:
                    value = b", ".join((value, *metrics))
                headers = message.get("headers", ())
                entry = ((b"server-timing", value),)
                headers = _set(headers, entry, names) if owned else [*headers, *entry]
                message = {**message, "headers": headers}
            return send(message)

        if not self._metrics:
            await self.app(scope, receive, send_wrapper)
            return
        token = _APP_METRICS.set(metrics)
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            _APP_METRICS.reset(token)


_MAX_CREDENTIALS = 8192


class RulesAuth(_Ruled):
    """`benchmarks.floor.FloorAuth`, with ``any-case``, ``single`` and ``auth``."""

    __slots__ = ("_checked", "_known", "_single")

    def __init__(
        self,
        app: ASGIApp,
        tokens: Mapping[str, str],
        scopes: tuple[str, ...],
        rules: Collection[str],
    ) -> None:
        super().__init__(app, rules)
        credentials = FloorCredentials(scopes)
        self._checked = "auth" in self.rules
        self._single = "single" in self.rules
        if self._checked:
            self._known = {
                token.encode("latin-1"): (token.encode("latin-1"), FloorUser(user), credentials)
                for token, user in tokens.items()
            }
        else:
            self._known = {
                f"Bearer {token}".encode("latin-1"): (b"", FloorUser(user), credentials)
                for token, user in tokens.items()
            }

    def _lookup(self, value: bytes | None) -> tuple[bytes, FloorUser, FloorCredentials] | None:
        if value is None or value is _REPEATED:
            return None
        if not self._checked:
            return self._known.get(value)
        if len(value) > _MAX_CREDENTIALS:
            return None
        scheme, _, rest = value.strip(b" \t").partition(b" ")
        if scheme.lower() != b"bearer":
            return None
        token = rest.strip(b" \t")
        found = self._known.get(token)
        if found is None or not hmac.compare_digest(found[0], token):
            return None
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Set ``user`` and ``auth`` on a new scope, or answer 401."""
        if scope["type"] != "http" or (self._checked and scope["method"] == "OPTIONS"):
            await self.app(scope, receive, send)
            return
        value = _find(
            scope["headers"], b"authorization", any_case=self.any_case, single=self._single
        )
        found = self._lookup(value)
        if found is None:
            await send_unauthorized(send)
            return
        await self.app({**scope, "user": found[1], "auth": found[2]}, receive, send)


def _accepts_gzip(value: bytes) -> bool:
    """Whether ``Accept-Encoding`` gives gzip (or ``*``) a q-value above 0 (RFC 9110 §12.5.3)."""
    star = False
    for item in value.lower().split(b","):
        token, _, params = item.partition(b";")
        token = token.strip()
        quality = 1.0
        name, _, number = params.strip().partition(b"=")
        if name.strip() == b"q":
            try:
                quality = float(number)
            except ValueError:
                quality = 0.0
        if token in {b"gzip", b"x-gzip"}:
            return quality > 0
        if token == b"*":
            star = quality > 0
    return star


_NO_BODY_STATUS = frozenset({204, 205, 304})
_SKIPPED_TYPES = (b"image/", b"audio/", b"video/", b"font/woff", b"application/zip")


class RulesGZip(_Ruled):
    """`benchmarks.floor.FloorGZip`, with ``any-case``, ``owned``, ``negotiation`` and checks."""

    __slots__ = ("_checks", "_names", "_negotiate", "_owned")

    def __init__(self, app: ASGIApp, rules: Collection[str]) -> None:
        super().__init__(app, rules)
        self._negotiate = "negotiation" in self.rules
        self._checks = "skip-checks" in self.rules
        self._owned = "owned" in self.rules
        self._names = _Names({b"content-length": False, b"vary": True, b"content-encoding": False})

    def _skips(self, start: Message) -> bool:
        """Whether the response must go as it is, whatever its size."""
        headers = start.get("headers", ())
        if not self._checks:
            return any(name == b"content-encoding" for name, _ in headers)
        if start["status"] < 200 or start["status"] in _NO_BODY_STATUS or start["status"] == 206:
            return True
        for key, value in headers:
            name = key.lower()
            if name in {b"content-encoding", b"content-range"}:
                return True
            if name == b"cache-control" and b"no-transform" in value.lower():
                return True
            if name == b"content-type" and value.lower().startswith(_SKIPPED_TYPES):
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hold the start message until the first body chunk decides."""
        accept = (
            _find(scope["headers"], b"accept-encoding", any_case=self.any_case, single=False)
            if scope["type"] == "http"
            else None
        )
        if accept is None or not (_accepts_gzip(accept) if self._negotiate else b"gzip" in accept):
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        compressor: Any = None
        owned, names = self._owned, self._names

        async def send_wrapper(message: Message) -> None:
            nonlocal held, compressor
            kind = message["type"]
            if compressor is not None and kind == "http.response.body":
                body = compressor.compress(message.get("body", b""))
                more = message.get("more_body", False)
                body += compressor.flush(zlib.Z_SYNC_FLUSH if more else zlib.Z_FINISH)
                await send({"type": kind, "body": body, "more_body": more})
                return
            if kind == "http.response.start":
                held = message
                return
            if held is None or kind != "http.response.body":
                await send(message)
                return
            start, held = held, None
            body = message.get("body", b"")
            more = message.get("more_body", False)
            if (not more and len(body) < 500) or self._skips(start):
                await send(start)
                await send(message)
                return
            compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
            data = compressor.compress(body) + compressor.flush(
                zlib.Z_SYNC_FLUSH if more else zlib.Z_FINISH
            )
            fields = [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")]
            if not more:
                fields.append((b"content-length", b"%d" % len(data)))
            headers = start.get("headers", ())
            if owned:
                kept = _set(headers, fields, names)
            else:
                kept = [(name, value) for name, value in headers if name != b"content-length"]
                kept += fields
            await send({**start, "headers": kept})
            await send({"type": kind, "body": data, "more_body": more})

        await self.app(scope, receive, send_wrapper)


def rules_layers(
    logger: Any, origin: str, tokens: Mapping[str, str], rules: Collection[str]
) -> dict[str, Callable[[ASGIApp], ASGIApp]]:
    """The six layers with ``rules``, by the names of `benchmarks.stacks.LAYERS`."""
    return {
        "cors": lambda inner: RulesCORS(inner, origin, rules),
        "request_id": lambda inner: RulesRequestID(inner, rules),
        "access_log": lambda inner: RulesAccessLog(inner, logger, rules),
        "timing": lambda inner: RulesTiming(inner, rules),
        "auth": lambda inner: RulesAuth(inner, tokens, ("read",), rules),
        "compression": lambda inner: RulesGZip(inner, rules),
    }
