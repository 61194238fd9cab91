"""Edge-host scenarios: our TrustedHostMiddleware and HTTPSRedirectMiddleware next to Starlette's.

``trusted-host`` times an allowed ``Host`` (the request's ``api.example``) against Starlette's
``TrustedHostMiddleware`` with the same ``allowed_hosts``. ``https-redirect-passthrough`` times a
request that is already HTTPS, which both middleware pass on after a scheme check.
"""

from __future__ import annotations

from starlette.middleware.httpsredirect import (
    HTTPSRedirectMiddleware as StarletteHTTPSRedirectMiddleware,
)
from starlette.middleware.trustedhost import (
    TrustedHostMiddleware as StarletteTrustedHostMiddleware,
)

from asgi_middleware.https_redirect import HTTPSRedirectMiddleware
from asgi_middleware.trusted_host import TrustedHostMiddleware
from benchmarks.checks import expect
from benchmarks.common import NO_BODY, OK_APP, OK_BODY, http_scope
from benchmarks.model import ASGIApp, Scenario, Variant

#: The benchmark's hosts, in the syntax Starlette and we share; the request's Host is the first.
ALLOWED_HOSTS = ("api.example", "*.api.example")


def starlette_trusted_host(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in Starlette's TrustedHostMiddleware with the benchmark's hosts."""
    return StarletteTrustedHostMiddleware(app, allowed_hosts=list(ALLOWED_HOSTS))


def ours_trusted_host(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in our TrustedHostMiddleware with the benchmark's hosts."""
    return TrustedHostMiddleware(app, allowed_hosts=ALLOWED_HOSTS)


def starlette_https_redirect(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in Starlette's HTTPSRedirectMiddleware (it has no options)."""
    return StarletteHTTPSRedirectMiddleware(app)


def ours_https_redirect(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in our HTTPSRedirectMiddleware with its defaults."""
    return HTTPSRedirectMiddleware(app)


#: The app's own answer, unchanged: an allowed host or an HTTPS request reaches it.
PASSED = expect(body=OK_BODY, absent=("location",))

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="trusted-host",
        description="GET with an allowed Host: checked, then passed to the app",
        app=OK_APP,
        scope=http_scope("GET", "/api/items", ()),
        request=NO_BODY,
        bare_check=PASSED,
        reference="starlette",
        variants=(
            Variant("starlette", starlette_trusted_host, PASSED),
            Variant("asgi-middleware", ours_trusted_host, PASSED),
        ),
    ),
    Scenario(
        name="https-redirect-passthrough",
        description="GET already over HTTPS (scheme https): passed to the app",
        app=OK_APP,
        scope=http_scope("GET", "/api/items", ()),
        request=NO_BODY,
        bare_check=PASSED,
        reference="starlette",
        variants=(
            Variant("starlette", starlette_https_redirect, PASSED),
            Variant("asgi-middleware", ours_https_redirect, PASSED),
        ),
    ),
)
