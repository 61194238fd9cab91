"""Proxy headers: the client, scheme, host and prefix as trusted proxies saw them (SPEC §11).

``middleware`` holds the middleware; ``_trust`` parses the trusted proxies and ``_forwarded``
the ``Forwarded`` and ``X-Forwarded-*`` headers.
"""

from __future__ import annotations

from asgi_middleware.proxy_headers.middleware import ProxyHeadersMiddleware

__all__ = ["ProxyHeadersMiddleware"]
