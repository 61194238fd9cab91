"""Django: the route of each request from Django's URL resolver, through a route function.

Django's router leaves nothing in the ASGI scope, so MetricsMiddleware's ``route`` function asks
Django's resolver for the pattern the path matches. Run it with
`uvicorn metrics_django:app --app-dir docs/examples`.
"""

from __future__ import annotations

from types import ModuleType

import django  # type: ignore[import-untyped]  # no stubs; mypy reads django.* as Any
from django.conf import settings  # type: ignore[import-untyped]

from asgi_middleware import Scope

if not settings.configured:
    settings.configure(
        ROOT_URLCONF=ModuleType("urls"),  # its urlpatterns are set below
        ALLOWED_HOSTS=["*"],
        SECRET_KEY="docs-example-only",  # noqa: S106 - a sample's settings, never deployed
    )
    django.setup()

from django.core.asgi import get_asgi_application  # type: ignore[import-untyped]
from django.http import HttpRequest, JsonResponse  # type: ignore[import-untyped]
from django.urls import Resolver404, path, resolve  # type: ignore[import-untyped]
from prometheus_client import CollectorRegistry

from asgi_middleware.metrics import MetricsMiddleware, PrometheusExporter


def article(request: HttpRequest, year: int, slug: str) -> JsonResponse:
    """One article."""
    return JsonResponse({"year": year, "slug": slug})


settings.ROOT_URLCONF.urlpatterns = [path("articles/<int:year>/<slug:slug>/", article)]


# --8<-- [start:recipe]
def django_route(scope: Scope) -> str | None:
    """MetricsMiddleware's route function: the URL pattern Django matches, None for a 404."""
    root = scope.get("root_path", "")
    try:
        match = resolve(scope["path"][len(root) :])
    except Resolver404:
        return None
    route: str = match.route  # "articles/<int:year>/<slug:slug>/": the pattern, not the path
    return "/" + route


registry = CollectorRegistry()
app = MetricsMiddleware(
    get_asgi_application(), exporters=PrometheusExporter(registry=registry), route=django_route
)
# --8<-- [end:recipe]
