"""What happens when the store fails: open (the default) or closed, and a metrics hook.

Run: `uvicorn rate_limit_failure:app --app-dir docs/examples`.
"""

from __future__ import annotations

from collections import Counter

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware.rate_limit import MemoryStore, RateLimit, RateLimitMiddleware


async def home(request: Request) -> PlainTextResponse:
    """Say hello."""
    return PlainTextResponse("Hello!\n")


starlette_app = Starlette(routes=[Route("/", home)])
store = MemoryStore()  # a shared store (Redis) is where failures happen in practice

# --8<-- [start:failure]
store_errors: Counter[str] = Counter()


def count_store_error(error: Exception) -> None:
    """Called on every failed or timed-out store call: count it by kind for a dashboard."""
    store_errors[type(error).__name__] += 1


app = RateLimitMiddleware(
    starlette_app,
    limits=[RateLimit("api", 100, 60)],
    store=store,
    store_timeout=0.1,  # give up on the store after 100 ms
    on_store_error="closed",  # then answer 503; "open" (the default) lets requests through
    on_error_callback=count_store_error,
)
# --8<-- [end:failure]
