"""From Starlette's HTTPSRedirectMiddleware: the import changes, the options are new."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.httpsredirect import (
    HTTPSRedirectMiddleware as StarletteHTTPSRedirectMiddleware,
)

from asgi_middleware.https_redirect import HTTPSRedirectMiddleware

# --8<-- [start:before]
before_app = Starlette(middleware=[Middleware(StarletteHTTPSRedirectMiddleware)])
# --8<-- [end:before]

# --8<-- [start:after]
app = Starlette(middleware=[Middleware(HTTPSRedirectMiddleware)])
# --8<-- [end:after]
