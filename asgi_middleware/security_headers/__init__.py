"""Security headers: HSTS, CSP with per-response nonces, the other browser protections (SPEC §12).

``middleware`` holds the middleware and ``csp`` the typed policy builder; ``_config`` turns the
options into encoded header blocks and ``_values`` checks the values.
"""

from __future__ import annotations

from asgi_middleware.security_headers.csp import NONCE, ContentSecurityPolicy, Nonce
from asgi_middleware.security_headers.middleware import SecurityHeadersMiddleware

__all__ = ["NONCE", "ContentSecurityPolicy", "Nonce", "SecurityHeadersMiddleware"]
