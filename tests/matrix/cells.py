"""The matrix's cells (server x framework) and the checks that apply to each.

Every server runs the Starlette app; every framework runs under uvicorn; a few pairs known to be
fragile run too. A cell lists the checks that do not apply to it (WebSockets where the framework
has none) and the checks expected to fail, each with its reason: an upstream issue and the
documented workaround (docs/matrix.md), or a bug of ours for the lead to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["CELLS", "CHECKS", "FRAMEWORKS", "SERVERS", "WEBSOCKET_CHECKS", "Cell", "cell_by_id"]

#: Servers, by the id used in cell ids, with the name shown in the table.
SERVERS: Mapping[str, str] = {
    "uvicorn": "uvicorn",
    "hypercorn": "hypercorn (HTTP/1.1)",
    "hypercorn-h2c": "hypercorn (HTTP/2, h2c)",
    "hypercorn-trio": "hypercorn (trio worker)",
    "granian": "granian",
    "daphne": "daphne",
}

#: Frameworks, by the id used in cell ids (the app module), with the name shown in the table.
FRAMEWORKS: Mapping[str, str] = {
    "raw_asgi": "raw ASGI",
    "starlette_wrapped": "Starlette (wrapped)",
    "starlette_list": "Starlette (`middleware=[...]`)",
    "fastapi_wrapped": "FastAPI (wrapped)",
    "fastapi_add": "FastAPI (`add_middleware`)",
    "litestar_wrapped": "Litestar (wrapped)",
    "litestar_list": "Litestar (`middleware=[...]`)",
    "django_app": "Django",
    "channels_app": "Django Channels",
    "quart_app": "Quart",
}

#: Every check, in the order of the table's footnotes.
CHECKS = (
    "cors_preflight_allowed",
    "cors_preflight_refused",
    "unauthorized",
    "authorized",
    "compression_gzip",
    "compression_br",
    "compression_zstd",
    "request_id_echo",
    "request_id_generated",
    "access_log",
    "streaming",
    "security_headers",
    "rate_limit_fields",
    "metrics",
    "https_redirect",
    "trusted_host",
    "body_limit",
    "websocket_foreign_origin",
    "websocket_unauthenticated",
    "websocket_authenticated",
    "websocket_request_id",
    "websocket_access_log",
)
WEBSOCKET_CHECKS = frozenset(check for check in CHECKS if check.startswith("websocket_"))


@dataclass(frozen=True, slots=True)
class Cell:
    """One server running one framework's app, with what the checks expect of it."""

    server: str
    framework: str
    #: The route template the metrics layer records for ``/items/{item_id}``.
    item_route: str = "/items/{item_id}"
    #: Whether the server sends the WebSocket denial response (the refusal's own status).
    websocket_denial: bool = True
    #: Checks that do not apply (not run, shown as such).
    not_applicable: frozenset[str] = frozenset()
    #: Checks expected to fail, with the reason (``xfail(strict=True)``).
    xfail: Mapping[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """``server-framework``, the pytest id."""
        return f"{self.server}-{self.framework}"

    @property
    def http2(self) -> bool:
        """Whether the client speaks HTTP/2 with prior knowledge (h2c)."""
        return self.server == "hypercorn-h2c"

    def applies(self, check: str) -> bool:
        """Whether ``check`` runs in this cell."""
        return check not in self.not_applicable


_NO_WEBSOCKETS = WEBSOCKET_CHECKS

#: Upstream: hypercorn's close code for a client's clean close.
HYPERCORN_CLOSE_CODE = (
    "upstream hypercorn bug: a client's clean close (1000) reaches the app as 1006 "
    "(https://github.com/pgjones/hypercorn/issues/127), and the access log records the code the "
    "server reports. Workaround: read close_code 1006 from hypercorn as a normal close in "
    "dashboards and alerts, or serve with uvicorn"
)
#: Upstream: daphne drops the headers of ``websocket.accept``.
DAPHNE_ACCEPT_HEADERS = (
    "upstream daphne bug: the headers of websocket.accept are ignored "
    "(https://github.com/django/daphne/issues/326), so the handshake response has no "
    "X-Request-ID. Workaround: have the client send its own X-Request-ID (the access-log event "
    "and the request's log context carry it), or serve with uvicorn or hypercorn"
)
#: Upstream: granian drops the headers of ``websocket.accept`` too.
GRANIAN_ACCEPT_HEADERS = (
    "upstream granian bug: granian 2.8 declares ASGI spec_version 2.3 but reads only the "
    "subprotocol of websocket.accept (https://github.com/emmett-framework/granian/blob/"
    "69d68931e6a0374f78eb128fd58b577fdfe4c27c/src/asgi/io.rs, ASGIWebsocketProtocol::accept), so "
    "the handshake response has no X-Request-ID (no tracker issue yet, see docs/matrix.md). "
    "Workaround: have the client send its own X-Request-ID, or serve with uvicorn or hypercorn"
)
_HYPERCORN = {"websocket_access_log": HYPERCORN_CLOSE_CODE}
_DAPHNE = {"websocket_request_id": DAPHNE_ACCEPT_HEADERS}

CELLS: tuple[Cell, ...] = (
    # Every server with the Starlette app (wrapped).
    Cell("uvicorn", "starlette_wrapped"),
    Cell("hypercorn", "starlette_wrapped", xfail=_HYPERCORN),
    Cell("hypercorn-h2c", "starlette_wrapped", xfail=_HYPERCORN),
    Cell("hypercorn-trio", "starlette_wrapped", xfail=_HYPERCORN),
    Cell("granian", "starlette_wrapped", xfail={"websocket_request_id": GRANIAN_ACCEPT_HEADERS}),
    Cell("daphne", "starlette_wrapped", websocket_denial=False, xfail=_DAPHNE),
    # Every framework under uvicorn.
    Cell("uvicorn", "raw_asgi"),
    Cell("uvicorn", "starlette_list"),
    Cell("uvicorn", "fastapi_wrapped"),
    Cell("uvicorn", "fastapi_add"),
    Cell("uvicorn", "litestar_wrapped"),
    Cell("uvicorn", "litestar_list"),
    Cell("uvicorn", "django_app", item_route="/items/<str:item_id>", not_applicable=_NO_WEBSOCKETS),
    Cell("uvicorn", "channels_app", item_route="/items/<str:item_id>"),
    Cell("uvicorn", "quart_app", item_route="/items/<item_id>"),
    # The pairs known to be fragile.
    Cell(
        "daphne", "quart_app", item_route="/items/<item_id>", websocket_denial=False, xfail=_DAPHNE
    ),
    Cell(
        "daphne",
        "channels_app",
        item_route="/items/<str:item_id>",
        websocket_denial=False,
        xfail=_DAPHNE,
    ),
    Cell(
        "hypercorn", "django_app", item_route="/items/<str:item_id>", not_applicable=_NO_WEBSOCKETS
    ),
    Cell("granian", "django_app", item_route="/items/<str:item_id>", not_applicable=_NO_WEBSOCKETS),
    Cell("hypercorn", "litestar_wrapped", xfail=_HYPERCORN),
)

_BY_ID = {cell.id: cell for cell in CELLS}


def cell_by_id(cell_id: str) -> Cell:
    """The declared cell with this id."""
    return _BY_ID[cell_id]
