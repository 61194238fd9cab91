"""Django: its ASGI application wrapped with `compose`, and `request.user` from the scope.

In a project this is `asgi.py`; here the settings are configured in the file. Try
`uvicorn guide_django:app --app-dir docs/examples --lifespan off`, then
`curl -i http://127.0.0.1:8000/whoami -H "Authorization: Bearer change-me"`.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import django  # type: ignore[import-untyped]  # no stubs; mypy reads django.* as Any
from django.conf import settings  # type: ignore[import-untyped]

if not settings.configured:
    settings.configure(
        ROOT_URLCONF=ModuleType("urls"),  # its urlpatterns are set below
        ALLOWED_HOSTS=["*"],
        SECRET_KEY="docs-example-only",  # noqa: S106 - a sample's settings, never deployed
    )
    django.setup()

from django.core.handlers.asgi import ASGIHandler, ASGIRequest  # type: ignore[import-untyped]
from django.http import HttpRequest, JsonResponse  # type: ignore[import-untyped]
from django.urls import clear_url_caches, path  # type: ignore[import-untyped]

from asgi_middleware import (
    AuthenticationMiddleware,
    BearerTokenBackend,
    CORSMiddleware,
    Layer,
    RequestIDMiddleware,
    compose,
)

ORIGIN = "https://app.example"
TOKEN = "change-me"  # noqa: S105 - a sample's token; read yours from the environment


# --8<-- [start:user]
class ScopeUserRequest(ASGIRequest):  # type: ignore[misc]
    """Django's ASGI request, with ``request.user`` and ``request.auth`` from the scope.

    Django builds its request from the scope but never reads ``scope["user"]``; this
    copies what the authentication layer found. (With ``django.contrib.auth``'s
    middleware in ``MIDDLEWARE``, that middleware would replace it by the session user.)
    """

    def __init__(self, scope: dict[str, Any], body_file: Any) -> None:
        super().__init__(scope, body_file)
        self.user = scope.get("user")
        self.auth = scope.get("auth")


class ScopeUserHandler(ASGIHandler):  # type: ignore[misc]
    """Django's ASGI handler, building :class:`ScopeUserRequest` objects."""

    request_class = ScopeUserRequest


# --8<-- [end:user]


def whoami(request: HttpRequest) -> JsonResponse:
    """The user the authentication layer found, as ``request.user``."""
    return JsonResponse({"user": request.user.display_name})


def boom(request: HttpRequest) -> JsonResponse:
    """Fail with an exception: Django answers it with its own 500, inside the layers."""
    msg = "something went wrong"
    raise RuntimeError(msg)


settings.ROOT_URLCONF.urlpatterns = [path("whoami", whoami), path("boom", boom)]
clear_url_caches()  # the resolver reads urlpatterns once

# --8<-- [start:asgi]
# asgi.py: get_asgi_application() gives the plain handler; this one adds request.user.
django_asgi = ScopeUserHandler()

application = compose(
    django_asgi,
    Layer(
        CORSMiddleware,
        allow_origins=[ORIGIN],
        allow_headers=["Authorization"],
        expose_headers=["X-Request-ID"],
    ),
    Layer(RequestIDMiddleware),
    Layer(
        AuthenticationMiddleware,
        backend=BearerTokenBackend(tokens=[TOKEN]),
        exclude_paths=["/boom"],
    ),
)
# --8<-- [end:asgi]
app = application
