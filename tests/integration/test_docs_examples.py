"""Every code sample in the docs is a file in docs/examples/; these tests run each one.

The samples under a real uvicorn: tests/live/test_docs_live.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from asgi_middleware import ASGIApp, Message, Receive, Scope, Send
from tests.support.asgi import asgi_client
from tests.support.samples import EXAMPLE_FILES, EXAMPLES, app_of, load

pytestmark = pytest.mark.usefixtures("sibling_imports")


DOCS = EXAMPLES.parent


def function_of(module: ModuleType, attribute: str) -> Callable[[], ASGIApp]:
    """Return a zero-argument function an example module defines."""
    function: Callable[[], ASGIApp] = vars(module)[attribute]
    return function


async def get(
    app: ASGIApp, path: str = "/", *, raise_app_exceptions: bool = True
) -> httpx.Response:
    """Send one GET request to ``app`` in process."""
    async with asgi_client(app, raise_app_exceptions=raise_app_exceptions) as client:
        return await client.get(path)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: path.stem)
def test_every_example_exposes_an_app(path: Path) -> None:
    """Each file in docs/examples/ imports cleanly and exposes a callable ``app``."""
    assert callable(app_of(load(path.stem)))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: path.stem)
def test_every_example_is_shown_in_the_docs(path: Path) -> None:
    """Each file in docs/examples/ is embedded in at least one page, so none goes stale unseen."""
    # A snippets block, as the pages write it: ruff formats ```python fences in Markdown and would
    # rewrite the one-line form; an escaped ";--8<--" only shows the syntax and does not count.
    block = re.compile(
        rf"^[ \t]*--8<--\n[ \t]*docs/examples/{re.escape(path.name)}(:\w+)?\n[ \t]*--8<--$",
        re.MULTILINE,
    )
    assert any(block.search(page.read_text(encoding="utf-8")) for page in DOCS.rglob("*.md"))


def test_example_files_are_found() -> None:
    """The glob finds the examples, so the parametrised tests above cannot pass vacuously."""
    assert len(EXAMPLE_FILES) >= 8


@pytest.mark.anyio
async def test_raw_asgi_layers_set_their_headers_inner_first() -> None:
    """raw_asgi: both layers set their header; the inner layer sees the response first."""
    response = await get(app_of(load("raw_asgi")))
    assert response.status_code == 200
    assert response.text == "Hello, world!\n"
    assert response.headers.multi_items() == [
        ("content-type", "text/plain; charset=utf-8"),
        ("content-length", "14"),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
    ]


@pytest.mark.anyio
async def test_set_header_middleware_replaces_the_apps_value() -> None:
    """SetHeaderMiddleware sets its header once, replacing a value the app sent in any case."""
    module = load("set_header")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"X-Frame-Options", b"SAMEORIGIN"), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    wrapped: ASGIApp = module.SetHeaderMiddleware(app, name="X-Frame-Options", value="DENY")
    response = await get(wrapped)
    assert response.headers.multi_items() == [
        ("content-length", "0"),
        ("x-frame-options", "DENY"),
    ]


@pytest.mark.anyio
async def test_set_header_middleware_leaves_the_apps_message_untouched() -> None:
    """SetHeaderMiddleware builds a new message and header list; the app's objects are unchanged."""
    module = load("set_header")
    headers = [(b"content-type", b"text/plain")]
    start = {"type": "http.response.start", "status": 200, "headers": headers}
    body = {"type": "http.response.body", "body": b"ok"}
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start)
        await send(body)

    async def receive() -> Message:
        return {"type": "http.disconnect"}  # The app never reads.

    async def send(message: Message) -> None:
        sent.append(message)

    wrapped: ASGIApp = module.SetHeaderMiddleware(app, name="x-frame-options", value="DENY")
    await wrapped({"type": "http", "method": "GET", "path": "/"}, receive, send)
    assert start == {"type": "http.response.start", "status": 200, "headers": headers}
    assert headers == [(b"content-type", b"text/plain")]
    assert sent == [
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"x-frame-options", b"DENY")],
        },
        {"type": "http.response.body", "body": b"ok"},
    ]
    assert sent[1] is body


@pytest.mark.anyio
async def test_set_header_middleware_passes_lifespan_through() -> None:
    """SetHeaderMiddleware hands a lifespan scope to the app with the same receive and send."""
    module = load("set_header")
    seen: list[tuple[Any, ...]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, receive, send))

    async def receive() -> Message:
        return {"type": "lifespan.startup"}  # The app never reads.

    async def send(message: Message) -> None:
        raise AssertionError  # The app never sends.

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    wrapped: ASGIApp = module.SetHeaderMiddleware(app, name="x-frame-options", value="DENY")
    await wrapped(scope, receive, send)
    assert len(seen) == 1
    assert seen[0][0] is scope
    assert seen[0][1] is receive
    assert seen[0][2] is send


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"name": "x frame", "value": "DENY"},
            "name must be letters, digits and '-', got 'x frame'",
        ),
        (
            {"name": "", "value": "DENY"},
            "name must be letters, digits and '-', got ''",
        ),
        ({"name": "x-a", "value": "a\r\nb"}, "value must be printable ASCII, got 'a\\r\\nb'"),
    ],
    ids=["space-in-name", "empty-name", "newline-in-value"],
)
def test_set_header_middleware_refuses_bad_options(options: dict[str, str], message: str) -> None:
    """SetHeaderMiddleware refuses a bad name or value with a ValueError naming the option."""
    module = load("set_header")
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        module.SetHeaderMiddleware(module.hello, **options)


@pytest.mark.anyio
async def test_set_header_app_serves_hello_with_its_header() -> None:
    """set_header: the middleware wrapped directly around hello is an app with one header."""
    response = await get(app_of(load("set_header")))
    assert response.status_code == 200
    assert response.text == "Hello, world!\n"
    assert response.headers.multi_items() == [
        ("content-type", "text/plain; charset=utf-8"),
        ("content-length", "14"),
        ("x-content-type-options", "nosniff"),
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("attribute", ["app", "listed_app"])
async def test_starlette_app_carries_the_header(attribute: str) -> None:
    """starlette_app: the composed app and the middleware-list app both set the header."""
    response = await get(app_of(load("starlette_app"), attribute))
    assert response.status_code == 200
    assert response.text == "Hello from Starlette!\n"
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]


@pytest.mark.anyio
async def test_fastapi_app_carries_the_header() -> None:
    """fastapi_app: the composed FastAPI app answers JSON with the header set."""
    response = await get(app_of(load("fastapi_app")))
    assert response.status_code == 200
    assert response.json() == {"message": "Hello from FastAPI!"}
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]


@pytest.mark.anyio
@pytest.mark.parametrize("attribute", ["app", "nested", "listed", "added"])
async def test_compose_order_first_layer_is_outermost(attribute: str) -> None:
    """compose_order: each spelling sees the request A, B, C and the response C, B, A."""
    response = await get(app_of(load("compose_order"), attribute))
    assert response.status_code == 200
    assert response.text == "request passed: A > B > C > app\n"
    assert response.headers.get_list("x-seen-by") == ["C", "B", "A"]


@pytest.mark.anyio
@pytest.mark.parametrize("attribute", ["app", "inside"])
async def test_wrap_framework_normal_responses_carry_the_header(attribute: str) -> None:
    """wrap_framework: a normal response carries the header however the layer was added."""
    response = await get(app_of(load("wrap_framework"), attribute))
    assert response.status_code == 200
    assert response.text == "Hello!\n"
    assert response.headers.get_list("access-control-allow-origin") == ["https://app.example"]


@pytest.mark.anyio
@pytest.mark.parametrize("attribute", ["app", "fastapi_app"])
async def test_wrap_framework_composed_500_carries_the_header(attribute: str) -> None:
    """wrap_framework: with the app object wrapped, the unhandled exception's 500 has the header."""
    app = app_of(load("wrap_framework"), attribute)
    response = await get(app, "/boom", raise_app_exceptions=False)
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert response.headers.get_list("access-control-allow-origin") == ["https://app.example"]


@pytest.mark.anyio
@pytest.mark.parametrize("attribute", ["inside", "fastapi_inside"])
async def test_wrap_framework_add_middleware_500_lacks_the_header(attribute: str) -> None:
    """wrap_framework: with add_middleware, the 500 is sent from outside the layer, without it."""
    app = app_of(load("wrap_framework"), attribute)
    response = await get(app, "/boom", raise_app_exceptions=False)
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.anyio
@pytest.mark.parametrize("attribute", ["app", "fastapi_app"])
async def test_wrap_framework_exception_still_reaches_the_server(attribute: str) -> None:
    """wrap_framework: the exception propagates through the composed layers to the server."""
    with pytest.raises(RuntimeError, match=r"^something went wrong$"):
        await get(app_of(load("wrap_framework"), attribute), "/boom")


@pytest.mark.anyio
async def test_layer_forms_build_every_form_first_outermost() -> None:
    """layer_forms: class, Layer, Starlette Middleware and callable all apply, innermost first."""
    response = await get(app_of(load("layer_forms")))
    assert response.status_code == 200
    assert response.headers.multi_items() == [
        ("content-type", "text/plain; charset=utf-8"),
        ("content-length", "14"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("attribute", ["app", "listed_app"])
async def test_litestar_app_carries_the_header(attribute: str) -> None:
    """litestar_app: compose and Litestar's own list both build the DefineMiddleware layer."""
    response = await get(app_of(load("litestar_app"), attribute))
    assert response.status_code == 200
    assert response.text == "Hello from Litestar!"
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]


@pytest.mark.anyio
async def test_startup_errors_valid_stack_serves() -> None:
    """startup_errors: the correctly configured stack serves with its header."""
    response = await get(app_of(load("startup_errors")))
    assert response.headers.get_list("x-frame-options") == ["DENY"]


def test_startup_errors_misspelt_option() -> None:
    """startup_errors: a misspelt option names layers[1], the option and its fix, as shown."""
    build = function_of(load("startup_errors"), "misspelt_option")
    message = (
        "layers[1], Layer(SetHeaderMiddleware, name=..., vlaue=...), cannot be built as "
        "SetHeaderMiddleware(app, name=..., vlaue=...): unknown option 'vlaue' "
        "(did you mean 'value'?). SetHeaderMiddleware takes (app, *, name, value)."
    )
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        build()
    assert f"TypeError: {message}" in (DOCS / "composition.md").read_text(encoding="utf-8")


def test_startup_errors_bad_value() -> None:
    """startup_errors: the middleware's own ValueError leaves compose unchanged, as shown."""
    build = function_of(load("startup_errors"), "bad_value")
    message = "name must be letters, digits and '-', got 'x frame options'"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        build()
    assert f"ValueError: {message}" in (DOCS / "composition.md").read_text(encoding="utf-8")


def test_startup_errors_built_too_early() -> None:
    """startup_errors: a built middleware is named an ASGI app, with the Layer to use instead."""
    build = function_of(load("startup_errors"), "built_too_early")
    message = (
        "layers[0], an instance of SetHeaderMiddleware, is an ASGI app, not a layer: it takes "
        "(scope, receive, send), where a layer takes the app to wrap. Pass "
        "Layer(SetHeaderMiddleware, option=value, ...) instead, and compose builds the "
        "middleware around the app."
    )
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        build()
    assert f"TypeError: {message}" in (DOCS / "composition.md").read_text(encoding="utf-8")
