"""A client that reads the rate-limit fields: it waits when told to, instead of hammering.

`app` is a small limited service to try it on (`uvicorn rate_limit_client:app --app-dir
docs/examples`); `polite_get` is the client side, for any server that sends these fields.
"""

from __future__ import annotations

import anyio
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware.rate_limit import RateLimit, RateLimitMiddleware


async def home(request: Request) -> PlainTextResponse:
    """Say hello."""
    return PlainTextResponse("Hello!\n")


app = RateLimitMiddleware(
    Starlette(routes=[Route("/", home)]), limits=[RateLimit("per-second", 2, 1)]
)


# --8<-- [start:client]
def available(response: httpx.Response) -> int | None:
    """The fewest units left over the policies of a ``RateLimit`` field, or ``None``.

    A client that only needs ``r`` can read it without a Structured Fields parser: each item
    is ``"name";r=<int>;t=<int>``. A malformed field is ignored, as the draft asks.
    """
    found = []
    for field in response.headers.get_list("ratelimit"):
        for item in field.split(","):
            for parameter in item.split(";")[1:]:
                key, _, value = parameter.strip().partition("=")
                if key == "r" and value.isdigit():
                    found.append(int(value))
    return min(found) if found else None


async def polite_get(client: httpx.AsyncClient, url: str, *, tries: int = 3) -> httpx.Response:
    """GET ``url``; on 429 wait what ``Retry-After`` says, then try again."""
    response = await client.get(url)
    for _ in range(tries - 1):
        if response.status_code != httpx.codes.TOO_MANY_REQUESTS:
            break
        await anyio.sleep(int(response.headers.get("retry-after", "1")))
        response = await client.get(url)
    return response


# --8<-- [end:client]
