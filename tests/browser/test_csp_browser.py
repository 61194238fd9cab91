"""SecurityHeadersMiddleware's nonce'd policy as a real headless Chromium enforces it.

The page is rendered per request with the nonce from ``scope["state"]["csp_nonce"]``, as a
template would. Its first inline script carries the nonce: it records every
``securitypolicyviolation`` event and marks the page. The second has no nonce.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from asgi_middleware._kit.types import Receive, Scope, Send
from asgi_middleware.security_headers import NONCE, ContentSecurityPolicy, SecurityHeadersMiddleware
from tests.support.asgi import answer_lifespan, respond
from tests.support.servers import ServeApp

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>csp</title>
<script nonce="{nonce}">
  window.violations = [];
  document.addEventListener("securitypolicyviolation", (event) => {{
    window.violations.push({{
      directive: event.effectiveDirective,
      blocked: event.blockedURI,
      disposition: event.disposition,
    }});
  }});
  window.allowedRan = true;
</script>
<script>window.strayRan = true;</script>
</head><body></body></html>"""

POLICY = ContentSecurityPolicy(default_src=["'self'"], script_src=[NONCE])
STATE_JS = "() => [window.allowedRan === true, window.strayRan === true, window.violations]"


async def template_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Render PAGE with the request's nonce, as a Jinja template with request.state would."""
    if scope["type"] == "lifespan":
        await answer_lifespan(receive, send)
        return
    html = PAGE.format(nonce=scope["state"]["csp_nonce"])
    await respond(send, html.encode(), content_type=b"text/html; charset=utf-8")


def load(page: Page, live_server: ServeApp, **options: Any) -> list[Any]:
    """Open the page under the middleware; return what ran and the violations recorded."""
    server = live_server(SecurityHeadersMiddleware(template_app, csp=POLICY, **options))
    page.goto(server.url)
    # The violation event is dispatched as a task after the blocked script is skipped.
    page.wait_for_function("() => window.violations && window.violations.length > 0")
    state: list[Any] = page.evaluate(STATE_JS)
    return state


def test_nonced_script_runs_and_stray_script_is_blocked(page: Page, live_server: ServeApp) -> None:
    """The nonce'd inline script runs; the other is blocked, and the browser reports it."""
    allowed, stray, violations = load(page, live_server)
    assert allowed is True
    assert stray is False
    assert violations == [
        {"directive": "script-src-elem", "blocked": "inline", "disposition": "enforce"}
    ]


def test_report_only_runs_both_and_still_reports(page: Page, live_server: ServeApp) -> None:
    """Report-only: both scripts run, and the stray one is still reported as a violation."""
    allowed, stray, violations = load(page, live_server, csp_report_only=True)
    assert allowed is True
    assert stray is True
    assert violations == [
        {"directive": "script-src-elem", "blocked": "inline", "disposition": "report"}
    ]


def test_nonce_differs_per_load(page: Page, live_server: ServeApp) -> None:
    """Two loads of the page see two nonces (the browser's view of the header)."""
    server = live_server(SecurityHeadersMiddleware(template_app, csp=POLICY))
    policies = []
    for _ in range(2):
        response = page.goto(server.url)
        assert response is not None
        policies.append(response.headers["content-security-policy"])
    assert policies[0] != policies[1]
    assert all(policy.startswith("default-src 'self'; script-src 'nonce-") for policy in policies)
