"""Route templates: what Starlette's and FastAPI's routers leave in the scope, made whole."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Host, Mount, Route, Router, WebSocketRoute
from starlette.websockets import WebSocket

from asgi_middleware import ASGIApp, Receive, Send
from asgi_middleware.metrics import _route
from asgi_middleware.metrics._route import RouteTemplates, _pattern, routing_view
from tests.support.asgi import http_scope, run, websocket_scope

pytestmark = pytest.mark.anyio


async def text(request: Request) -> PlainTextResponse:
    """Any endpoint."""
    return PlainTextResponse("ok")


async def chat(websocket: WebSocket) -> None:
    """Any WebSocket endpoint."""
    await websocket.accept()
    await websocket.close()


def routed_view(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` to keep the routing keys of the scope it routed, in ``views``."""

    async def wrapper(scope: Any, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        finally:
            views.append(routing_view(scope))

    views: list[dict[str, Any]] = []
    wrapper.views = views  # type: ignore[attr-defined]
    return wrapper


async def template_of(app: ASGIApp, path: str, method: str = "GET", **extra: Any) -> str | None:
    """Route ``path`` through ``app`` and return the template the resolver finds."""
    probe = routed_view(app)
    scope = http_scope(method, path, **extra)
    await run(probe, scope)
    [view] = probe.views  # type: ignore[attr-defined]
    return RouteTemplates().template(view, method, scope)


def starlette_app() -> Starlette:
    """Routes, a static and a parametrised mount, nesting, a host and an opaque mount."""
    inner = Router([Route("/users/{user_id:int}", text), Route("/about", text)])
    return Starlette(
        routes=[
            Route("/items/{item_id}", text, methods=["GET"]),
            Mount("/api", routes=[Mount("/v1", app=inner)]),
            Mount("/tenants/{tenant}", routes=[Route("/page/{n:int}", text)]),
            Mount("/static", app=PlainTextResponse("file")),
            Host("admin.example", app=Router([Route("/panel", text)])),
        ]
    )


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/items/7", "/items/{item_id}"),
        ("/api/v1/users/3", "/api/v1/users/{user_id:int}"),
        ("/api/v1/about", "/api/v1/about"),
        ("/tenants/acme/page/2", "/tenants/{tenant}/page/{n:int}"),
        ("/static/logo.png", "/static"),
        ("/nowhere", None),
        ("/api/v1/nothing", None),
        ("/api/nothing", None),
    ],
)
async def test_starlette_templates_include_mount_templates(path: str, template: str | None) -> None:
    """A route's template includes its mounts' templates, never their values; misses are None."""
    assert await template_of(starlette_app(), path) == template


async def test_starlette_host_route() -> None:
    """A route under a Host gets the route's own path (a host is not a path)."""
    app = starlette_app()
    assert await template_of(app, "/panel", headers=[("host", "admin.example")]) == "/panel"


async def test_method_not_allowed_is_unmatched() -> None:
    """A partial match (405: the path matched, the method did not) is no route."""
    assert await template_of(starlette_app(), "/items/7", "POST") is None


async def test_websocket_route_has_no_method_to_check() -> None:
    """A WebSocket route's template is found with no method."""
    app = Starlette(routes=[Mount("/ws", routes=[WebSocketRoute("/{room}", chat)])])
    probe = routed_view(app)
    scope = websocket_scope("/ws/lobby")
    await run(probe, scope)
    assert RouteTemplates().template(probe.views[0], None, scope) == "/ws/{room}"  # type: ignore[attr-defined]


def fastapi_app() -> FastAPI:
    """Routers included with prefixes, nested, one router twice, a mount, a plain route."""
    items = APIRouter(prefix="/items")

    @items.get("/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    v1 = APIRouter(prefix="/v1")
    v1.include_router(items)
    shared = APIRouter()

    @shared.get("/status")
    async def status() -> dict[str, str]:
        return {"status": "ok"}

    shared.add_route("/plain/{name}", text)
    shared.mount("/files", Starlette(routes=[Route("/{name}", text)]))
    sub = FastAPI()

    @sub.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    app = FastAPI()
    app.include_router(v1, prefix="/api")
    app.include_router(shared, prefix="/a")
    app.include_router(shared, prefix="/b")
    app.mount("/sub", sub)

    @app.get("/top/{x}")
    async def top(x: str) -> dict[str, str]:
        return {"x": x}

    return app


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/api/v1/items/3", "/api/v1/items/{item_id}"),
        ("/api/v1/items/x", "/api/v1/items/{item_id}"),  # 422: matched, then invalid
        ("/a/status", "/a/status"),
        ("/b/status", "/b/status"),
        # FastAPI 0.116+ removes every trace of a plain Starlette route in an included router
        # once it has answered: a case for route= (see the docs).
        ("/b/plain/n", None),
        ("/a/files/f", "/a/files/{name}"),
        ("/b/files/f", "/b/files/{name}"),
        ("/sub/things/9", "/sub/things/{thing_id}"),
        ("/top/1", "/top/{x}"),
        ("/api/v1/nothing", None),
    ],
)
async def test_fastapi_templates_include_router_prefixes(path: str, template: str | None) -> None:
    """FastAPI: prefixes of included routers and mounts, a router included twice, misses."""
    assert await template_of(fastapi_app(), path) == template


async def test_fastapi_wrong_method_is_unmatched() -> None:
    """A FastAPI route asked with another method (405) is no route."""
    assert await template_of(fastapi_app(), "/top/1", "DELETE") is None


class Node:
    """A route-like object with the given attributes."""

    def __init__(self, **attributes: Any) -> None:
        self.__dict__.update(attributes)


def test_templates_are_kept_per_route_object(monkeypatch: pytest.MonkeyPatch) -> None:
    """A route's template is found once and kept; past the limit it is found each time."""
    route = Node(path="/r")
    router = Node(routes=[Node(path="/mount", routes=[route])])
    walks: list[object] = []
    real = _route._templates

    def counting(*args: Any) -> Any:
        walks.append(args)
        return real(*args)

    monkeypatch.setattr(_route, "_templates", counting)
    templates = RouteTemplates()
    view = {"route": route, "router": router}
    assert templates.template(view, "GET", http_scope()) == "/mount/r"
    assert templates.template(view, "GET", http_scope()) == "/mount/r"
    assert len(walks) == 1
    monkeypatch.setattr(_route, "_CACHE_LIMIT", 1)
    other = Node(path="/o")
    for _ in range(2):
        assert templates.template({"route": other}, "GET", http_scope()) == "/o"
    assert len(walks) == 3


def test_route_outside_the_tree_keeps_the_mounts_values() -> None:
    """A route the walk cannot find (an opaque mount) gets the mounts' part of the root path."""
    route = Node(path="/x/{id}")
    view = {
        "route": route,
        "router": Node(routes=[]),
        "root_path": "/base/m/7",
        "app_root_path": "/base",
    }
    assert RouteTemplates().template(view, "GET", http_scope()) == "/m/7/x/{id}"
    assert RouteTemplates().template({"route": route}, "GET", http_scope()) == "/x/{id}"


def test_ambiguous_route_without_a_matching_prefix_falls_back() -> None:
    """Under several prefixes, none matching the path: the route's own path."""
    route = Node(path="/r")
    router = Node(routes=[Node(path="/a", routes=[route]), Node(path="/b", routes=[route])])
    view = {"route": route, "router": router}
    assert RouteTemplates().template(view, "GET", http_scope(path="/b/r")) == "/b/r"
    assert RouteTemplates().template(view, "GET", http_scope(path="/c/r")) == "/r"


def test_walk_survives_odd_and_broken_route_lists() -> None:
    """Non-str paths, a raising route list and a mount of itself never break the request."""

    class Raising:
        @property
        def routes(self) -> list[object]:
            raise RuntimeError("broken")

    route = Node(path="/r")
    odd = Node(routes=[Node(path=None, routes=[route]), route])
    assert RouteTemplates().template({"route": route, "router": odd}, "GET", http_scope()) == "/r"
    broken = Node(routes=[Raising()])
    assert (
        RouteTemplates().template({"route": route, "router": broken}, "GET", http_scope()) == "/r"
    )
    loop = Node(path="/l")
    loop.__dict__["routes"] = [loop]
    assert (
        RouteTemplates().template(
            {"route": route, "router": Node(routes=[loop])}, "GET", http_scope()
        )
        == "/r"
    )


def test_fastapi_contexts_with_odd_paths() -> None:
    """An included router's context without a str path contributes its prefix only."""
    route = Node(path="/r")
    context = Node(original_route=route, starlette_route=None, path=None)
    router = Node(routes=[Node(effective_route_contexts=lambda: [context])])
    assert RouteTemplates().template({"route": route, "router": router}, "GET", http_scope()) == ""


@pytest.mark.parametrize(
    "view",
    [
        {},
        {"route": Node(name="no path")},
        {"route": None, "fastapi": "not a mapping"},
        {"route": None, "fastapi": {"effective_route_context": Node(starlette_route=None)}},
        {
            "route": Node(name="no path"),
            "fastapi": {"effective_route_context": Node(starlette_route=Node(path="/p"))},
        },
        {"path_template": 3},
    ],
)
def test_views_without_a_route(view: dict[str, Any]) -> None:
    """Nothing usable in the view: no template."""
    assert RouteTemplates().template(view, "GET", http_scope()) is None


def test_litestar_template_is_taken_as_it_is() -> None:
    """Litestar's ``path_template`` is the full template."""
    assert (
        RouteTemplates().template({"path_template": "/a/{b:int}"}, "GET", http_scope())
        == "/a/{b:int}"
    )


@pytest.mark.parametrize(
    ("template", "path", "matches"),
    [
        ("/items/{id}", "/items/7", True),
        ("/items/{id}", "/items/7/more", True),  # a mount's path matches what is below it
        ("/items/{id}", "/items/", False),
        ("/n/{n:int}", "/n/12", True),
        ("/n/{n:int}", "/n/x", False),
        ("/f/{f:float}", "/f/1.5", True),
        ("/p/{p:path}", "/p/a/b/c", True),
        ("/u/{u:uuid}", "/u/123e4567-e89b-12d3-a456-426614174000", True),
        ("/u/{u:uuid}", "/u/nope", False),
        ("/c/{c:custom}", "/c/anything", True),
        ("/a.b", "/aXb", False),
    ],
)
def test_template_patterns(template: str, path: str, matches: bool) -> None:
    """A template's pattern matches the paths its route (or mount) would."""
    assert (_pattern(template).fullmatch(path) is not None) is matches


segment = st.text(st.characters(codec="ascii", exclude_characters="/{}"), min_size=1, max_size=8)


@given(st.lists(st.tuples(segment, st.booleans()), min_size=1, max_size=5), st.data())
def test_pattern_matches_every_filled_template(
    parts: list[tuple[str, bool]], data: st.DataObject
) -> None:
    """Filling a template's parameters with any segment gives a path its pattern matches."""
    template = "".join(
        f"/{{p{i}}}" if is_param else f"/{text}" for i, (text, is_param) in enumerate(parts)
    )
    path = "".join(f"/{data.draw(segment)}" if is_param else f"/{text}" for text, is_param in parts)
    assert _pattern(template).fullmatch(path)
