"""Stack middleware around an app: ``compose(app, *layers)``, first layer outermost."""

from __future__ import annotations

import difflib
import inspect
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import (
    Any,
    Concatenate,
    Generic,
    NamedTuple,
    ParamSpec,
    Protocol,
    TypeAlias,
    TypeGuard,
)

from asgi_middleware._kit.config import require_callable
from asgi_middleware._kit.order import ORDER_RULES, OrderRule, checked_by_compose
from asgi_middleware._kit.types import ASGIApp

__all__ = ["Layer", "LayerLike", "compose"]

_P = ParamSpec("_P")


class Layer(Generic[_P]):
    """A middleware class and the options to build it with, for ``compose``.

    The options are type-checked against the class's constructor: ``Layer`` is generic over the
    constructor's parameters after ``app`` (a ``ParamSpec``), so a misspelt option, as in
    ``Layer(GZipMiddleware, compreslevel=6)``, is a type error, not only a start-up error.

    Its ``repr`` names the options but leaves their values out: they may be secrets (keys,
    tokens), and a ``repr`` ends up in start-up errors and logs.

    Args:
        cls: The middleware class (or any callable taking the app first).
        *args: Positional options passed after the app.
        **kwargs: Keyword options.

    Example:
        ```python
        app = compose(app, Layer(CORSMiddleware, allow_origins=["https://app.example"]))
        ```

    Added in version 0.1.0.
    """

    __slots__ = ("args", "cls", "kwargs")

    def __init__(
        self,
        cls: Callable[Concatenate[ASGIApp, _P], ASGIApp],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> None:
        self.cls = require_callable("Layer cls", cls)
        self.args: tuple[Any, ...] = args
        self.kwargs: dict[str, Any] = kwargs

    def __repr__(self) -> str:
        return _describe(self, self.cls, self.args, self.kwargs)


class _StarletteMiddleware(Protocol):
    """Starlette's ``Middleware(cls, *args, **kwargs)``, matched by shape (never imported)."""

    @property
    def cls(self) -> Callable[..., Any]: ...  # pragma: no cover - protocol stub, never called
    @property
    def args(self) -> Sequence[Any]: ...  # pragma: no cover - protocol stub, never called
    @property
    def kwargs(self) -> Mapping[str, Any]: ...  # pragma: no cover - protocol stub, never called


class _LitestarMiddleware(Protocol):
    """Litestar's ``DefineMiddleware(middleware, *args, **kwargs)``, matched by shape."""

    @property
    def middleware(self) -> Callable[..., Any]: ...  # pragma: no cover - protocol stub
    @property
    def args(self) -> Sequence[Any]: ...  # pragma: no cover - protocol stub, never called
    @property
    def kwargs(self) -> Mapping[str, Any]: ...  # pragma: no cover - protocol stub, never called


LayerLike: TypeAlias = (
    Layer[...] | _StarletteMiddleware | _LitestarMiddleware | Callable[[ASGIApp], ASGIApp]
)
"""What [`compose`][asgi_middleware.compose.compose] accepts as a layer.

A [`Layer`][asgi_middleware.Layer], a Starlette ``Middleware`` or Litestar ``DefineMiddleware``
object (matched by shape, never imported), or any callable taking the app and returning an app.
``Layer[...]`` rather than ``Layer[Any]``, so that options written inline in a ``compose`` call are
still checked against the class.
"""


class _Spec(NamedTuple):
    factory: Callable[..., Any]
    args: Sequence[Any]
    kwargs: Mapping[str, Any]
    role: str | None


def compose(app: ASGIApp, *layers: LayerLike) -> ASGIApp:
    """Wrap ``app`` in ``layers``; the **first layer is outermost**.

    ``compose(app, A, B, C)`` is ``A(B(C(app)))``: a request meets ``A`` first, and ``A`` sees the
    response last. That is the order a reader expects from a list, and the reverse of Starlette's
    ``add_middleware`` calls (where the last one added is outermost).

    A layer may be:

    * a middleware class, built as ``cls(app)``;
    * a [`Layer`][asgi_middleware.Layer], built as ``cls(app, *args, **kwargs)``;
    * a Starlette ``Middleware`` or Litestar ``DefineMiddleware`` object, built the same way;
    * any callable taking the app and returning an app.

    Every layer is built here, innermost first, so configuration errors surface at start-up.

    Args:
        app: The ASGI application to wrap.
        *layers: The layers, outermost first.

    Returns:
        The wrapped application (``app`` itself when no layer is given).

    Raises:
        TypeError: ``app`` is not callable, or a layer is not one of the forms above, cannot be
            called with the app and its options, or does not return a callable. The message names
            the layer's position, as ``layers[N]`` counting from 0, and the layer; when it cannot
            be called, also what went wrong (an unknown option, with the closest name the class
            takes), the parameters the class takes, and how to pass them. An ASGI app where a
            layer belongs, such as a middleware already built, is named as such.

    Warns:
        UserWarning: The order is one that is almost always a mistake, such as authentication
            outside CORS (its 401 and 403 responses would carry no CORS headers). The layers
            check their order themselves too, when they are built, however they were stacked;
            for a pair compose has named, that check stays silent.

    Example:
        ```python
        app = compose(
            app,
            Layer(CORSMiddleware, allow_origins=["https://app.example"]),
            RequestIDMiddleware,
        )
        ```

    Added in version 0.1.0.
    """
    require_callable("app", app)
    specs = [_resolve(index, layer, app) for index, layer in enumerate(layers)]
    _check_order([spec.role for spec in specs], ORDER_RULES)
    app = _wrap_innermost(app, specs)
    # The layers' own construction check would repeat the warnings above for these pairs.
    with checked_by_compose(spec.role for spec in specs):
        for index in range(len(specs) - 1, -1, -1):
            factory, args, kwargs, _ = specs[index]
            wrapped = factory(app, *args, **kwargs)
            if not callable(wrapped):
                msg = (
                    f"layers[{index}] must return an ASGI app, got {wrapped!r} from "
                    f"{_name(factory)}"
                )
                raise TypeError(msg)
            app = wrapped
    return app


def _wrap_innermost(app: ASGIApp, specs: Sequence[_Spec]) -> ASGIApp:
    """Apply the app wrappers the layers ask for, once each, directly around ``app``.

    A middleware class that must see what the app leaves in the scope it receives (the metrics
    layer reads the route a router matched) names a wrapper in its ``_compose_app_wrapper``
    class attribute; the layers in between pass new scope dicts inward, so only a wrapper
    around the app itself can see that scope.
    """
    wrappers: list[Callable[[ASGIApp], ASGIApp]] = []
    for spec in specs:
        wrapper = getattr(spec.factory, "_compose_app_wrapper", None) if spec.role else None
        if wrapper is not None and wrapper not in wrappers:
            wrappers.append(wrapper)
    for wrapper in wrappers:
        app = wrapper(app)
    return app


def _resolve(index: int, layer: object, app: ASGIApp) -> _Spec:
    factory: object
    args: Sequence[Any]
    kwargs: Mapping[str, Any]
    if isinstance(layer, Layer) or _is_starlette_middleware(layer):
        factory, args, kwargs = layer.cls, layer.args, layer.kwargs
    elif _is_litestar_middleware(layer):
        factory, args, kwargs = layer.middleware, layer.args, layer.kwargs
    else:
        factory, args, kwargs = layer, (), {}
    if not callable(factory):
        rule = "a middleware class, a Layer, a Starlette Middleware or a callable app -> app"
        msg = f"layers[{index}] must be {rule}, got {layer!r}"
        raise TypeError(msg)
    try:
        signature = inspect.signature(factory)
    except ValueError:  # Some builtins have no signature; building them still checks.
        signature = None
    if signature is not None:
        try:
            signature.bind(app, *args, **kwargs)
        except TypeError as exc:
            msg = _unbuildable(index, layer, (factory, args, kwargs), signature, exc)
            raise TypeError(msg) from None
    role = getattr(factory, "_compose_role", None) if isinstance(factory, type) else None
    return _Spec(factory, args, kwargs, role)


def _unbuildable(
    index: int,
    layer: object,
    call: tuple[object, Sequence[Any], Mapping[str, Any]],
    signature: inspect.Signature,
    exc: TypeError,
) -> str:
    """Why ``layers[index]`` cannot be called with the app and its options, and what to do."""
    factory, args, kwargs = call
    if factory is layer and _is_asgi_app(layer, signature):
        # The usual cause: an instance, CORSMiddleware(app, ...), where the class belongs.
        cls = type(layer)
        fix = (
            f"Layer({cls.__qualname__}, option=value, ...) instead, and compose builds the "
            "middleware around the app"
            if not inspect.isroutine(layer)
            and next(iter(inspect.signature(cls).parameters), None) == "app"
            else "a middleware class, Layer(cls, option=value, ...) or a callable app -> app "
            "instead"
        )
        return (
            f"layers[{index}], {_label(layer)}, is an ASGI app, not a layer: it takes "
            f"{_parameters(signature)}, where a layer takes the app to wrap. Pass {fix}."
        )
    name = _label(factory)
    if factory is layer:
        what = name
        advice = (
            f"; pass its options with Layer({name}, option=value, ...)."
            if isinstance(layer, type)
            else "; a callable layer is called with the app to wrap as its only argument."
        )
    else:
        what, advice = _describe(layer, factory, args, kwargs), "."
    given = ", ".join(["app", *(["..."] if args else []), *(f"{key}=..." for key in kwargs)])
    problem = (
        _unknown_options(signature, kwargs)
        or _missing_options(signature, len(args), kwargs)
        or str(exc)
    )
    return (
        f"layers[{index}], {what}, cannot be built as {name}({given}): {problem}. "
        f"{name} takes {_parameters(signature)}{advice}"
    )


def _is_asgi_app(layer: object, signature: inspect.Signature) -> bool:
    """An async callable taking three positional arguments: an app, not a layer."""
    call = layer if inspect.isroutine(layer) else type(layer).__call__
    try:
        signature.bind(None, None, None)
    except TypeError:
        return False
    return inspect.iscoroutinefunction(call)


def _unknown_options(signature: inspect.Signature, kwargs: Mapping[str, Any]) -> str | None:
    """``unknown option 'vlaue' (did you mean 'value'?)``, or None when every name is taken."""
    parameters = signature.parameters.values()
    if any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters):
        return None
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    known = [parameter.name for parameter in parameters if parameter.kind in kinds]
    unknown = [key for key in kwargs if key not in known]
    if not unknown:
        return None
    named = []
    for key in unknown:
        close = difflib.get_close_matches(key, known, n=1)
        named.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
    return f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(named)}"


def _missing_options(
    signature: inspect.Signature, positional: int, kwargs: Mapping[str, Any]
) -> str | None:
    """``missing required argument 'level'``, in our words: Python's differ between versions."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    # The first parameter takes the app, and the positional arguments the ones after it.
    parameters = list(signature.parameters.values())[1 + positional :]
    missing = [
        parameter.name
        for parameter in parameters
        if parameter.kind in kinds
        and parameter.default is parameter.empty
        and parameter.name not in kwargs
    ]
    if not missing:
        return None
    names = ", ".join(repr(name) for name in missing)
    return f"missing required argument{'s' if len(missing) > 1 else ''} {names}"


class _Elided:
    """Stands for a default in a signature shown in an error: defaults may be long."""

    def __repr__(self) -> str:
        return "..."


def _parameters(signature: inspect.Signature) -> str:
    """``(app, *, name, value=...)``: the parameters without annotations or default values."""
    shown = [
        parameter.replace(
            annotation=parameter.empty,
            default=parameter.empty if parameter.default is parameter.empty else _Elided(),
        )
        for parameter in signature.parameters.values()
    ]
    return str(signature.replace(parameters=shown, return_annotation=signature.empty))


def _label(layer: object) -> str:
    """A class's or function's qualified name; ``an instance of Name`` otherwise (no repr)."""
    name = getattr(layer, "__qualname__", None)
    return name if isinstance(name, str) else f"an instance of {type(layer).__qualname__}"


def _has(layer: object, *names: str) -> bool:
    return not isinstance(layer, type) and all(hasattr(layer, name) for name in names)


def _is_starlette_middleware(layer: object) -> TypeGuard[_StarletteMiddleware]:
    # hasattr(), not a runtime-checkable isinstance(): from 3.12 that misses dynamic attributes.
    return _has(layer, "cls", "args", "kwargs")


def _is_litestar_middleware(layer: object) -> TypeGuard[_LitestarMiddleware]:
    return _has(layer, "middleware", "args", "kwargs")


def _check_order(roles: Sequence[str | None], rules: Sequence[OrderRule]) -> None:
    for outer, inner, reason in rules:
        if outer in roles and inner in roles and roles.index(inner) < roles.index(outer):
            msg = (
                f"compose(): the {inner} layer (layers[{roles.index(inner)}]) is outside the "
                f"{outer} layer (layers[{roles.index(outer)}]): {reason}. "
                f"Put {outer} first (outermost)."
            )
            warnings.warn(msg, UserWarning, stacklevel=3)


def _name(factory: object) -> str:
    return getattr(factory, "__qualname__", None) or repr(factory)


def _describe(
    layer: object, factory: object, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> str:
    """``Layer(CORSMiddleware, ..., allow_origins=...)``: option names without their values."""
    parts = [_name(factory), *(["..."] if args else []), *(f"{key}=..." for key in kwargs)]
    return f"{type(layer).__name__}({', '.join(parts)})"
