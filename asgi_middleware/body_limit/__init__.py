"""Request body limits: 413 for bodies over a limit, 1009 for WebSocket messages (SPEC §13).

``middleware`` holds the middleware and the error the app's ``receive`` raises; ``_limits``
checks the options and reads ``Content-Length``.
"""

from __future__ import annotations

from asgi_middleware.body_limit.middleware import BodyLimitMiddleware, RequestBodyTooLargeError

__all__ = ["BodyLimitMiddleware", "RequestBodyTooLargeError"]
