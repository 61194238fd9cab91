"""Moving from the `secure` package and from Django's SecurityMiddleware settings.

Run: `uvicorn security_headers_migration:app --app-dir docs/examples`.
"""

from __future__ import annotations

from secure import Secure
from secure.middleware import SecureASGIMiddleware
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware.security_headers import ContentSecurityPolicy, SecurityHeadersMiddleware


async def hello(request: Request) -> PlainTextResponse:
    """Say hello."""
    return PlainTextResponse("hello")


starlette_app = Starlette(routes=[Route("/", hello)])

# --8<-- [start:secure_before]
secure_headers = Secure.with_default_headers()
before_secure = SecureASGIMiddleware(starlette_app, secure=secure_headers)
# --8<-- [end:secure_before]

# --8<-- [start:secure_after]
# The headers of secure's default (BALANCED) preset; the empty Server header it adds is left out.
from_secure = SecurityHeadersMiddleware(
    starlette_app,
    frame_options="SAMEORIGIN",
    hsts_include_subdomains=True,
    cross_origin_resource_policy="same-origin",
    permissions_policy={"geolocation": [], "microphone": [], "camera": []},
    csp=ContentSecurityPolicy(
        default_src=["'self'"],
        base_uri=["'self'"],
        font_src=["'self'", "https:", "data:"],
        form_action=["'self'"],
        frame_ancestors=["'self'"],
        img_src=["'self'", "data:"],
        object_src=["'none'"],
        script_src=["'self'"],
        script_src_attr=["'none'"],
        style_src=["'self'", "https:", "'unsafe-inline'"],
        upgrade_insecure_requests=True,
    ),
)
# --8<-- [end:secure_after]

# --8<-- [start:django_before]
# Django's settings.py, for django.middleware.security.SecurityMiddleware and
# django.middleware.clickjacking.XFrameOptionsMiddleware:
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# --8<-- [end:django_before]

# --8<-- [start:django_after]
from_django = SecurityHeadersMiddleware(
    starlette_app,
    hsts_max_age=SECURE_HSTS_SECONDS,
    hsts_include_subdomains=SECURE_HSTS_INCLUDE_SUBDOMAINS,
    hsts_preload=SECURE_HSTS_PRELOAD,
    content_type_options=SECURE_CONTENT_TYPE_NOSNIFF,
    referrer_policy=SECURE_REFERRER_POLICY,
    cross_origin_opener_policy=SECURE_CROSS_ORIGIN_OPENER_POLICY,
    frame_options=X_FRAME_OPTIONS,
)
# --8<-- [end:django_after]

app = from_django
