"""Trusted hosts: refuse requests for hosts the service does not serve (SPEC §11).

``middleware`` holds the middleware; the ``allowed_hosts`` patterns and the reading of the
``Host`` field are the kit's (``_kit.origins``), shared with the HTTPS redirect.
"""

from __future__ import annotations

from asgi_middleware.trusted_host.middleware import TrustedHostMiddleware

__all__ = ["TrustedHostMiddleware"]
