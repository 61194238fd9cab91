"""The security-headers docs samples (docs/examples/security_headers_*.py) do what the page says."""

from __future__ import annotations

import re

import pytest

from tests.support.asgi import asgi_client
from tests.support.samples import app_of, load

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("sibling_imports")]

HTTPS = "https://testserver"


def directives(policy: str) -> set[str]:
    """A policy's directives, as a set of their texts."""
    return {directive.strip() for directive in policy.split(";")}


async def test_template_gets_the_nonce_of_the_policy() -> None:
    """security_headers_templates: the script's nonce is the policy's, new per response."""
    async with asgi_client(app_of(load("security_headers_templates")), base_url=HTTPS) as client:
        first = await client.get("/")
        second = await client.get("/")

    nonces = []
    for response in (first, second):
        script = re.search(r'<script nonce="([A-Za-z0-9_-]{22})">', response.text)
        assert script is not None
        policy = response.headers["content-security-policy"]
        nonce = f"'nonce-{script.group(1)}'"
        assert policy == (
            f"default-src 'self'; script-src 'self' {nonce}; style-src 'self' {nonce}; "
            "object-src 'none'; frame-ancestors 'none'; base-uri 'none'"
        )
        nonces.append(nonce)
    assert nonces[0] != nonces[1]
    assert first.headers["strict-transport-security"] == "max-age=31536000"


async def test_options_sample() -> None:
    """security_headers_options: report-only policy, endpoints, kept and replaced headers."""
    async with asgi_client(app_of(load("security_headers_options")), base_url=HTTPS) as client:
        home = await client.get("/")
        docs = await client.get("/docs")

    headers = home.headers
    assert "content-security-policy" not in headers
    assert re.fullmatch(
        r"default-src 'self'; script-src 'self' 'nonce-[A-Za-z0-9_-]{22}'; object-src 'none'; "
        r"report-to csp",
        headers["content-security-policy-report-only"],
    )
    assert headers["reporting-endpoints"] == 'csp="https://reports.example/csp"'
    assert headers["strict-transport-security"] == "max-age=63072000; includeSubDomains; preload"
    assert headers["permissions-policy"] == "camera=(), geolocation=(self)"
    assert headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert docs.headers["content-security-policy-report-only"] == (
        "default-src 'self'; script-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'; "
        "object-src 'none'; report-to csp"
    )


async def test_secure_migration_sends_the_same_headers() -> None:
    """security_headers_migration: ours sends what secure's default preset sends (but Server)."""
    module = load("security_headers_migration")
    async with asgi_client(app_of(module, "before_secure"), base_url=HTTPS) as client:
        before = await client.get("/")
    async with asgi_client(app_of(module, "from_secure"), base_url=HTTPS) as client:
        after = await client.get("/")

    ignored = {"content-length", "content-type", "server", "content-security-policy"}
    expected = {k: v for k, v in before.headers.items() if k not in ignored}
    assert {k: v for k, v in after.headers.items() if k not in ignored} == expected
    assert len(expected) == 7
    # The same directives; ours are written fallbacks first.
    csp = "content-security-policy"
    assert directives(after.headers[csp]) == directives(before.headers[csp])


async def test_django_migration_sends_what_django_would() -> None:
    """security_headers_migration: the headers Django's two middleware send for those settings."""
    async with asgi_client(app_of(load("security_headers_migration")), base_url=HTTPS) as client:
        response = await client.get("/")

    assert {
        k: v for k, v in response.headers.items() if k not in {"content-length", "content-type"}
    } == {
        "strict-transport-security": "max-age=31536000; includeSubDomains; preload",
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
        "cross-origin-opener-policy": "same-origin",
        "x-frame-options": "DENY",
    }
