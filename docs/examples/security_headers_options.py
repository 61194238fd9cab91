"""SecurityHeadersMiddleware with most of its options, and a looser policy for the API docs.

HSTS for a preloaded domain, a report-only policy reporting to an endpoint, Permissions-Policy.

Run: `uvicorn security_headers_options:app --app-dir docs/examples`, then
`curl -i localhost:8000/` and `curl -i localhost:8000/docs`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware.security_headers import NONCE, ContentSecurityPolicy, SecurityHeadersMiddleware


async def hello(request: Request) -> PlainTextResponse:
    """A page that lets itself be framed by its own origin."""
    return PlainTextResponse("hello", headers={"X-Frame-Options": "SAMEORIGIN"})


starlette_app = Starlette(routes=[Route("/", hello), Route("/docs", hello)])

# --8<-- [start:options]
policy = ContentSecurityPolicy(
    default_src=["'self'"],
    script_src=["'self'", NONCE],
    object_src=["'none'"],
    report_to="csp",
)

app = SecurityHeadersMiddleware(
    starlette_app,
    # HTTPS responses only; preload is checked against the preload list's rules.
    hsts_max_age=63072000,
    hsts_include_subdomains=True,
    hsts_preload=True,
    # Try the policy out first: browsers report violations without blocking anything.
    csp=policy,
    csp_report_only=True,
    report_to={"csp": "https://reports.example/csp"},
    permissions_policy={"camera": [], "geolocation": ["self"]},
    # The app's own X-Frame-Options wins (the default, "keep"); its Referrer-Policy would not.
    on_conflict={"referrer-policy": "replace"},
    path_overrides={
        # Swagger UI loads its script from a CDN and runs an inline one.
        "/docs": {
            "csp": policy.replace(
                script_src=["'self'", "https://cdn.jsdelivr.net", "'unsafe-inline'"]
            ),
        },
    },
)
# --8<-- [end:options]
