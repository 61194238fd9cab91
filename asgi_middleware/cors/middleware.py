"""CORS per the Fetch standard, with WebSocket origin checks (SPEC §3)."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence

from asgi_middleware._kit.config import (
    TOKEN_BYTES,
    require_bool,
    require_int,
    require_strings,
    require_token,
)
from asgi_middleware._kit.headers import HeaderNames, get_first, with_headers
from asgi_middleware._kit.order import check_position
from asgi_middleware._kit.responses import content_headers, deny_websocket, respond
from asgi_middleware._kit.types import ASGIApp, Headers, Message, Receive, Scope, Send
from asgi_middleware.cors._origins import (
    WILDCARD,
    build_matcher,
    parse_token_list,
    require_origin_check,
    require_origin_regex,
    split_origins,
)

__all__ = ["CORSMiddleware"]

_logger = logging.getLogger("asgi_middleware.cors")
#: The longest Origin or path a refused handshake's log record shows (client-controlled).
_MAX_SHOWN = 200
# WebSockets only get an origin check, and only with websocket_origins (see __call__).
_HANDLED = frozenset({"http", "websocket"})

_ALLOW_ORIGIN = b"access-control-allow-origin"
_ALLOW_CREDENTIALS = b"access-control-allow-credentials"
_ALLOW_METHODS = b"access-control-allow-methods"
_ALLOW_HEADERS = b"access-control-allow-headers"
_ALLOW_PRIVATE_NETWORK = b"access-control-allow-private-network"
_EXPOSE_HEADERS = b"access-control-expose-headers"
_MAX_AGE = b"access-control-max-age"
_VARY = b"vary"
_TRUE = b"true"
_TEXT_PLAIN = b"text/plain; charset=utf-8"
_REQUEST_HEADERS = b"access-control-request-headers"
_ORIGIN = HeaderNames(b"origin")
# What a preflight carries; two Access-Control-Request-Headers fields are one list (RFC 9110 §5.3).
_PREFLIGHT = HeaderNames(
    b"origin",
    b"access-control-request-method",
    _REQUEST_HEADERS,
    b"access-control-request-private-network",
    lists=(_REQUEST_HEADERS,),
)
# Response headers the send wrapper writes: the two it owns and the two lists it merges into.
_CORS_NAMES = HeaderNames(
    _ALLOW_ORIGIN, _ALLOW_CREDENTIALS, _EXPOSE_HEADERS, _VARY, lists=(_EXPOSE_HEADERS, _VARY)
)
_VARY_ORIGIN = (_VARY, b"Origin")
_VARY_ONLY = (_VARY_ORIGIN,)
# SPEC §3: a preflight's answer also depends on the three request headers a preflight carries.
_PREFLIGHT_VARY = (
    _VARY,
    (
        b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
        b"Access-Control-Request-Private-Network"
    ),
)
# Fetch, "CORS-safelisted request-header": a page may always send these; Starlette allows
# them in preflights too, and so do we.
_SAFELISTED_HEADERS = ("accept", "accept-language", "content-language", "content-type")
_PROBE_ORIGINS = ("https://attacker.invalid", "http://attacker.invalid")
_WS_DENIAL = b"WebSocket origin not allowed"
_OK_STATUS, _NO_CONTENT = 200, 204


class CORSMiddleware:
    """Answer CORS preflights and add CORS headers, per the Fetch standard's CORS protocol.

    For ``http`` scopes, a preflight (``OPTIONS`` with ``Origin`` and
    ``Access-Control-Request-Method``) is answered here and never reaches the app: with the
    configured ``preflight_status`` when the origin, method, headers and private-network request
    are all allowed, else with ``400`` and a plain-text reason (also logged at debug level to
    ``asgi_middleware.cors``) and no ``Access-Control-Allow-*`` header. Every other request
    reaches the app; if its ``Origin`` is allowed, the response gets
    ``Access-Control-Allow-Origin`` (replacing any the app set), ``-Allow-Credentials`` and
    ``-Expose-Headers``; a disallowed origin gets no CORS header at all. ``Vary: Origin`` is
    merged into every response whose CORS headers depend on the origin. With ``allow_origins=["*"]``
    every response carries ``Access-Control-Allow-Origin: *``, so none varies.

    For ``websocket`` scopes nothing happens unless ``websocket_origins`` is set; then a handshake
    from a browser origin outside that list is refused before it is accepted (403 through the
    ``websocket.http.response`` extension when the server offers it, else close code 1008).
    A handshake without ``Origin`` (not from a browser) goes on. Other scopes pass through.

    Args:
        app: The ASGI application to wrap.
        allow_origins: Origins allowed to read responses, as browsers send them:
            ``"https://app.example"``, ``"http://127.0.0.1:8000"``. Scheme and host are
            lower-cased and default ports dropped. ``"https://*.example.com"`` allows every
            subdomain (one or more whole labels) and nothing else. ``"null"`` is allowed only
            when listed. ``"*"`` allows every origin without credentials.
        allow_origin_regex: A pattern (``str`` or compiled) an origin must match in full.
            A pattern that matches any origin is refused.
        allow_methods: Methods a preflight may ask for, compared case-insensitively;
            ``"*"`` allows any method (the requested one is echoed).
        allow_headers: Request headers a preflight may ask for, on top of the CORS-safelisted
            ``Accept``, ``Accept-Language``, ``Content-Language`` and ``Content-Type``;
            ``"*"`` allows any (the requested ones are echoed, never ``*``).
        allow_credentials: Let pages send cookies and HTTP authentication and read the answer
            (``Access-Control-Allow-Credentials: true``). Refused together with ``"*"``.
        expose_headers: Response headers a page's script may read, merged with any the app
            lists in ``Access-Control-Expose-Headers``.
        max_age: Seconds a browser may cache a preflight's answer (Chromium caps it at 7200).
        allow_private_network: Answer Private Network Access preflights
            (``Access-Control-Request-Private-Network: true``) with
            ``Access-Control-Allow-Private-Network: true``; without it they fail.
        allow_origin_check: A plain function ``(origin: str) -> bool`` called for an origin no
            other option allows; the origin is allowed only if it returns ``True``. It runs on
            the event loop for every such request: keep it fast and non-blocking.
        preflight_status: Status of a successful preflight, ``200`` (Starlette's, with body
            ``OK``) or ``204`` (no body).
        websocket_origins: Origins (same forms as ``allow_origins``, but not ``"*"``) allowed
            to open WebSockets; ``None`` leaves WebSockets alone, as Starlette does.

    Security:
        CORS relaxes the same-origin policy; it never protects the server. Every origin you
        allow can read what the browser's user may read (with their cookies, if
        ``allow_credentials``), so list only origins you control. The same-origin policy does
        not cover WebSockets: without ``websocket_origins`` any site can open one with your
        users' cookies (cross-site WebSocket hijacking).

    Example:
        ```python
        app = CORSMiddleware(app, allow_origins=["https://app.example"], allow_credentials=True)
        ```

    Added in version 0.1.0.
    """

    __slots__ = (
        "_allow_all",
        "_allowed_tail",
        "_any_header",
        "_any_method",
        "_exact",
        "_exact_add",
        "_header_set",
        "_headers_value",
        "_match",
        "_method_set",
        "_methods",
        "_methods_value",
        "_ok_body",
        "_ok_fields",
        "_preflight_status",
        "_private_network",
        "_static_add",
        "_ws_exact",
        "_ws_match",
        "app",
    )

    _compose_role = "cors"

    def __init__(
        self,
        app: ASGIApp,
        *,
        allow_origins: Sequence[str] = (),
        allow_methods: Sequence[str] = ("GET",),
        allow_headers: Sequence[str] = (),
        allow_credentials: bool = False,
        allow_origin_regex: str | re.Pattern[str] | None = None,
        allow_private_network: bool = False,
        expose_headers: Sequence[str] = (),
        max_age: int = 600,
        allow_origin_check: Callable[[str], bool] | None = None,
        preflight_status: int = 200,
        websocket_origins: Sequence[str] | None = None,
    ) -> None:
        self.app = app
        check_position(self, app)
        credentials = require_bool("allow_credentials", allow_credentials)
        self._private_network = require_bool("allow_private_network", allow_private_network)
        origins = require_strings("allow_origins", allow_origins)
        self._allow_all, self._exact, wildcards = split_origins("allow_origins", origins)
        if self._allow_all and credentials:
            msg = (
                f"allow_origins must not contain '*' when allow_credentials=True, got {origins!r}:"
                " browsers refuse credentialed answers with 'Access-Control-Allow-Origin: *', and"
                " echoing every origin would let any site act as your users. List the origins"
                " (allow_origins=['https://app.example', 'https://*.example.com']) or pass"
                " allow_origin_regex or allow_origin_check."
            )
            raise ValueError(msg)
        regex = require_origin_regex("allow_origin_regex", allow_origin_regex)
        if regex is not None and any(regex.fullmatch(probe) for probe in _PROBE_ORIGINS):
            msg = (
                f"allow_origin_regex must not match any origin, got {regex.pattern!r}: it allows"
                f" {_PROBE_ORIGINS[0]!r}. Anchor it to your hosts, as in"
                r" r'https://(app|admin)\.example\.com', or, without credentials, use"
                " allow_origins=['*']."
            )
            raise ValueError(msg)
        check = require_origin_check("allow_origin_check", allow_origin_check)
        self._match = build_matcher(wildcards, regex, check)

        self._set_methods(allow_methods)
        self._set_headers(allow_headers)

        exposed = require_strings("expose_headers", expose_headers, require_token)
        if credentials and WILDCARD in exposed:
            msg = (
                f"expose_headers must list header names when allow_credentials=True, got"
                f" {exposed!r}: browsers read '*' literally in credentialed answers"
            )
            raise ValueError(msg)
        exposed_value = b", ".join(dict.fromkeys(name.lower().encode("ascii") for name in exposed))
        expose_field = [(_EXPOSE_HEADERS, exposed_value)] if exposed else []
        credentials_field = [(_ALLOW_CREDENTIALS, _TRUE)] if credentials else []
        # Added after Access-Control-Allow-Origin for an allowed origin; the whole list, "*"
        # first, for allow-all, where no answer depends on the origin (Fetch, "CORS protocol and
        # HTTP caches": always send Access-Control-Allow-Origin and do not use Vary).
        self._allowed_tail = (*credentials_field, *expose_field, _VARY_ORIGIN)
        self._static_add = ((_ALLOW_ORIGIN, b"*"), *expose_field)
        # Per listed origin, its whole list, built once (benchmark row cors-simple).
        self._exact_add = {
            origin: ((_ALLOW_ORIGIN, origin), *self._allowed_tail) for origin in self._exact
        }

        age = require_int("max_age", max_age, minimum=0)
        status = require_int("preflight_status", preflight_status)
        if status not in (_OK_STATUS, _NO_CONTENT):
            msg = f"preflight_status must be 200 or 204, got {status!r}"
            raise ValueError(msg)
        self._preflight_status = status
        self._ok_body = b"OK" if status == _OK_STATUS else b""
        ok_fields = content_headers(self._ok_body, _TEXT_PLAIN) if status == _OK_STATUS else []
        self._ok_fields = (
            *credentials_field,
            (_MAX_AGE, str(age).encode("ascii")),
            _PREFLIGHT_VARY,
            *ok_fields,
        )

        self._set_websocket(websocket_origins)

    def _set_methods(self, allow_methods: Sequence[str]) -> None:
        methods = require_strings("allow_methods", allow_methods, require_token)
        self._any_method = WILDCARD in methods
        upper = list(dict.fromkeys(m.upper().encode("ascii") for m in methods if m != WILDCARD))
        self._method_set = frozenset(upper)
        self._methods_value = b", ".join(upper)
        # With "*" every method is echoed as asked; otherwise the exact spellings map to the list.
        self._methods = {} if self._any_method else dict.fromkeys(upper, self._methods_value)

    def _set_headers(self, allow_headers: Sequence[str]) -> None:
        names = require_strings("allow_headers", allow_headers, require_token)
        self._any_header = WILDCARD in names
        lowered = {name.lower() for name in (*names, *_SAFELISTED_HEADERS) if name != WILDCARD}
        self._header_set = frozenset(name.encode("ascii") for name in lowered)
        self._headers_value = b", ".join(sorted(self._header_set))

    def _set_websocket(self, websocket_origins: Sequence[str] | None) -> None:
        self._ws_exact: frozenset[bytes] | None = None
        self._ws_match: Callable[[bytes], bool] | None = None
        if websocket_origins is not None:
            ws_origins = require_strings("websocket_origins", websocket_origins)
            if WILDCARD in ws_origins:
                msg = (
                    f"websocket_origins must not contain '*', got {ws_origins!r}: to leave"
                    " WebSocket origins unchecked, pass websocket_origins=None"
                )
                raise ValueError(msg)
            _, self._ws_exact, ws_wildcards = split_origins("websocket_origins", ws_origins)
            self._ws_match = build_matcher(ws_wildcards)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one connection: see the class docstring for what happens per scope type."""
        kind = scope["type"]
        if kind not in _HANDLED:
            await self.app(scope, receive, send)
            return
        if kind == "websocket":
            if self._ws_exact is None:
                await self.app(scope, receive, send)
            else:
                await self._websocket(scope, receive, send, self._ws_exact)
            return
        headers = scope.get("headers", ())
        if scope["method"] == "OPTIONS":
            origin, method, requested, private = _PREFLIGHT.scan(headers)
            if origin is not None and method is not None:
                status, fields, body = self._preflight(origin, method, requested, private)
                await respond(send, status, fields, body)
                return
        else:
            origin = get_first(headers, _ORIGIN)

        if self._allow_all:
            add = self._static_add
        elif origin is None:
            add = _VARY_ONLY  # as for a refused origin, below
        elif origin in self._exact_add:
            add = self._exact_add[origin]
        elif self._match is not None and self._match(origin):
            add = ((_ALLOW_ORIGIN, origin), *self._allowed_tail)
        else:
            # Missing or refused: no CORS headers, but a cache must still tell origins apart.
            add = _VARY_ONLY

        # The one fast path (benchmark rows cors-simple and cors-no-origin): a plain function
        # returning send's awaitable, which the app awaits directly; that saves a coroutine per
        # message, and errors still surface at the app's ``await send(...)``.
        def send_wrapper(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                headers = with_headers(message.get("headers", ()), add, _CORS_NAMES)
                message = {**message, "headers": headers}
            return send(message)

        await self.app(scope, receive, send_wrapper)

    def _preflight(
        self, origin: bytes, method: bytes, requested: bytes | None, private: bytes | None
    ) -> tuple[int, Headers, bytes]:
        """The status, headers and body answering a preflight."""
        allowed = (
            self._allow_all
            or origin in self._exact
            or (self._match is not None and self._match(origin))
        )
        methods = self._methods.get(method) or self._other_method(method)
        allow_headers = self._allow_headers(requested)
        asks_private = private == _TRUE
        if (
            not allowed
            or methods is None
            or allow_headers is None
            or (asks_private and not self._private_network)
        ):
            checks = (
                ("origin", not allowed),
                ("method", methods is None),
                ("headers", allow_headers is None),
                ("private-network", asks_private and not self._private_network),
            )
            failures = [name for name, failed in checks if failed]
            return _refusal(failures, (origin, method, requested, private))
        fields: Headers = [(_ALLOW_ORIGIN, b"*" if self._allow_all else origin)]
        fields.append((_ALLOW_METHODS, methods))
        if asks_private:
            fields.append((_ALLOW_PRIVATE_NETWORK, _TRUE))
        if allow_headers:
            fields.append((_ALLOW_HEADERS, allow_headers))
        fields += self._ok_fields
        return self._preflight_status, fields, self._ok_body

    def _other_method(self, method: bytes) -> bytes | None:
        """The Allow-Methods value for a method not configured in exactly this spelling."""
        if self._any_method:
            return method if TOKEN_BYTES.fullmatch(method) is not None else None
        if method.upper() in self._method_set:
            # Browsers upper-case only the six standard methods; echo, e.g., "patch" as sent,
            # which they compare case-sensitively (Fetch, "CORS-preflight fetch").
            return self._methods_value + b", " + method
        return None

    def _allow_headers(self, requested: bytes | None) -> bytes | None:
        """The Allow-Headers value, ``b""`` for none, or ``None`` if a header is refused."""
        if self._any_header:
            if requested is None:
                return b""
            tokens = parse_token_list(requested)
            return None if tokens is None else b", ".join(tokens)
        if requested is not None:
            allowed = self._header_set
            for part in requested.split(b","):
                token = part.strip(b" \t").lower()
                if token and token not in allowed:
                    return None
        return self._headers_value

    async def _websocket(
        self, scope: Scope, receive: Receive, send: Send, exact: frozenset[bytes]
    ) -> None:
        origin = get_first(scope.get("headers", ()), _ORIGIN)
        if (
            origin is None
            or origin in exact
            or (self._ws_match is not None and self._ws_match(origin))
        ):
            await self.app(scope, receive, send)
            return
        # A refused handshake is the cross-site hijacking attempt an operator wants to see, and
        # the access log (inside CORS) never sees it: a WARNING, with what the client sent
        # escaped and capped (never its cookies or credentials).
        shown = _shown(origin.decode("latin-1"))
        path = _shown(str(scope.get("path", "")))
        client = _client(scope.get("client"))
        _logger.warning(
            "WebSocket handshake refused: origin %s is not allowed (path %s, client %s)",
            shown,
            path,
            client,
            extra={"origin": shown, "path": path, "client": client},
        )
        # SPEC §3: a 403 before the handshake, else close 1008 without a reason.
        await deny_websocket(scope, send, 403, content_headers(_WS_DENIAL, _TEXT_PLAIN), _WS_DENIAL)


def _shown(text: str) -> str:
    """``text`` quoted and escaped (``repr``), cut at ``_MAX_SHOWN`` characters, for a log line."""
    if len(text) > _MAX_SHOWN:
        return repr(text[:_MAX_SHOWN]) + "..."
    return repr(text)


def _client(client: object) -> str:
    """``host:port`` from the scope's ``client``, or ``-`` when the server gives none."""
    if isinstance(client, (tuple, list)) and len(client) == 2:  # noqa: PLR2004
        return f"{client[0]}:{client[1]}"
    return "-"


def _refusal(failures: list[str], request: tuple[bytes | None, ...]) -> tuple[int, Headers, bytes]:
    """A failed preflight's answer: 400, the reason in plain text, no Access-Control-Allow-*."""
    reason = "Disallowed CORS " + ", ".join(failures)
    _logger.debug(
        "CORS preflight refused (%s): origin=%r method=%r headers=%r private-network=%r",
        ", ".join(failures),
        *request,
    )
    body = reason.encode("ascii")
    fields = content_headers(body, _TEXT_PLAIN)
    fields.append(_PREFLIGHT_VARY)
    return 400, fields, body
