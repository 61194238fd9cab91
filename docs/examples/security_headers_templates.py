"""A nonce'd Content-Security-Policy, and a Jinja2 template that puts the nonce on its scripts.

Run: `uvicorn security_headers_templates:app --app-dir docs/examples`, then
`curl -i localhost:8000/`: the `nonce` of the page's script is the one in the policy.
"""

from __future__ import annotations

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from asgi_middleware import Layer, compose
from asgi_middleware.security_headers import NONCE, ContentSecurityPolicy, SecurityHeadersMiddleware

# --8<-- [start:policy]
policy = ContentSecurityPolicy(
    default_src=["'self'"],
    script_src=["'self'", NONCE],  # a fresh 'nonce-...' in every response
    style_src=["'self'", NONCE],
    object_src=["'none'"],
    base_uri=["'none'"],
    frame_ancestors=["'none'"],
)
# --8<-- [end:policy]

# --8<-- [start:template]
PAGE = """<!doctype html>
<title>Hello</title>
<script nonce="{{ request.state.csp_nonce }}">document.title = "Hello, nonce";</script>
"""
# --8<-- [end:template]

# A real app uses Jinja2Templates(directory="templates"); here the page is inline, in one file.
loader = jinja2.DictLoader({"page.html": PAGE})
templates = Jinja2Templates(env=jinja2.Environment(loader=loader, autoescape=True))

# --8<-- [start:endpoint]
fastapi_app = FastAPI()


@fastapi_app.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    """Render the page; the template reads request.state.csp_nonce itself."""
    return templates.TemplateResponse(request, "page.html")


app = compose(fastapi_app, Layer(SecurityHeadersMiddleware, csp=policy))
# --8<-- [end:endpoint]
