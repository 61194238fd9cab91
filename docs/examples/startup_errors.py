"""Configuration errors surface when `compose` runs, naming the layer's position."""

from __future__ import annotations

from asgi_middleware import ASGIApp, Layer, compose

from set_header import SetHeaderMiddleware, hello

app = compose(
    hello,
    Layer(SetHeaderMiddleware, name="x-frame-options", value="DENY"),
)


# --8<-- [start:errors]
def misspelt_option() -> ASGIApp:
    """Build a stack whose second layer has a misspelt option, `vlaue`."""
    nosniff = Layer(SetHeaderMiddleware, name="x-content-type-options", value="nosniff")
    # mypy reports: Unexpected keyword argument "vlaue" for "Layer".
    deny = Layer(  # type: ignore[call-arg]
        SetHeaderMiddleware,
        name="x-frame-options",
        vlaue="DENY",
    )
    return compose(hello, nosniff, deny)


def bad_value() -> ASGIApp:
    """Build a stack with an option value the middleware itself refuses."""
    frame_options = Layer(SetHeaderMiddleware, name="x frame options", value="DENY")
    return compose(hello, frame_options)


def built_too_early() -> ASGIApp:
    """Pass an already built middleware where a class or a `Layer` belongs."""
    deny = SetHeaderMiddleware(hello, name="x-frame-options", value="DENY")
    # mypy reports this line too: an ASGI app is not a layer.
    return compose(hello, deny)  # type: ignore[arg-type]


# --8<-- [end:errors]
