"""CORS scenarios: our CORSMiddleware next to Starlette's, with the same policy."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware

from asgi_middleware import CORSMiddleware
from benchmarks.checks import expect
from benchmarks.common import NO_BODY, OK_APP, OK_BODY, ORIGIN, http_scope
from benchmarks.model import ASGIApp, Scenario, Variant

#: The benchmark's CORS policy, in the option names Starlette and we share.
CORS_POLICY: Mapping[str, Any] = MappingProxyType(
    {
        "allow_origins": (ORIGIN,),
        "allow_methods": ("GET", "POST"),
        "allow_headers": ("x-custom",),
        "allow_credentials": True,
        "expose_headers": ("x-total",),
    }
)


def starlette_cors(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in Starlette's CORSMiddleware with the benchmark's CORS policy."""
    return StarletteCORSMiddleware(app, **CORS_POLICY)


def ours_cors(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in our CORSMiddleware with the benchmark's CORS policy."""
    return CORSMiddleware(app, **CORS_POLICY)


_NO_CORS = ("access-control-allow-origin", "access-control-allow-credentials")

BARE_OK = expect(body=OK_BODY, absent=_NO_CORS)
CORS_SIMPLE = expect(
    body=OK_BODY,
    headers={"access-control-allow-origin": ORIGIN, "access-control-allow-credentials": "true"},
    tokens={"access-control-expose-headers": ("x-total",), "vary": ("origin",)},
)
CORS_PREFLIGHT = expect(
    headers={"access-control-allow-origin": ORIGIN, "access-control-allow-credentials": "true"},
    tokens={
        "access-control-allow-methods": ("POST",),
        "access-control-allow-headers": ("x-custom",),
    },
)
CORS_NO_ORIGIN = expect(body=OK_BODY, absent=_NO_CORS)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="cors-simple",
        description="GET with an allowed Origin: CORS headers added to the app's response",
        app=OK_APP,
        scope=http_scope("GET", "/api/items", ((b"origin", ORIGIN.encode()),)),
        request=NO_BODY,
        bare_check=BARE_OK,
        reference="starlette",
        variants=(
            Variant("starlette", starlette_cors, CORS_SIMPLE),
            Variant("asgi-middleware", ours_cors, CORS_SIMPLE),
        ),
    ),
    Scenario(
        name="cors-preflight",
        description="OPTIONS preflight for POST with x-custom: answered by the middleware",
        app=OK_APP,
        scope=http_scope(
            "OPTIONS",
            "/api/items",
            (
                (b"origin", ORIGIN.encode()),
                (b"access-control-request-method", b"POST"),
                (b"access-control-request-headers", b"x-custom"),
            ),
        ),
        request=NO_BODY,
        bare_check=BARE_OK,
        reference="starlette",
        variants=(
            Variant("starlette", starlette_cors, CORS_PREFLIGHT),
            Variant("asgi-middleware", ours_cors, CORS_PREFLIGHT),
        ),
    ),
    Scenario(
        name="cors-no-origin",
        description="GET without Origin (same-origin or server-to-server): pass-through",
        app=OK_APP,
        scope=http_scope("GET", "/api/items", ()),
        request=NO_BODY,
        bare_check=CORS_NO_ORIGIN,
        reference="starlette",
        variants=(
            Variant("starlette", starlette_cors, CORS_NO_ORIGIN),
            Variant("asgi-middleware", ours_cors, CORS_NO_ORIGIN),
        ),
    ),
)
