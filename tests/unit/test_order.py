"""The order check every layer runs when it is built, however the stack was put together."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from fastapi import FastAPI
from litestar import Litestar, get
from litestar.middleware import DefineMiddleware
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware._kit import order
from asgi_middleware._kit.order import ORDER_RULES, check_position
from asgi_middleware.access_log import AccessLogMiddleware
from asgi_middleware.auth import APIKeyBackend, AuthenticationMiddleware
from asgi_middleware.compose import Layer, compose
from asgi_middleware.compression import CompressionMiddleware
from asgi_middleware.cors import CORSMiddleware
from asgi_middleware.request_id import RequestIDMiddleware
from tests.support.asgi import http_scope, run

pytestmark = pytest.mark.anyio

ORIGINS = ["https://app.example"]
BACKEND = APIKeyBackend(keys=["secret"])
CORS_AUTH = "its 401/403 answers and OPTIONS preflights would miss CORS headers"


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts as a new process would: no pair warned about yet."""
    monkeypatch.setattr(order, "_WARNED", set())


async def endpoint(scope: Any, receive: Any, send: Any) -> None:
    """The innermost app of the raw stacks."""
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def cors(app: Any) -> CORSMiddleware:
    """CORS for one origin around ``app``."""
    return CORSMiddleware(app, allow_origins=ORIGINS)


def auth(app: Any) -> AuthenticationMiddleware:
    """API-key authentication around ``app``."""
    return AuthenticationMiddleware(app, backend=BACKEND)


def homepage(request: Any) -> PlainTextResponse:
    """The Starlette route."""
    return PlainTextResponse("home")


def test_raw_nesting_in_the_wrong_order_warns_once_with_compose_as_the_fix() -> None:
    """Auth built around CORS: one warning naming both classes, the reason and compose."""
    inner = cors(endpoint)

    with pytest.warns(UserWarning, match="built around") as caught:
        auth(inner)
    auth(cors(endpoint))  # Once per process: this one is silent.

    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith(
        "AuthenticationMiddleware is built around CORSMiddleware, so the auth layer runs "
        "outside the cors layer: " + CORS_AUTH
    )
    assert message.endswith(
        "Wrap with compose(app, CORSMiddleware, AuthenticationMiddleware, ...): the first "
        "layer is outermost."
    )
    assert caught[0].filename == __file__


def test_every_broken_pair_warns_separately() -> None:
    """Two rules broken by one layer: two warnings, each once."""
    inner = RequestIDMiddleware(cors(endpoint))

    with pytest.warns(UserWarning, match="built around") as caught:
        AccessLogMiddleware(AuthenticationMiddleware(inner, backend=BACKEND))

    texts = sorted(str(warning.message) for warning in caught)
    assert len(texts) == 2
    assert texts[0].startswith("AccessLogMiddleware is built around RequestIDMiddleware")
    assert texts[1].startswith("AuthenticationMiddleware is built around CORSMiddleware")


def test_right_orders_are_silent() -> None:
    """The documented order by hand raises nothing, even with warnings as errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RequestIDMiddleware(AccessLogMiddleware(cors(auth(endpoint))))


def test_an_error_filter_keeps_failing_every_build() -> None:
    """Where warnings are errors, the pair is not recorded: the next build fails too."""
    for _ in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(UserWarning, match="built around CORSMiddleware"):
                auth(cors(endpoint))


class Loop:
    """An object whose ``app`` is itself, or another ``Loop``."""

    def __init__(self) -> None:
        self.app: object = self


class Broken:
    """An ``app`` property that fails: the walk stops there."""

    @property
    def app(self) -> object:
        raise RuntimeError


class Wrapper:
    """A third-party wrapper with an ``app`` attribute."""

    def __init__(self, app: object) -> None:
        self.app = app


def test_the_walk_stops_at_cycles_and_failing_attributes() -> None:
    """A cycle ends the walk; so does a property that raises."""
    first, second = Loop(), Loop()
    first.app, second.app = second, first

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        auth(Loop())
        auth(first)
        auth(Broken())
    with pytest.warns(UserWarning, match="built around CORSMiddleware"):
        auth(Wrapper(Wrapper(cors(Broken()))))


def test_the_walk_is_bounded() -> None:
    """CORS 64 wrappers down is beyond the walk: silent; 63 wrappers down is found."""
    deep: object = cors(endpoint)
    for _ in range(63):
        deep = Wrapper(deep)

    with pytest.warns(UserWarning, match="built around CORSMiddleware"):
        auth(deep)

    order._WARNED.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        auth(Wrapper(deep))


def test_a_layer_without_a_role_breaks_no_rule() -> None:
    """Only roles take part: an object without one is checked against nothing."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_position(Wrapper(None), cors(endpoint))


def test_every_rule_is_checked_at_construction() -> None:
    """Each rule's outer role found below a layer of its inner role warns, with its reason."""
    for rule in ORDER_RULES:
        outer = type("Outer", (), {"_compose_role": rule.outer, "app": None})()
        inner = type("Inner", (), {"_compose_role": rule.inner})()
        with pytest.warns(UserWarning, match="Inner is built around Outer") as caught:
            check_position(inner, outer)
        assert any(rule.reason in str(warning.message) for warning in caught), rule


async def test_starlette_add_middleware_in_reading_order_warns_on_the_first_request() -> None:
    """CORS added first is innermost under auth; the fix names add_middleware's order."""
    app = Starlette(routes=[Route("/", homepage)])
    app.add_middleware(CORSMiddleware, allow_origins=ORIGINS)
    app.add_middleware(AuthenticationMiddleware, backend=BACKEND)

    with pytest.warns(UserWarning, match="built around") as caught:
        await run(app, http_scope())
    await run(app, http_scope())

    assert len(caught) == 1
    message = str(caught[0].message)
    assert "AuthenticationMiddleware is built around CORSMiddleware" in message
    assert message.endswith(
        "With app.add_middleware(), the LAST call is outermost: add AuthenticationMiddleware "
        "before CORSMiddleware. With Starlette(middleware=[...]) or FastAPI(middleware=[...]), "
        "the FIRST item is outermost: list CORSMiddleware before AuthenticationMiddleware."
    )


async def test_starlette_middleware_list_in_the_wrong_order_warns() -> None:
    """Auth listed first is outermost: the warning says the first item is outermost."""
    app = Starlette(
        routes=[Route("/", homepage)],
        middleware=[
            Middleware(AuthenticationMiddleware, backend=BACKEND),
            Middleware(CORSMiddleware, allow_origins=ORIGINS),
        ],
    )

    with pytest.warns(UserWarning, match=r"the FIRST item is outermost: list CORSMiddleware"):
        await run(app, http_scope())


async def test_starlette_right_orders_are_silent() -> None:
    """add_middleware innermost first, and a list outermost first: no warning."""
    added = Starlette(routes=[Route("/", homepage)])
    added.add_middleware(AuthenticationMiddleware, backend=BACKEND)
    added.add_middleware(CORSMiddleware, allow_origins=ORIGINS)
    listed = Starlette(
        routes=[Route("/", homepage)],
        middleware=[
            Middleware(CORSMiddleware, allow_origins=ORIGINS),
            Middleware(AuthenticationMiddleware, backend=BACKEND),
        ],
    )

    await run(added, http_scope())
    await run(listed, http_scope())


async def test_fastapi_add_middleware_in_reading_order_warns() -> None:
    """FastAPI builds Starlette's stack: the same fix."""
    app = FastAPI()
    app.add_middleware(CORSMiddleware, allow_origins=ORIGINS)
    app.add_middleware(AuthenticationMiddleware, backend=BACKEND)

    with pytest.warns(UserWarning, match=r"With app\.add_middleware\(\), the LAST call"):
        await run(app, http_scope())


@get("/", sync_to_thread=False)
def litestar_home() -> str:
    """The Litestar route."""
    return "home"


def test_litestar_list_in_the_wrong_order_warns_once() -> None:
    """Litestar builds a stack per route; the warning names its list's order, once."""
    with pytest.warns(UserWarning, match="built around") as caught:
        Litestar(
            route_handlers=[litestar_home],
            middleware=[
                DefineMiddleware(AuthenticationMiddleware, backend=BACKEND),
                DefineMiddleware(CORSMiddleware, allow_origins=ORIGINS),
            ],
        )

    assert len(caught) == 1
    assert str(caught[0].message).endswith(
        "In Litestar's middleware list the first item is outermost: list CORSMiddleware before "
        "AuthenticationMiddleware."
    )


def test_litestar_right_order_is_silent() -> None:
    """CORS listed first: nothing."""
    Litestar(
        route_handlers=[litestar_home],
        middleware=[
            DefineMiddleware(CORSMiddleware, allow_origins=ORIGINS),
            DefineMiddleware(AuthenticationMiddleware, backend=BACKEND),
        ],
    )


def test_compose_warns_once_per_wrong_pair() -> None:
    """The compose() positional warning, and no second one from the construction check."""
    with pytest.warns(UserWarning, match="compose") as caught:
        compose(
            endpoint,
            Layer(AuthenticationMiddleware, backend=BACKEND),
            Layer(CORSMiddleware, allow_origins=ORIGINS),
        )

    assert [str(warning.message)[:10] for warning in caught] == ["compose():"]


def test_compose_around_a_stack_built_elsewhere_is_still_checked() -> None:
    """A pair compose does not see whole (CORS already built inside) warns at construction."""
    with pytest.warns(UserWarning, match="built around") as caught:
        compose(cors(endpoint), Layer(AuthenticationMiddleware, backend=BACKEND))

    assert len(caught) == 1
    assert str(caught[0].message).startswith("AuthenticationMiddleware is built around")
    assert order._COMPOSED.get() == frozenset()


ACROSS = "is in the app's own middleware list, which runs inside every layer wrapped around"


@pytest.mark.parametrize("framework", [Starlette, FastAPI])
def test_a_layer_around_the_app_object_sees_the_apps_own_list(framework: Any) -> None:
    """Auth wrapped around the app object, CORS in its add_middleware list: warned, with the fix."""
    app = framework()
    app.add_middleware(CORSMiddleware, allow_origins=ORIGINS)

    with pytest.warns(UserWarning, match="built around") as caught:
        compose(app, Layer(AuthenticationMiddleware, backend=BACKEND))

    message = str(caught[0].message)
    assert message.startswith("AuthenticationMiddleware is built around CORSMiddleware")
    assert message.endswith(
        f"CORSMiddleware {ACROSS} the app object: keep the two on one side, both wrapped around "
        "the app with compose(app, CORSMiddleware, AuthenticationMiddleware, ...) or both in the "
        "app's list."
    )


def test_the_apps_own_list_in_the_right_order_across_the_boundary_is_silent() -> None:
    """CORS around the app object and auth in its list is the recommended order: nothing."""
    app = Starlette(middleware=[Middleware(AuthenticationMiddleware, backend=BACKEND)])

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compose(app, Layer(CORSMiddleware, allow_origins=ORIGINS))


def test_list_entries_that_are_not_ours_are_skipped() -> None:
    """Another library's middleware, or an entry that is not Middleware(cls, ...): nothing."""
    app = Starlette()
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["*"])
    app.user_middleware.append(object())  # type: ignore[arg-type]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        auth(app)


def test_layers_behind_channels_routers_are_found() -> None:
    """Branches of ProtocolTypeRouter and URLRouter, and a Channels middleware's ``inner``."""
    from channels.middleware import BaseMiddleware  # type: ignore[import-untyped]  # noqa: PLC0415
    from channels.routing import (  # type: ignore[import-untyped]  # noqa: PLC0415
        ProtocolTypeRouter,
        URLRouter,
    )
    from django.urls import path  # type: ignore[import-untyped]  # noqa: PLC0415

    by_protocol = ProtocolTypeRouter({"http": cors(endpoint)})
    by_path = ProtocolTypeRouter({"websocket": URLRouter([path("ws/", cors(endpoint))])})
    channels_middleware = BaseMiddleware(cors(endpoint))

    for router in (by_protocol, by_path, channels_middleware):
        order._WARNED.clear()
        with pytest.warns(UserWarning, match="built around CORSMiddleware"):
            auth(router)


def test_a_layer_around_a_litestar_app_sees_its_own_list() -> None:
    """Litestar's list, of DefineMiddleware entries or bare classes, is read from outside."""
    defined = Litestar(
        route_handlers=[litestar_home],
        middleware=[DefineMiddleware(CORSMiddleware, allow_origins=ORIGINS)],
    )
    bare_class = Litestar(route_handlers=[litestar_home], middleware=[AccessLogMiddleware])

    with pytest.warns(UserWarning, match=f"CORSMiddleware {ACROSS}"):
        compose(defined, Layer(AuthenticationMiddleware, backend=BACKEND))
    with pytest.warns(UserWarning, match=f"AccessLogMiddleware {ACROSS}"):
        compose(bare_class, CompressionMiddleware)


def test_a_litestar_list_in_the_right_order_across_the_boundary_is_silent() -> None:
    """CORS around the Litestar object and auth in its list: nothing."""
    app = Litestar(
        route_handlers=[litestar_home],
        middleware=[DefineMiddleware(AuthenticationMiddleware, backend=BACKEND)],
    )

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compose(app, Layer(CORSMiddleware, allow_origins=ORIGINS))
