"""Proxy-header scenarios: our ProxyHeadersMiddleware next to uvicorn's, with the same trust.

One trusted hop: the peer is the proxy on 127.0.0.1, which sent ``X-Forwarded-For`` with the
client's address and ``X-Forwarded-Proto: https``. The scenario's app echoes the client and the
scheme it saw in a response header, so the checks prove each row applied both.
"""

from __future__ import annotations

from typing import Any

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware as UvicornProxyHeaders

from asgi_middleware.proxy_headers import ProxyHeadersMiddleware
from benchmarks.checks import expect
from benchmarks.common import NO_BODY, OK_BODY, http_scope
from benchmarks.model import ASGIApp, Scenario, Scope, Variant

PROXY = "127.0.0.1"
CLIENT = "203.0.113.7"
#: What the app answers in ``x-seen``: ``<client host> <client port> <scheme>``.
_SEEN = "x-seen"
_LENGTH = str(len(OK_BODY)).encode("ascii")


async def _echo_app(scope: Scope, receive: Any, send: Any) -> None:
    """Answer 200 with the client and scheme this request's scope shows, in ``x-seen``."""
    await receive()
    host, port = scope["client"]
    seen = f"{host} {port} {scope['scheme']}".encode("latin-1")
    headers = [(b"content-type", b"application/json"), (b"content-length", _LENGTH)]
    headers.append((_SEEN.encode("ascii"), seen))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": OK_BODY})


def _proxied_scope() -> Scope:
    """A request through one proxy on 127.0.0.1 that terminated TLS."""
    headers = ((b"x-forwarded-for", CLIENT.encode("ascii")), (b"x-forwarded-proto", b"https"))
    scope = http_scope("GET", "/api/items", headers)
    return {**scope, "scheme": "http", "client": (PROXY, 51234)}


def uvicorn_proxy_headers(app: ASGIApp) -> ASGIApp:
    """The uvicorn middleware, trusting the one proxy (its ``--forwarded-allow-ips``)."""
    return UvicornProxyHeaders(app, trusted_hosts=[PROXY])


def ours(app: ASGIApp) -> ASGIApp:
    """Our middleware, trusting the same proxy."""
    return ProxyHeadersMiddleware(app, trusted_proxies=[PROXY])


FORWARDED = expect(body=OK_BODY, headers={_SEEN: f"{CLIENT} 0 https"})

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="proxy-headers",
        description="GET through one trusted proxy: X-Forwarded-For and X-Forwarded-Proto applied",
        app=_echo_app,
        scope=_proxied_scope(),
        request=NO_BODY,
        bare_check=expect(body=OK_BODY, headers={_SEEN: f"{PROXY} 51234 http"}),
        reference="uvicorn",
        variants=(
            Variant("uvicorn", uvicorn_proxy_headers, FORWARDED, "trusted_hosts=[127.0.0.1]"),
            Variant("asgi-middleware", ours, FORWARDED, "trusted_proxies=[127.0.0.1]"),
        ),
        # uvicorn assigns the client and scheme into the scope it is given.
        fresh_scope=True,
    ),
)
