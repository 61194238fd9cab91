"""Django's ASGI handler (settings configured here), wrapped with ``compose``.

Django has no lifespan (servers that try it log a warning and go on) and no WebSockets without
Channels (see :mod:`tests.matrix.apps.channels_app`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import ModuleType

import anyio
import django  # type: ignore[import-untyped]
from django.conf import settings  # type: ignore[import-untyped]

from asgi_middleware import Scope, compose
from tests.matrix.stack import (
    FIRST_CHUNK,
    ITEM_BODY,
    LAST_CHUNK,
    STREAM_PAUSE,
    configure_logging,
    layers,
    with_metrics_endpoint,
)

if not settings.configured:
    settings.configure(
        ROOT_URLCONF=ModuleType("matrix_urls"),  # its urlpatterns are set below
        ALLOWED_HOSTS=["*"],  # the stack's TrustedHostMiddleware checks the host
        SECRET_KEY="matrix-tests-only",  # noqa: S106 - never deployed
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
    )
    django.setup()

from django.core.asgi import get_asgi_application  # type: ignore[import-untyped]
from django.http import (  # type: ignore[import-untyped]
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.urls import Resolver404, path, resolve  # type: ignore[import-untyped]

configure_logging()


async def item(request: HttpRequest, item_id: str) -> HttpResponse:
    """One item, compressible."""
    return HttpResponse(ITEM_BODY, content_type="text/plain")


async def stream(request: HttpRequest) -> StreamingHttpResponse:
    """Two chunks, a pause apart (an async iterator: Django streams it under ASGI)."""

    async def chunks() -> AsyncIterator[bytes]:
        yield FIRST_CHUNK
        await anyio.sleep(STREAM_PAUSE)
        yield LAST_CHUNK

    return StreamingHttpResponse(chunks(), content_type="text/plain")


async def private(request: HttpRequest) -> JsonResponse:
    """Only with the token; Django does not set ``request.user`` from ``scope["user"]``."""
    return JsonResponse({"user": request.scope["user"].display_name})


settings.ROOT_URLCONF.urlpatterns = [
    path("items/<str:item_id>", item),
    path("stream", stream),
    path("private", private),
]


def django_route(scope: Scope) -> str | None:
    """The URL pattern Django's resolver matches, None for a 404 (docs/metrics.md)."""
    try:
        match = resolve(scope["path"][len(scope.get("root_path", "")) :])
    except Resolver404:
        return None
    return "/" + str(match.route)


django_asgi = get_asgi_application()
app = compose(with_metrics_endpoint(django_asgi), *layers(route=django_route))
