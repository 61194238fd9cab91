"""SecurityHeadersMiddleware with Starlette and FastAPI apps, through httpx in process."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import pytest
from fastapi import FastAPI
from fastapi import Request as FastAPIRequest
from fastapi.responses import HTMLResponse as FastAPIHTMLResponse
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route

from asgi_middleware._kit.types import ASGIApp
from asgi_middleware.security_headers import NONCE, ContentSecurityPolicy, SecurityHeadersMiddleware
from tests.support.asgi import asgi_client

pytestmark = pytest.mark.anyio

POLICY = ContentSecurityPolicy(default_src=["'self'"], script_src=["'self'", NONCE])
SCRIPT = re.compile(r'<script nonce="([A-Za-z0-9_-]{22})">')


def nonce_in_header(value: str) -> str:
    """The nonce of the policy's script-src."""
    match = re.fullmatch(
        r"default-src 'self'; script-src 'self' 'nonce-([A-Za-z0-9_-]{22})'", value
    )
    assert match is not None, value
    return match.group(1)


async def template(request: Request) -> HTMLResponse:
    """A page as a template renders it: the nonce from request.state on its inline script."""
    return HTMLResponse(f'<script nonce="{request.state.csp_nonce}">go()</script>')


async def stream(request: Request) -> StreamingResponse:
    """A response streamed in three chunks."""

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in (b"one ", b"two ", b"three"):
            yield chunk

    return StreamingResponse(chunks(), media_type="text/plain")


async def framed(request: Request) -> PlainTextResponse:
    """An endpoint that sets its own X-Frame-Options and a cookie."""
    return PlainTextResponse(
        "ok", headers={"X-Frame-Options": "SAMEORIGIN", "Set-Cookie": "a=1; Secure"}
    )


ROUTES = [Route("/", template), Route("/stream", stream), Route("/framed", framed)]


def starlette_wrapped() -> ASGIApp:
    """The Starlette app, wrapped from outside (so its error responses get the headers too)."""
    return SecurityHeadersMiddleware(Starlette(routes=ROUTES), csp=POLICY)


def starlette_listed() -> ASGIApp:
    """The Starlette app with the middleware in its own list."""
    return Starlette(routes=ROUTES, middleware=[Middleware(SecurityHeadersMiddleware, csp=POLICY)])


def fastapi_app() -> ASGIApp:
    """A FastAPI app with the middleware added through add_middleware."""
    app = FastAPI()

    @app.get("/", response_class=FastAPIHTMLResponse)
    async def page(request: FastAPIRequest) -> str:
        return f'<script nonce="{request.state.csp_nonce}">go()</script>'

    app.add_api_route("/stream", stream)
    app.add_api_route("/framed", framed)
    app.add_middleware(SecurityHeadersMiddleware, csp=POLICY)
    return app


APPS = pytest.mark.parametrize(
    "make", [starlette_wrapped, starlette_listed, fastapi_app], ids=["wrapped", "listed", "fastapi"]
)


@APPS
async def test_template_nonce_matches_the_header(make: Callable[[], ASGIApp]) -> None:
    """The nonce the page's script carries is the one in the policy, and new per request."""
    async with asgi_client(make(), base_url="https://testserver") as client:
        first = await client.get("/")
        second = await client.get("/")

    nonces = []
    for response in (first, second):
        match = SCRIPT.search(response.text)
        assert match is not None
        assert nonce_in_header(response.headers["content-security-policy"]) == match.group(1)
        nonces.append(match.group(1))
    assert nonces[0] != nonces[1]
    assert first.headers["strict-transport-security"] == "max-age=31536000"
    assert first.headers["x-content-type-options"] == "nosniff"


@APPS
async def test_streamed_response_gets_the_headers(make: Callable[[], ASGIApp]) -> None:
    """A StreamingResponse gets every header, and its body arrives whole."""
    async with asgi_client(make()) as client:
        response = await client.get("/stream")

    assert response.text == "one two three"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "strict-transport-security" not in response.headers  # plain http


@APPS
async def test_app_header_kept_and_nothing_else_removed(make: Callable[[], ASGIApp]) -> None:
    """The endpoint's X-Frame-Options wins over the default; its cookie is untouched."""
    async with asgi_client(make()) as client:
        response = await client.get("/framed")

    assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert response.headers["set-cookie"] == "a=1; Secure"
    assert response.headers["cross-origin-opener-policy"] == "same-origin"


async def test_error_pages_get_the_headers_when_wrapped_outside() -> None:
    """Wrapping the framework app from outside: its 404 and 500 pages carry the headers too."""

    async def boom(request: Request) -> PlainTextResponse:
        raise RuntimeError

    inner = Starlette(routes=[Route("/boom", boom)])
    app = SecurityHeadersMiddleware(inner)
    async with asgi_client(app, raise_app_exceptions=False) as client:
        missing = await client.get("/nowhere")
        failed = await client.get("/boom")

    assert missing.status_code == 404
    assert failed.status_code == 500
    assert missing.headers["x-frame-options"] == failed.headers["x-frame-options"] == "DENY"
