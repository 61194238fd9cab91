"""The docs' browser recipes (docs/examples/*) in a real headless Chromium across two origins.

The same samples run in process in tests/integration/test_docs_cors.py and
tests/integration/test_recipe_end_to_end.py.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from asgi_middleware import ASGIApp
from tests.support.asgi import answer_lifespan
from tests.support.inventory import Inventory
from tests.support.samples import EXAMPLES, load
from tests.support.servers import ServeApp, ServeTwoOrigins

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


# --- cors_spa_cookies (cors.md) ---------------------------------------------------------------


def test_spa_recipe_in_chromium(page: Page, two_origins: ServeTwoOrigins) -> None:
    """cors_spa_cookies: the page's script (docs/examples/cors_spa_client.js) signs in for real."""
    holder: list[ASGIApp] = []
    create_app = load("cors_spa_cookies").create_app

    async def api(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        await holder[0](scope, receive, send)

    origins = two_origins(api)
    holder.append(create_app(origins.page.origin, secure_cookie=False))
    page.goto(origins.page.url)
    script = (EXAMPLES / "cors_spa_client.js").read_text(encoding="utf-8")

    assert page.evaluate(script, [origins.api.url, "ada"]) == {"user": "ada"}


# --- recipe_end_to_end (recipes/end-to-end.md) ------------------------------------------------


# The recipe's lifespan configures structlog and the root logger in the server's thread.
@pytest.mark.usefixtures("restore_logging")
def test_spa_shows_the_request_id_and_server_timing(page: Page, live_server: ServeApp) -> None:
    """In Chromium, the SPA on another origin reads the ID and the API's Server-Timing entries."""
    spa = load("recipe_end_to_end_spa")
    module = load("recipe_end_to_end")
    spa_server = live_server(spa.app)
    inventory = Inventory()
    api = live_server(module.create_app(inventory.transport, spa_origin=spa_server.origin))

    page.goto(f"{spa_server.url}/?api={api.url}")
    page.wait_for_function("document.body.dataset.order !== undefined", timeout=10_000)

    request_id = page.text_content("#request-id")
    assert request_id == inventory.requests[0].headers["x-request-id"]
    timings = page.locator("#timings li").all_text_contents()
    assert [timing.split(" ")[0] for timing in timings] == ["inventory", "app"]
    assert timings[0].endswith(" ms stock lookup")
    assert json.loads(page.evaluate("document.body.dataset.order")) == {
        "order_id": 7,
        "in_stock": True,
    }
