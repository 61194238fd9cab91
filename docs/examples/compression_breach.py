"""Keeping secrets out of compressed responses (BREACH).

Run it with `uvicorn compression_breach:app --app-dir docs/examples`.
"""

from __future__ import annotations

import secrets

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from asgi_middleware import CompressionMiddleware


# --8<-- [start:app]
async def account_form(request: Request) -> HTMLResponse:
    """A page that reflects user input next to a CSRF token: never compress it."""
    token = secrets.token_urlsafe(32)
    search = request.query_params.get("q", "")
    html = (
        f"<form method=post><input type=hidden name=csrf value={token}>"
        f"<p>Results for {search!r}</p></form>"
    )
    # no-transform: intermediaries and this middleware leave the bytes as they are.
    return HTMLResponse(html * 20, headers={"Cache-Control": "private, no-transform"})


async def docs_page(request: Request) -> HTMLResponse:
    """Public, secret-free content: compress freely."""
    return HTMLResponse("<p>Public documentation.</p>" * 100)


app = CompressionMiddleware(
    Starlette(routes=[Route("/account", account_form), Route("/docs", docs_page)])
)
# --8<-- [end:app]
