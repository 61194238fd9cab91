"""compose() and Layer: order, accepted layer forms, start-up errors, order warnings."""

from __future__ import annotations

import functools
import importlib
import warnings
from typing import Any

import pytest
from litestar.middleware import DefineMiddleware
from starlette.middleware import Middleware

from asgi_middleware import ASGIApp, Layer, Receive, Scope, Send, compose
from asgi_middleware._kit.order import OrderRule as _OrderRule
from asgi_middleware.compose import _check_order
from tests.support.asgi import body, http_scope, run, start


class Recorder:
    """Appends its name to a shared log when a request passes it, then calls the app."""

    __slots__ = ("app", "log", "name")

    def __init__(self, app: ASGIApp, name: str = "A", *, log: list[str] | None = None) -> None:
        self.app = app
        self.name = name
        self.log = DEFAULT_LOG if log is None else log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.log.append(self.name)
        await self.app(scope, receive, send)


DEFAULT_LOG: list[str] = []


async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer 200 with a fixed body."""
    await send(start(200, [("content-type", "text/plain")]))
    await send(body(b"ok"))


class Needy:
    """A middleware with a required option and a catch-all for more."""

    def __init__(self, app: ASGIApp, *, level: int, **extra: object) -> None:  # noqa: ARG002
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def make_three(app: ASGIApp, second: object, third: object) -> ASGIApp:
    """A factory with three parameters that is not an ASGI app (it is not async)."""
    return app


@pytest.mark.anyio
async def test_first_layer_is_outermost_for_every_form() -> None:
    """compose(app, A, Layer(B), Middleware(C), lambda a: D(a)) is A(B(C(D(app))))."""
    log: list[str] = []
    DEFAULT_LOG.clear()

    class A(Recorder):
        def __init__(self, app: ASGIApp) -> None:
            super().__init__(app, "A", log=log)

    app = compose(
        endpoint,
        A,
        Layer(Recorder, "B", log=log),
        Middleware(Recorder, "C", log=log),
        lambda inner: Recorder(inner, "D", log=log),
    )
    messages = await run(app, http_scope())
    assert log == ["A", "B", "C", "D"]
    assert [m["type"] for m in messages] == ["http.response.start", "http.response.body"]


@pytest.mark.anyio
async def test_litestar_define_middleware_is_a_layer() -> None:
    """A Litestar DefineMiddleware is built like a Layer."""
    log: list[str] = []
    app = compose(endpoint, DefineMiddleware(Recorder, "L", log=log))
    await run(app, http_scope())
    assert log == ["L"]


@pytest.mark.anyio
async def test_partial_is_a_callable_layer() -> None:
    """Any callable app -> app works, functools.partial included."""
    log: list[str] = []
    app = compose(endpoint, functools.partial(Recorder, name="P", log=log))
    await run(app, http_scope())
    assert log == ["P"]


def test_no_layers_returns_the_app_itself() -> None:
    """With no layers, compose returns the very app it was given."""
    assert compose(endpoint) is endpoint


def test_layers_are_built_at_compose_time() -> None:
    """Every layer is constructed when compose runs, innermost first."""
    built: list[str] = []

    def factory(name: str) -> Any:
        def build(app: ASGIApp) -> ASGIApp:
            built.append(name)
            return app

        return build

    compose(endpoint, factory("outer"), factory("inner"))
    assert built == ["inner", "outer"]


def test_configuration_errors_surface_at_compose_time() -> None:
    """A middleware's own validation error comes out of compose unchanged."""

    class Strict:
        def __init__(self, app: ASGIApp, *, level: int = 1) -> None:
            if level > 9:
                msg = f"level must be an int from 0 to 9, got {level!r}"
                raise ValueError(msg)
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await self.app(scope, receive, send)

    with pytest.raises(ValueError, match=r"^level must be an int from 0 to 9, got 10$"):
        compose(endpoint, Layer(Strict, level=10))


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        pytest.param(
            (Recorder, "cors"),
            r"^layers\[1\] must be a middleware class, a Layer, a Starlette Middleware or a "
            r"callable app -> app, got 'cors'$",
            id="string",
        ),
        pytest.param(
            (None,),
            r"^layers\[0\] must be a middleware class, .*, got None$",
            id="none",
        ),
        pytest.param(
            (Middleware(Recorder), endpoint),
            r"^layers\[1\], endpoint, is an ASGI app, not a layer: it takes \(scope, receive, "
            r"send\), where a layer takes the app to wrap\. Pass a middleware class, "
            r"Layer\(cls, option=value, \.\.\.\) or a callable app -> app instead\.$",
            id="asgi-function-instead-of-layer",
        ),
        pytest.param(
            (Recorder(endpoint),),
            r"^layers\[0\], an instance of Recorder, is an ASGI app, not a layer: it takes "
            r"\(scope, receive, send\), where a layer takes the app to wrap\. Pass "
            r"Layer\(Recorder, option=value, \.\.\.\) instead, and compose builds the "
            r"middleware around the app\.$",
            id="built-middleware-instead-of-layer",
        ),
        pytest.param(
            (Layer(Recorder, "B", colour="red"),),  # type: ignore[call-arg]
            r"^layers\[0\], Layer\(Recorder, \.\.\., colour=\.\.\.\), cannot be built as "
            r"Recorder\(app, \.\.\., colour=\.\.\.\): unknown option 'colour'\. Recorder "
            r"takes \(app, name=\.\.\., \*, log=\.\.\.\)\.$",
            id="unknown-option",
        ),
        pytest.param(
            (Layer(Recorder, lgo=[], nmae="B"),),  # type: ignore[call-arg]
            r"^layers\[0\], Layer\(Recorder, lgo=\.\.\., nmae=\.\.\.\), cannot be built as "
            r"Recorder\(app, lgo=\.\.\., nmae=\.\.\.\): unknown options 'lgo' \(did you mean "
            r"'log'\?\), 'nmae' \(did you mean 'name'\?\)\. Recorder takes "
            r"\(app, name=\.\.\., \*, log=\.\.\.\)\.$",
            id="misspelt-options",
        ),
        pytest.param(
            (Layer(Recorder, "B", "C", "D"),),  # type: ignore[call-arg, arg-type]
            r"^layers\[0\], Layer\(Recorder, \.\.\.\), cannot be built as "
            r"Recorder\(app, \.\.\.\): too many positional arguments\. Recorder takes "
            r"\(app, name=\.\.\., \*, log=\.\.\.\)\.$",
            id="too-many-positional-options",
        ),
        pytest.param(
            (Needy,),
            r"^layers\[0\], Needy, cannot be built as Needy\(app\): missing required argument "
            r"'level'\. Needy takes \(app, \*, level, \*\*extra\); pass its options "
            r"with Layer\(Needy, option=value, \.\.\.\)\.$",
            id="class-without-its-options",
        ),
        pytest.param(
            (lambda: endpoint,),
            r"^layers\[0\], .*<lambda>, cannot be built as .*<lambda>\(app\): too many "
            r"positional arguments\. .*<lambda> takes \(\); a callable layer is called with the "
            r"app to wrap as its only argument\.$",
            id="callable-without-the-app",
        ),
        pytest.param(
            (make_three,),
            r"^layers\[0\], make_three, cannot be built as make_three\(app\): missing "
            r"required arguments 'second', 'third'\. make_three takes \(app, second, third\); "
            r"a callable layer is called with the app to wrap as its only argument\.$",
            id="sync-callable-with-three-parameters",
        ),
        pytest.param(
            (Recorder, Recorder, lambda _: "not an app"),
            r"^layers\[2\] must return an ASGI app, got 'not an app' from .*<lambda>$",
            id="returns-non-callable",
        ),
        pytest.param(
            (vars,),
            r"^layers\[0\] must return an ASGI app, got \{\} from vars$",
            id="builtin-without-signature",
        ),
    ],
)
def test_bad_layer_raises_type_error_naming_its_position(layers: Any, message: str) -> None:
    """A wrong layer raises TypeError naming its position as layers[N]."""
    with pytest.raises(TypeError, match=message):
        compose(endpoint, *layers)


class Application:
    """An ASGI app that is an object but not a middleware: its class takes no app."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await endpoint(scope, receive, send)


def test_asgi_app_error_names_an_application_class_generically() -> None:
    """An app whose class does not take ``app`` first is not offered as Layer(ThatClass)."""
    with pytest.raises(TypeError) as info:
        compose(endpoint, Application())  # type: ignore[arg-type]
    assert str(info.value) == (
        "layers[0], an instance of Application, is an ASGI app, not a layer: it takes "
        "(scope, receive, send), where a layer takes the app to wrap. Pass a middleware class, "
        "Layer(cls, option=value, ...) or a callable app -> app instead."
    )


def test_app_must_be_callable() -> None:
    """Compose refuses a non-callable app with the option-error message shape."""
    with pytest.raises(TypeError, match=r"^app must be callable, got 'app'$"):
        compose("app")  # type: ignore[arg-type]


def test_layer_cls_must_be_callable() -> None:
    """Layer refuses a non-callable class argument at construction."""
    with pytest.raises(TypeError, match=r"^Layer cls must be callable, got 42$"):
        Layer(42)  # type: ignore[arg-type]


def test_layer_repr_names_options_without_values() -> None:
    """Layer's repr names the class and options but never shows values, which may be secrets."""
    assert repr(Layer(Recorder, "B", log=None)) == "Layer(Recorder, ..., log=...)"


def test_starlette_middleware_error_hides_option_values() -> None:
    """A bad Starlette Middleware is described by class and option names, values left out."""
    with pytest.raises(TypeError) as info:
        compose(endpoint, Middleware(Recorder, api_key="s3cret"))  # type: ignore[call-arg]
    assert str(info.value) == (
        "layers[0], Middleware(Recorder, api_key=...), cannot be built as "
        "Recorder(app, api_key=...): unknown option 'api_key'. "
        "Recorder takes (app, name=..., *, log=...)."
    )


def test_layer_keeps_its_options() -> None:
    """Layer stores the class, positional and keyword options as given."""
    layer = Layer(Recorder, "B", log=None)
    assert (layer.cls, layer.args, layer.kwargs) == (Recorder, ("B",), {"log": None})


class Auth(Recorder):
    """A layer with the role 'auth'."""

    _compose_role = "auth"


class Cors(Recorder):
    """A layer with the role 'cors'."""

    _compose_role = "cors"


RULES = (_OrderRule("cors", "auth", "preflights would be refused"),)


def test_order_rule_warns_when_inner_role_is_outside() -> None:
    """A rule's inner role placed outside its outer role warns, naming both positions."""
    with pytest.warns(UserWarning, match=r"the auth layer \(layers\[0\]\) is outside the cors"):
        _check_order(["auth", None, "cors"], RULES)


@pytest.mark.parametrize(
    "roles",
    [["cors", "auth"], ["cors"], ["auth"], [None, None], []],
    ids=["right-order", "outer-only", "inner-only", "no-roles", "empty"],
)
def test_order_rule_is_silent_otherwise(roles: list[str | None]) -> None:
    """No warning when the order is right or a role is missing."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _check_order(roles, RULES)


def test_compose_checks_order_with_each_layer_role(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compose reads each layer's role (class, Layer, Middleware) and applies ORDER_RULES."""
    # The package re-exports the compose function under the submodule's name: patch the module.
    monkeypatch.setattr(importlib.import_module("asgi_middleware.compose"), "ORDER_RULES", RULES)
    with pytest.warns(UserWarning, match=r"auth layer \(layers\[1\]\) is outside the cors layer"):
        compose(endpoint, Recorder, Layer(Auth, "x"), Middleware(Cors), lambda app: app)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compose(endpoint, Cors, Auth)


def innermost(app: ASGIApp) -> ASGIApp:
    """An app wrapper a layer asks compose for: logs "inner", then calls the app."""
    return Recorder(app, "inner")


class Watcher(Recorder):
    """A layer with a role that asks for ``innermost`` around the app."""

    _compose_role = "watcher"
    _compose_app_wrapper = staticmethod(innermost)


@pytest.mark.anyio
async def test_compose_wraps_the_app_once_for_the_layers_that_ask() -> None:
    """Two layers asking for one app wrapper get it once, directly around the app."""
    DEFAULT_LOG.clear()
    app = compose(endpoint, Layer(Watcher, "W1"), Recorder, Layer(Watcher, "W2"))
    await run(app, http_scope())
    assert DEFAULT_LOG == ["W1", "A", "W2", "inner"]


@pytest.mark.anyio
async def test_compose_ignores_the_attribute_on_a_layer_without_a_role() -> None:
    """Only a middleware class with a role is asked; a plain callable's attribute is not read."""

    def plain(app: ASGIApp) -> ASGIApp:
        return Recorder(app, "plain")

    plain.__dict__["_compose_app_wrapper"] = innermost
    DEFAULT_LOG.clear()
    await run(compose(endpoint, plain), http_scope())
    assert DEFAULT_LOG == ["plain"]
