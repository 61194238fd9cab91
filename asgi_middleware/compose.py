"""Stack middleware around an app: ``compose(app, *layers)``, first layer outermost."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Concatenate, Generic, NamedTuple, ParamSpec, Protocol, TypeAlias

from asgi_middleware._config import require_callable
from asgi_middleware._types import ASGIApp

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

    !!! note "versionadded"
        0.1.0
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
"""What [`compose`][asgi_middleware.compose] accepts as a layer.

A [`Layer`][asgi_middleware.Layer], a Starlette ``Middleware`` or Litestar ``DefineMiddleware``
object (matched by shape, never imported), or any callable taking the app and returning an app.
``Layer[...]`` rather than ``Layer[Any]``, so that options written inline in a ``compose`` call are
still checked against the class.
"""


class _OrderRule(NamedTuple):
    """``inner`` belongs inside ``outer``; warn with ``reason`` when it is found outside."""

    outer: str
    inner: str
    reason: str


# The ordering mistakes compose warns about (SPEC §9). A middleware class takes part by setting the
# class attribute ``_compose_role`` (for example "cors"); rules name roles, not classes, so
# subclasses are covered and this module imports no middleware. Roles: "cors", "request_id",
# "access_log", "timing", "auth", "compression".
ORDER_RULES: tuple[_OrderRule, ...] = (
    _OrderRule(
        "cors",
        "auth",
        "its 401/403 answers and OPTIONS preflights would miss CORS headers, so browsers "
        "report a CORS error instead of the status",
    ),
    _OrderRule(
        "request_id",
        "access_log",
        "the access-log events would be written before a request ID exists, so they lack it",
    ),
    _OrderRule(
        "access_log",
        "compression",
        "bytes_sent would count the uncompressed body, not the bytes on the wire",
    ),
)


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
            the layer's position, as ``layers[N]`` counting from 0.

    Warns:
        UserWarning: The order is one that is almost always a mistake, such as authentication
            outside CORS (its 401 and 403 responses would carry no CORS headers).

    Example:
        ```python
        app = compose(
            app,
            Layer(CORSMiddleware, allow_origins=["https://app.example"]),
            RequestIDMiddleware,
        )
        ```

    !!! note "versionadded"
        0.1.0
    """
    require_callable("app", app)
    specs = [_resolve(index, layer, app) for index, layer in enumerate(layers)]
    _check_order([spec.role for spec in specs], ORDER_RULES)
    for index in range(len(specs) - 1, -1, -1):
        factory, args, kwargs, _ = specs[index]
        wrapped = factory(app, *args, **kwargs)
        if not callable(wrapped):
            msg = f"layers[{index}] must return an ASGI app, got {wrapped!r} from {_name(factory)}"
            raise TypeError(msg)
        app = wrapped
    return app


def _resolve(index: int, layer: object, app: ASGIApp) -> _Spec:
    factory: object
    if isinstance(layer, Layer):
        factory, args, kwargs = layer.cls, layer.args, layer.kwargs
    elif _has(layer, "cls", "args", "kwargs"):
        factory, args, kwargs = layer.cls, layer.args, layer.kwargs  # type: ignore[attr-defined]
    elif _has(layer, "middleware", "args", "kwargs"):
        factory, args, kwargs = layer.middleware, layer.args, layer.kwargs  # type: ignore[attr-defined]
    else:
        factory, args, kwargs = layer, (), {}
    if not callable(factory):
        rule = "a middleware class, a Layer, a Starlette Middleware or a callable app -> app"
        msg = f"layers[{index}] must be {rule}, got {layer!r}"
        raise TypeError(msg)
    try:
        inspect.signature(factory).bind(app, *args, **kwargs)
    except TypeError as exc:
        described = repr(layer) if factory is layer else _describe(layer, factory, args, kwargs)
        msg = (
            f"layers[{index}] must accept the app as its first argument and the options given, "
            f"got {described}: {exc}"
        )
        if factory is layer and not isinstance(layer, type):
            # The usual cause: an instance, CORSMiddleware(app, ...), where the class belongs.
            msg += (
                " (pass a middleware class or Layer(cls, **options), not an already built"
                " middleware)"
            )
        raise TypeError(msg) from None
    except ValueError:  # Some builtins have no signature; building them still checks.
        pass
    role = getattr(factory, "_compose_role", None) if isinstance(factory, type) else None
    return _Spec(factory, args, kwargs, role)


def _has(layer: object, *names: str) -> bool:
    return not isinstance(layer, type) and all(hasattr(layer, name) for name in names)


def _check_order(roles: Sequence[str | None], rules: Sequence[_OrderRule]) -> None:
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
