"""CORSMiddleware in a real headless Chromium across two real origins (uvicorn, two ports).

The page is served from one origin and fetches from the API on the other; what the page's script
can read is what the browser's CORS checks let through.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from asgi_middleware import ASGIApp, CORSMiddleware, Layer, Receive, Scope, Send, compose
from tests.support.asgi import answer_lifespan
from tests.support.servers import ServeTwoOrigins, TwoOrigins, browser_fetch

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


async def api(scope: Scope, _receive: Receive, send: Send) -> None:
    """Answer ``cookie=<the request's Cookie>``, with ``x-total`` and ``x-secret`` headers.

    It also claims ``Access-Control-Allow-Origin: *`` itself, as careless apps do: without the
    middleware every origin could read it, so only the middleware makes a fetch fail.
    """
    cookie = dict(scope["headers"]).get(b"cookie", b"")
    headers = [
        (b"content-type", b"text/plain"),
        (b"x-total", b"2"),
        (b"x-secret", b"s"),
        (b"access-control-allow-origin", b"*"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"cookie=" + cookie})


class Deferred:
    """An API app built once the page origin is known (the two servers start in turn)."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None
        self.methods: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve lifespan here; record the HTTP method and hand the request to ``app``."""
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        self.methods.append(scope["method"])
        assert self.app is not None
        await self.app(scope, receive, send)


def serve(
    two_origins: ServeTwoOrigins, build: Callable[[str], ASGIApp]
) -> tuple[TwoOrigins, Deferred]:
    """Start both origins; the API is ``build(page_origin)`` behind a method recorder."""
    deferred = Deferred()
    origins = two_origins(deferred)
    deferred.app = build(origins.page.origin)
    return origins, deferred


def cors_api(**options: Any) -> Callable[[str], ASGIApp]:
    """Build ``CORSMiddleware(api, **options)``; ``"PAGE"`` in allow_origins is the page."""

    def build(page_origin: str) -> ASGIApp:
        origins = [page_origin if o == "PAGE" else o for o in options.pop("allow_origins", [])]
        return CORSMiddleware(api, allow_origins=origins, **options)

    return build


def test_allowed_origin_reads_response(page: Page, two_origins: ServeTwoOrigins) -> None:
    """A page on an allowed origin reads the API's body with a plain GET, no preflight."""
    origins, api = serve(two_origins, cors_api(allow_origins=["PAGE"]))
    page.goto(origins.page.url)

    result = browser_fetch(page, origins.api.url + "/data")

    assert (result["ok"], result["body"]) == (True, "cookie=")
    assert api.methods == ["GET"]


def test_disallowed_origin_fetch_rejects(page: Page, two_origins: ServeTwoOrigins) -> None:
    """A page on an origin not in the list cannot read the response: fetch rejects."""
    origins, api = serve(two_origins, cors_api(allow_origins=["https://app.example"]))
    page.goto(origins.page.url)

    result = browser_fetch(page, origins.api.url + "/data")

    assert result == {"error": "TypeError: Failed to fetch"}
    assert api.methods == ["GET"]


def test_custom_header_preflight_succeeds(page: Page, two_origins: ServeTwoOrigins) -> None:
    """A custom request header makes Chromium send a preflight; it passes and the PUT follows."""
    build = cors_api(allow_origins=["PAGE"], allow_methods=["PUT"], allow_headers=["X-Custom"])
    origins, api = serve(two_origins, build)
    page.goto(origins.page.url)

    result = browser_fetch(
        page, origins.api.url + "/data", {"method": "PUT", "headers": {"X-Custom": "1"}}
    )

    assert (result["ok"], result["status"]) == (True, 200)
    assert api.methods == ["OPTIONS", "PUT"]


def test_refused_preflight_blocks_request(page: Page, two_origins: ServeTwoOrigins) -> None:
    """A header the policy does not allow fails the preflight; the PUT is never sent."""
    origins, api = serve(two_origins, cors_api(allow_origins=["PAGE"], allow_methods=["PUT"]))
    page.goto(origins.page.url)

    result = browser_fetch(
        page, origins.api.url + "/data", {"method": "PUT", "headers": {"X-Custom": "1"}}
    )

    assert result == {"error": "TypeError: Failed to fetch"}
    assert api.methods == ["OPTIONS"]


def test_exposed_header_readable_unexposed_not(page: Page, two_origins: ServeTwoOrigins) -> None:
    """The page reads x-total, which is exposed, and not x-secret, which is not."""
    origins, _ = serve(two_origins, cors_api(allow_origins=["PAGE"], expose_headers=["X-Total"]))
    page.goto(origins.page.url)

    result = browser_fetch(page, origins.api.url + "/data")

    assert result["headers"].get("x-total") == "2"
    assert "x-secret" not in result["headers"]


@pytest.mark.parametrize(("credentials", "readable"), [(True, True), (False, False)])
def test_credentialed_fetch_with_cookies(
    page: Page, two_origins: ServeTwoOrigins, credentials: bool, readable: bool
) -> None:
    """A fetch with credentials sends the cookie; the page reads the answer only if allowed."""
    origins, api = serve(
        two_origins, cors_api(allow_origins=["PAGE"], allow_credentials=credentials)
    )
    page.goto(origins.page.url)
    # Cookies are per host, not per port: the page's cookie goes to the API origin too.
    page.evaluate("document.cookie = 'session=s3cret; path=/'")

    result = browser_fetch(page, origins.api.url + "/data", {"credentials": "include"})

    if readable:
        assert (result["ok"], result["body"]) == (True, "cookie=session=s3cret")
    else:
        assert result == {"error": "TypeError: Failed to fetch"}
    assert api.methods == ["GET"]


async def _fail(request: Request) -> Response:
    msg = "boom"
    raise RuntimeError(msg)


async def _ok(request: Request) -> Response:
    return PlainTextResponse("fine")


def test_wrapped_starlette_500_readable(
    page: Page, two_origins: ServeTwoOrigins, caplog: pytest.LogCaptureFixture
) -> None:
    """A 500 from a Starlette app wrapped whole by compose carries CORS: the page reads it."""

    def build(page_origin: str) -> ASGIApp:
        starlette = Starlette(routes=[Route("/ok", _ok), Route("/boom", _fail)])
        return compose(starlette, Layer(CORSMiddleware, allow_origins=[page_origin]))

    origins, _ = serve(two_origins, build)
    page.goto(origins.page.url)

    with caplog.at_level(logging.CRITICAL, logger="uvicorn.error"):  # the expected traceback
        result = browser_fetch(page, origins.api.url + "/boom")

    assert (result["ok"], result["status"], result["body"]) == (False, 500, "Internal Server Error")
