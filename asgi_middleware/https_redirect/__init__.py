"""HTTPS redirect: send plain-HTTP and ``ws:`` requests to HTTPS (SPEC §11).

``middleware`` holds the middleware; the ``Host`` field, the ``allowed_hosts`` patterns and the
``Location`` it builds are the kit's (``_kit.origins``), shared with the trusted-host check.
"""

from __future__ import annotations

from asgi_middleware.https_redirect.middleware import HTTPSRedirectMiddleware

__all__ = ["HTTPSRedirectMiddleware"]
