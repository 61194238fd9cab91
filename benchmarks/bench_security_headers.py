"""Security-header scenarios: our SecurityHeadersMiddleware next to the ``secure`` package's.

* ``security-headers``: an HTTPS request; every row sends the same five headers (nosniff,
  Referrer-Policy, X-Frame-Options: DENY, COOP same-origin, HSTS one year). ``secure``'s
  ``SecureASGIMiddleware`` is the reference.
* ``security-headers-nonce``: the same plus a Content-Security-Policy with a nonce'd
  ``script-src``. Ours makes a fresh nonce per response and puts it in ``scope["state"]``;
  ``secure`` can only send a nonce fixed when the policy is built (the same for every response,
  so it protects nothing), so its row does less work than ours. The harness's scope has no
  ``state``, so ours also pays for a new scope dict per request (uvicorn would give one).
"""

from __future__ import annotations

import re

from secure import Secure
from secure.headers import ContentSecurityPolicy as SecureCSP
from secure.headers import (
    CrossOriginOpenerPolicy,
    ReferrerPolicy,
    StrictTransportSecurity,
    XContentTypeOptions,
    XFrameOptions,
)
from secure.middleware import SecureASGIMiddleware

from asgi_middleware.security_headers import NONCE, ContentSecurityPolicy, SecurityHeadersMiddleware
from benchmarks.checks import parse_response
from benchmarks.common import NO_BODY, OK_APP, OK_BODY, http_scope
from benchmarks.model import ASGIApp, Check, Message, Scenario, Variant

EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "strict-transport-security": "max-age=31536000",
}
_POLICY_HEAD = "default-src 'self'; script-src 'self' "
_POLICY_TAIL = "; object-src 'none'; base-uri 'none'"
#: The one nonce ``secure`` sends, in every response.
STATIC_NONCE = "bm9uY2UtZml4ZWQtb25jZQ"
_FRESH = re.compile(
    re.escape(_POLICY_HEAD) + r"'nonce-([A-Za-z0-9_-]{22})'" + re.escape(_POLICY_TAIL)
)


def _secure_headers(*, nonce: bool) -> Secure:
    csp = None
    if nonce:
        csp = (
            SecureCSP()
            .default_src("'self'")
            .script_src("'self'", SecureCSP.nonce(STATIC_NONCE))
            .object_src("'none'")
            .base_uri("'none'")
        )
    return Secure(
        xcto=XContentTypeOptions(),
        referrer=ReferrerPolicy().strict_origin_when_cross_origin(),
        xfo=XFrameOptions().deny(),
        coop=CrossOriginOpenerPolicy().same_origin(),
        hsts=StrictTransportSecurity().max_age(31536000),
        csp=csp,
    )


def secure_static(app: ASGIApp) -> ASGIApp:
    """``secure``'s ASGI middleware with the five headers."""
    return SecureASGIMiddleware(app, secure=_secure_headers(nonce=False))


def secure_nonce(app: ASGIApp) -> ASGIApp:
    """``secure``'s ASGI middleware with the five headers and a policy with a fixed nonce."""
    return SecureASGIMiddleware(app, secure=_secure_headers(nonce=True))


def ours_static(app: ASGIApp) -> ASGIApp:
    """Our middleware with its defaults: the same five headers over HTTPS."""
    return SecurityHeadersMiddleware(app)


POLICY = ContentSecurityPolicy(
    default_src=["'self'"], script_src=["'self'", NONCE], object_src=["'none'"], base_uri=["'none'"]
)


def ours_nonce(app: ASGIApp) -> ASGIApp:
    """Our middleware with its defaults and the policy, a fresh nonce per response."""
    return SecurityHeadersMiddleware(app, csp=POLICY)


def _expect(*, policy: str | None) -> Check:
    """Check the body and each header once: the five, and the policy (``"fresh"`` or fixed)."""
    seen: set[str] = set()

    def check(messages: list[Message]) -> None:
        response = parse_response(messages)
        if response.status != 200 or response.body != OK_BODY:
            msg = f"status {response.status} or body changed"
            raise AssertionError(msg)
        for name, value in EXPECTED.items():
            if response.get_all(name) != [value]:
                msg = f"expected one {name}: {value}, got {response.get_all(name)!r}"
                raise AssertionError(msg)
        found = response.get_all("content-security-policy")
        if policy is None:
            if found:
                msg = f"unexpected content-security-policy {found!r}"
                raise AssertionError(msg)
            return
        if len(found) != 1:
            msg = f"expected one content-security-policy, got {found!r}"
            raise AssertionError(msg)
        if policy == "fresh":
            match = _FRESH.fullmatch(found[0])
            if match is None or match.group(1) in seen:
                msg = f"expected a policy with a fresh nonce, got {found[0]!r}"
                raise AssertionError(msg)
            seen.add(match.group(1))
        elif found[0] != policy:
            msg = f"expected {policy!r}, got {found[0]!r}"
            raise AssertionError(msg)

    return check


def _bare_check(messages: list[Message]) -> None:
    response = parse_response(messages)
    if response.body != OK_BODY or any(response.get_all(name) for name in EXPECTED):
        msg = "the bare app must answer its body without security headers"
        raise AssertionError(msg)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="security-headers",
        description="HTTPS GET: five security headers added to the response",
        app=OK_APP,
        scope=http_scope("GET", "/", ()),
        request=NO_BODY,
        bare_check=_bare_check,
        reference="secure",
        variants=(
            Variant("secure", secure_static, _expect(policy=None)),
            Variant("asgi-middleware", ours_static, _expect(policy=None)),
        ),
    ),
    Scenario(
        name="security-headers-nonce",
        description="HTTPS GET: the five headers and a CSP with a script nonce",
        app=OK_APP,
        scope=http_scope("GET", "/", ()),
        request=NO_BODY,
        bare_check=_bare_check,
        reference="secure",
        variants=(
            Variant(
                "secure",
                secure_nonce,
                _expect(policy=f"{_POLICY_HEAD}'nonce-{STATIC_NONCE}'{_POLICY_TAIL}"),
                "one fixed nonce for every response",
            ),
            Variant(
                "asgi-middleware", ours_nonce, _expect(policy="fresh"), "fresh nonce per response"
            ),
        ),
    ),
)
