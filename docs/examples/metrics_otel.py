"""OpenTelemetry metrics: the SDK's MeterProvider, set up by the application.

Run it with `uvicorn metrics_otel:app --app-dir docs/examples`.
"""

from __future__ import annotations

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware.metrics import MetricsMiddleware, OpenTelemetryExporter


async def hello(request: Request) -> PlainTextResponse:
    """Greet someone."""
    return PlainTextResponse(f"hello {request.path_params['name']}")


# --8<-- [start:setup]
# In production: PeriodicExportingMetricReader(OTLPMetricExporter()) from
# opentelemetry-exporter-otlp; the in-memory reader keeps this sample self-contained.
reader = InMemoryMetricReader()
provider = MeterProvider(
    resource=Resource.create({"service.name": "greeter"}), metric_readers=[reader]
)
# Or set it globally, once per process, with opentelemetry.metrics.set_meter_provider, and
# leave meter_provider out.

app = MetricsMiddleware(
    Starlette(routes=[Route("/hello/{name}", hello)]),
    exporters=OpenTelemetryExporter(meter_provider=provider),
)
# --8<-- [end:setup]
