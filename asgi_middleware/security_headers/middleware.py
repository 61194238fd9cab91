"""Browser protections as one layer: HSTS, CSP with per-response nonces and the rest (SPEC §12)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Mapping
from secrets import token_urlsafe
from typing import Any

from asgi_middleware._kit.config import option_error
from asgi_middleware._kit.order import check_position
from asgi_middleware._kit.paths import PathTable
from asgi_middleware._kit.types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware.security_headers._config import DEFAULTS, Block, build_blocks
from asgi_middleware.security_headers.csp import ContentSecurityPolicy

__all__ = ["SecurityHeadersMiddleware"]

# SPEC §12: WebSocket scopes pass; the headers protect documents and responses a browser reads.
_HANDLED = frozenset({"http"})
_Blocks = tuple[Block | None, Block | None]


def _override_blocks(options: Mapping[str, Any], option: str, changes: object) -> _Blocks:
    """Check one ``path_overrides`` entry and build its blocks over the layer's own options."""
    if not isinstance(changes, Mapping):
        raise option_error(TypeError, option, "a mapping of options", changes)
    for name in changes:
        if name not in DEFAULTS:
            hint = "; the options are " + ", ".join(DEFAULTS)
            raise option_error(TypeError, option, "keyed by option names", name, hint)
    return build_blocks({**options, **changes}, f"{option}.")


class SecurityHeadersMiddleware:
    """Add the browser's security headers to every HTTP response, secure by default.

    For `http` scopes the headers are added to ``http.response.start``, streamed responses
    included; every other message is forwarded as it came. `websocket`, `lifespan` and other
    scope types pass through untouched: a WebSocket handshake is no document a browser renders.

    By default a response gets ``X-Content-Type-Options: nosniff``,
    ``Referrer-Policy: strict-origin-when-cross-origin``, ``X-Frame-Options: DENY``,
    ``Cross-Origin-Opener-Policy: same-origin`` and, only when the request came over HTTPS
    (``scope["scheme"]``, as set by proxy headers), ``Strict-Transport-Security: max-age=31536000``.
    A header the app set itself is kept (``on_conflict``). Every header can be turned off with
    ``None`` or ``False``. All values are checked and encoded at start-up.

    With a policy that holds [`NONCE`][asgi_middleware.security_headers.NONCE] (or a string with
    ``'nonce-{nonce}'``), each request gets a fresh ``secrets.token_urlsafe(16)`` nonce, in
    ``scope["state"]["csp_nonce"]`` (Starlette's ``request.state.csp_nonce``) for templates and
    in the response's policy. The server's ``state`` dict is written into, not copied.

    Args:
        app: The ASGI application to wrap.
        content_type_options: Send ``X-Content-Type-Options: nosniff``.
        referrer_policy: ``Referrer-Policy`` (a policy, or a comma list of fallbacks).
        frame_options: ``X-Frame-Options``: ``"DENY"`` or ``"SAMEORIGIN"``. Kept beside a
            policy's ``frame-ancestors`` for browsers that know only this one.
        cross_origin_opener_policy: ``Cross-Origin-Opener-Policy``; ``"same-origin"`` cuts
            the link to pop-ups of other origins, such as an OAuth login window (use
            ``"same-origin-allow-popups"`` on the page that opens one).
        hsts: Send ``Strict-Transport-Security`` on HTTPS responses.
        hsts_max_age: Its ``max-age``, in seconds.
        hsts_include_subdomains: Add ``includeSubDomains``.
        hsts_preload: Add ``preload``; needs a max-age of a year or more and
            ``includeSubDomains`` (the preload list's rules, checked here).
        csp: The ``Content-Security-Policy``: a
            [`ContentSecurityPolicy`][asgi_middleware.security_headers.ContentSecurityPolicy]
            or a string.
        csp_report_only: Send it as ``Content-Security-Policy-Report-Only``: reported, not
            enforced.
        report_to: ``Reporting-Endpoints``, endpoint name -> URL, for the policy's
            ``report-to``.
        permissions_policy: ``Permissions-Policy``: a string, or feature -> allowed origins
            (``"self"``, ``"*"`` or origins; ``[]`` turns a feature off).
        cross_origin_embedder_policy: ``Cross-Origin-Embedder-Policy`` (``"require-corp"``
            or ``"credentialless"`` for cross-origin isolation).
        cross_origin_resource_policy: ``Cross-Origin-Resource-Policy``.
        on_conflict: What to do with a header the app set too: ``"keep"`` the app's,
            ``"replace"`` it with ours, or ``"append"`` ours as another field; one mode for all,
            or a mapping of header name to mode (the others keep). No other app header is
            ever removed.
        path_overrides: Anchored path patterns (``"/docs/*"``, as SPEC §2.9) -> a mapping of
            the options above that differ there; the most specific pattern that matches
            applies (an exact one, then the longest prefix), whatever the mapping's order.

    Raises:
        TypeError: An option of the wrong type.
        ValueError: A bad value: an unknown policy, a header value with CR, LF or NUL, a
            ``;`` or ``,`` inside a CSP source, or ``hsts_preload`` without its requirements.

    Example:
        ```python
        policy = ContentSecurityPolicy(default_src=["'self'"], script_src=["'self'", NONCE])
        app = SecurityHeadersMiddleware(app, csp=policy, hsts_include_subdomains=True)
        ```

    Added in version 0.1.0.
    """

    __slots__ = ("_blocks", "_overrides", "app")
    _compose_role = "security_headers"

    def __init__(
        self,
        app: ASGIApp,
        *,
        content_type_options: bool = True,
        referrer_policy: str | None = "strict-origin-when-cross-origin",
        frame_options: str | None = "DENY",
        cross_origin_opener_policy: str | None = "same-origin",
        hsts: bool = True,
        hsts_max_age: int = 31536000,
        hsts_include_subdomains: bool = False,
        hsts_preload: bool = False,
        csp: ContentSecurityPolicy | str | None = None,
        csp_report_only: bool = False,
        report_to: Mapping[str, str] | None = None,
        permissions_policy: str | Mapping[str, Any] | None = None,
        cross_origin_embedder_policy: str | None = None,
        cross_origin_resource_policy: str | None = None,
        on_conflict: str | Mapping[str, str] = "keep",
        path_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.app = app
        check_position(self, app)
        options = {name: value for name, value in locals().items() if name in DEFAULTS}
        self._blocks: _Blocks = build_blocks(options)
        overrides = PathTable(
            "path_overrides",
            {} if path_overrides is None else path_overrides,
            functools.partial(_override_blocks, options),
            values="a mapping of options",
        )
        self._overrides = overrides if overrides else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] not in _HANDLED:
            await self.app(scope, receive, send)
            return
        overrides = self._overrides
        blocks = self._blocks if overrides is None else overrides.lookup(scope, self._blocks)
        block = blocks[1] if scope.get("scheme") == "https" else blocks[0]
        if block is None:
            await self.app(scope, receive, send)
            return
        fields = block.fields
        if block.nonce_name is not None:
            # A nonce is only worth something when an attacker cannot predict it: a new one per
            # response, 128 bits from the OS's CSPRNG (CSP3 §7.2).
            nonce = token_urlsafe(16)
            # SPEC §2.3: the server's per-request state dict, shared with the app, written into.
            state = scope.get("state")
            if state is None:
                state = {}
                scope = {**scope, "state": state}
            state["csp_nonce"] = nonce
            fields = (*fields, (block.nonce_name, nonce.encode("ascii").join(block.nonce_parts)))
        merge = block.merge

        # A plain function returning send's awaitable, as in RequestIDMiddleware: no coroutine
        # per message. Only the start carries headers; bodies, trailers and the rest pass as is.
        def send_wrapper(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                message = {**message, "headers": merge(message.get("headers", ()), fields)}
            return send(message)

        await self.app(scope, receive, send_wrapper)
