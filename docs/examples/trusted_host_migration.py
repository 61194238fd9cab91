"""From Starlette's TrustedHostMiddleware: the same option names; the import changes."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import (
    TrustedHostMiddleware as StarletteTrustedHostMiddleware,
)

from asgi_middleware.trusted_host import TrustedHostMiddleware

HOSTS = ["example.com", "*.example.com"]

# --8<-- [start:before]
before_app = Starlette(
    middleware=[Middleware(StarletteTrustedHostMiddleware, allowed_hosts=HOSTS)],
)
# --8<-- [end:before]

# --8<-- [start:after]
app = Starlette(
    middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=HOSTS)],
)
# --8<-- [end:after]
