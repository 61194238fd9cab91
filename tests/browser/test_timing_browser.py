"""``TimingMiddleware`` seen from a real headless Chromium on another origin.

What a page's Resource Timing API shows of a cross-origin response's Server-Timing depends on
``Timing-Allow-Origin``; the header itself is tested in tests/integration and tests/live.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from asgi_middleware import TimingMiddleware
from tests.support.servers import ServeApp, html_page_app
from tests.support.timing_apps import starlette_app

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

SERVER_TIMING_JS = """
async (url) => {
    // A CORS fetch, as an SPA makes: reading the body needs CORS, reading timings needs TAO.
    await (await fetch(url, {cache: "no-store"})).json();
    // The Resource Timing entry is added once the body has arrived, a moment after fetch resolves.
    for (let attempt = 0; attempt < 250; attempt++) {
        const [entry] = performance.getEntriesByName(url);
        if (entry) {
            return entry.serverTiming.map((metric) => [metric.name, metric.description]);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return "no resource timing entry";
}
"""


@pytest.mark.parametrize(
    ("allow", "visible"),
    [("page", True), ("other", False), (None, False)],
    ids=["page-origin-allowed", "other-origin-allowed", "no-timing-allow-origin"],
)
def test_browser_sees_server_timing_only_with_timing_allow_origin(
    page: Page, live_server: ServeApp, allow: str | None, visible: bool
) -> None:
    """Chromium shows a cross-origin response's Server-Timing only to an origin it lists."""
    page_server = live_server(html_page_app())
    allowed = {"page": [page_server.origin], "other": ["https://other.example"], None: None}
    api = live_server(
        TimingMiddleware(
            starlette_app(), metric_description="handler", timing_allow_origin=allowed[allow]
        )
    )
    page.goto(page_server.url)
    metrics = page.evaluate(SERVER_TIMING_JS, api.url + "/public")
    assert metrics == ([["db", "public query"], ["app", "handler"]] if visible else [])
