"""Every form `compose` accepts as a layer, in one stack."""

from __future__ import annotations

from starlette.middleware import Middleware

from asgi_middleware import ASGIApp, Layer, compose

from set_header import SetHeaderMiddleware, hello


# --8<-- [start:forms]
class NoStoreMiddleware(SetHeaderMiddleware):
    """Set `cache-control: no-store`; every option has a default."""

    __slots__ = ()

    def __init__(self, app: ASGIApp, *, value: str = "no-store") -> None:
        super().__init__(app, name="cache-control", value=value)


def nosniff(app: ASGIApp) -> ASGIApp:
    """Wrap `app` in a configured middleware: a plain `app -> app` callable."""
    return SetHeaderMiddleware(app, name="x-content-type-options", value="nosniff")


app = compose(
    hello,
    # A middleware class: built as NoStoreMiddleware(app).
    NoStoreMiddleware,
    # A Layer: built as SetHeaderMiddleware(app, name=..., value=...).
    Layer(SetHeaderMiddleware, name="x-frame-options", value="DENY"),
    # A Starlette Middleware object, as in a `middleware=[...]` list.
    Middleware(SetHeaderMiddleware, name="referrer-policy", value="no-referrer"),
    # Any callable taking the app and returning an app.
    nosniff,
)
# --8<-- [end:forms]
