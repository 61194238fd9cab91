"""The made-up inventory service the end-to-end recipe (docs/examples/recipe_end_to_end.py) calls.

Its tests run the recipe in process (tests/integration) and in Chromium (tests/browser); both hand
``Inventory().transport`` to ``create_app`` and read back what the upstream received.
"""

from __future__ import annotations

import httpx

__all__ = ["Inventory"]


class Inventory:
    """The made-up inventory service, as an httpx.MockTransport that records what it received."""

    def __init__(self, *, fail: bool = False) -> None:
        self.requests: list[httpx.Request] = []
        self.fail = fail
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer a stock query, or fail to connect."""
        self.requests.append(request)
        if self.fail:
            raise httpx.ConnectError("inventory is down", request=request)
        return httpx.Response(200, json={"in_stock": True})
