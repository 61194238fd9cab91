"""RateLimitMiddleware with Starlette and FastAPI apps and with our other layers, through httpx.

httpx's in-process transport reports the client it is given (``127.0.0.1`` by default), which
stands for the proxy in the proxy-headers tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from asgi_middleware import ASGIApp, Layer, compose
from asgi_middleware.auth import AuthenticationMiddleware, BearerTokenBackend
from asgi_middleware.cors import CORSMiddleware
from asgi_middleware.proxy_headers import ProxyHeadersMiddleware
from asgi_middleware.rate_limit import MemoryStore, RateLimit, RateLimitMiddleware, user
from asgi_middleware.request_id import RequestIDMiddleware
from tests.support.structured_fields import parse_list

pytestmark = pytest.mark.anyio

PER_MINUTE = RateLimit("per-minute", 2, 60)


def client(app: ASGIApp, peer: str = "127.0.0.1") -> httpx.AsyncClient:
    """An httpx client calling ``app`` in process, as a connection from ``peer``."""
    transport = httpx.ASGITransport(app=app, client=(peer, 4711))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def statuses(
    app: ASGIApp, count: int, headers: dict[str, str] | None = None, *, peer: str = "127.0.0.1"
) -> list[int]:
    """The status of ``count`` GETs of ``/``."""
    async with client(app, peer) as http:
        return [(await http.get("/", headers=headers)).status_code for _ in range(count)]


async def hello(request: Request) -> PlainTextResponse:
    """A plain endpoint."""
    return PlainTextResponse("hello")


def starlette_app(**options: Any) -> Starlette:
    """A Starlette app with the rate limit in its middleware list."""
    return Starlette(
        routes=[Route("/", hello)],
        middleware=[Middleware(RateLimitMiddleware, limits=[PER_MINUTE], **options)],
    )


# --- Starlette and FastAPI ------------------------------------------------------------------


async def test_starlette_app_gets_429_with_retry_after() -> None:
    """Two admitted with counting-down fields, then a 429 with its JSON body and Retry-After."""
    async with client(starlette_app()) as http:
        responses = [await http.get("/") for _ in range(3)]

    assert [response.status_code for response in responses] == [200, 200, 429]
    assert [response.headers["ratelimit"] for response in responses] == [
        '"per-minute";r=1;t=30',
        '"per-minute";r=0;t=60',
        '"per-minute";r=0;t=60',
    ]
    refused = responses[2]
    assert refused.headers["retry-after"] == "30"
    assert refused.json() == {"detail": "Too many requests", "retry_after": 30}
    assert refused.headers["content-length"] == str(len(refused.content))
    assert parse_list(refused.headers["ratelimit-policy"]) == [("per-minute", {"q": 2, "w": 60})]


async def test_starlette_404s_are_limited_and_carry_the_fields() -> None:
    """Every response counts and carries the fields, the app's own errors included."""
    async with client(starlette_app()) as http:
        missing = await http.get("/nowhere")

    assert missing.status_code == 404
    assert missing.headers["ratelimit"] == '"per-minute";r=1;t=30'


async def test_add_middleware_and_exempt_paths() -> None:
    """``app.add_middleware`` works, and an exempt path is never counted nor refused."""
    app = FastAPI()

    @app.get("/")
    async def root() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "up"}

    app.add_middleware(RateLimitMiddleware, limits=[PER_MINUTE], exempt_paths=["/health"])

    async with client(app) as http:
        checks = [await http.get("/health") for _ in range(5)]
        limited = [(await http.get("/")).status_code for _ in range(3)]

    assert [response.status_code for response in checks] == [200] * 5
    assert all("ratelimit" not in response.headers for response in checks)
    assert limited == [200, 200, 429]


async def test_fastapi_errors_carry_the_fields() -> None:
    """A FastAPI ``HTTPException`` response is the app's: the fields go on it too."""
    app = FastAPI()

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(status_code=418, detail="short and stout")

    wrapped = RateLimitMiddleware(app, limits=[PER_MINUTE], legacy_headers=True)
    async with client(wrapped) as http:
        response = await http.get("/teapot")

    assert response.status_code == 418
    assert response.json() == {"detail": "short and stout"}
    assert response.headers["x-ratelimit-remaining"] == "1"
    assert response.headers["ratelimit"] == '"per-minute";r=1;t=30'


# --- Keyed on the client after our proxy headers --------------------------------------------


def behind_proxy() -> ASGIApp:
    """Proxy headers outermost, trusting 127.0.0.1, then the rate limit keyed on the client."""
    return compose(
        starlette_app_without_limit(),
        Layer(ProxyHeadersMiddleware, trusted_proxies=["127.0.0.1"]),
        Layer(RateLimitMiddleware, limits=[PER_MINUTE]),
    )


def starlette_app_without_limit() -> Starlette:
    """The Starlette app alone."""
    return Starlette(routes=[Route("/", hello)])


async def test_clients_behind_a_trusted_proxy_have_their_own_buckets() -> None:
    """Through the proxy, each forwarded client is limited on its own address."""
    app = behind_proxy()

    first = await statuses(app, 3, {"X-Forwarded-For": "203.0.113.1"})
    second = await statuses(app, 1, {"X-Forwarded-For": "203.0.113.2"})

    assert (first, second) == ([200, 200, 429], [200])


async def test_a_forged_left_most_hop_gives_no_fresh_bucket() -> None:
    """A client writing its own X-Forwarded-For before the proxy's entry stays in its bucket."""
    app = behind_proxy()
    forged = [{"X-Forwarded-For": f"198.51.100.{number}, 203.0.113.1"} for number in range(3)]

    async with client(app) as http:
        found = [(await http.get("/", headers=headers)).status_code for headers in forged]

    assert found == [200, 200, 429]


async def test_an_untrusted_peer_cannot_pick_its_key() -> None:
    """Not from the proxy: X-Forwarded-For is ignored, the peer's own address is the key."""
    app = behind_proxy()
    async with client(app, peer="192.0.2.50") as http:
        found = [
            (await http.get("/", headers={"X-Forwarded-For": f"10.0.0.{number}"})).status_code
            for number in range(3)
        ]

    assert found == [200, 200, 429]


# --- Keyed on the user after our authentication ---------------------------------------------


def with_users() -> ASGIApp:
    """Our authentication (anonymous allowed), then the rate limit keyed on the user."""
    backend = BearerTokenBackend(tokens={"token-a": "alice", "token-b": "bob"})
    return compose(
        starlette_app_without_limit(),
        Layer(AuthenticationMiddleware, backend=backend, allow_anonymous=True),
        Layer(RateLimitMiddleware, limits=[PER_MINUTE], key=user()),
    )


async def test_each_user_has_a_bucket_wherever_they_connect_from() -> None:
    """Alice's requests from two addresses share her bucket; Bob's are his own."""
    app = with_users()
    alice = {"Authorization": "Bearer token-a"}

    from_one = await statuses(app, 2, alice, peer="192.0.2.1")
    from_two = await statuses(app, 1, alice, peer="192.0.2.2")
    bob = await statuses(app, 1, {"Authorization": "Bearer token-b"}, peer="192.0.2.1")

    assert (from_one, from_two, bob) == ([200, 200], [429], [200])


async def test_anonymous_requests_fall_back_to_the_client_address() -> None:
    """Without credentials, the client address keys the request: limited, not shared with Alice."""
    app = with_users()

    anonymous = await statuses(app, 3, peer="192.0.2.1")
    alice = await statuses(app, 1, {"Authorization": "Bearer token-a"}, peer="192.0.2.1")

    assert (anonymous, alice) == ([200, 200, 429], [200])


async def test_a_refused_token_is_answered_by_auth_before_the_limit() -> None:
    """A bad token gets auth's 401 and costs nothing: the limit sits inside authentication."""
    app = with_users()

    bad = await statuses(app, 3, {"Authorization": "Bearer nope"}, peer="192.0.2.1")
    after = await statuses(app, 2, peer="192.0.2.1")

    assert (bad, after) == ([401, 401, 401], [200, 200])


# --- In the recommended stack ---------------------------------------------------------------


async def test_a_429_is_readable_by_the_page_and_carries_the_request_id() -> None:
    """Inside CORS and the request ID: the refusal has CORS headers, exposed fields and an ID."""
    app = compose(
        starlette_app_without_limit(),
        Layer(
            CORSMiddleware,
            allow_origins=["https://app.example"],
            expose_headers=["RateLimit", "RateLimit-Policy", "Retry-After"],
        ),
        Layer(RequestIDMiddleware),
        Layer(RateLimitMiddleware, limits=[RateLimit("one", 1, 60)]),
    )
    origin = {"Origin": "https://app.example"}

    async with client(app) as http:
        responses = [await http.get("/", headers=origin) for _ in range(2)]

    refused = responses[1]
    assert [response.status_code for response in responses] == [200, 429]
    assert refused.headers["access-control-allow-origin"] == "https://app.example"
    exposed = refused.headers["access-control-expose-headers"].lower()
    assert {"ratelimit", "ratelimit-policy", "retry-after"} <= set(exposed.split(", "))
    assert len(refused.headers["x-request-id"]) == 32


async def test_workers_each_with_a_memory_store_multiply_the_limit() -> None:
    """Two app instances (two workers), two stores: twice the limit. A shared store is one."""
    limits: Sequence[RateLimit] = [RateLimit("one", 1, 60)]
    apart = [RateLimitMiddleware(starlette_app_without_limit(), limits=limits) for _ in range(2)]
    store = MemoryStore()
    shared = [
        RateLimitMiddleware(starlette_app_without_limit(), limits=limits, store=store)
        for _ in range(2)
    ]

    apart_statuses = [(await statuses(worker, 1))[0] for worker in apart]
    shared_statuses = [(await statuses(worker, 1))[0] for worker in shared]

    assert (apart_statuses, shared_statuses) == ([200, 200], [200, 429])


async def test_json_body_and_content_type() -> None:
    """The 429 body is JSON a client can read, with the wait in whole seconds."""
    app = RateLimitMiddleware(starlette_app_without_limit(), limits=[RateLimit("one", 1, 3600)])
    async with client(app) as http:
        await http.get("/")
        refused = await http.get("/")

    assert refused.headers["content-type"] == "application/json"
    assert isinstance(refused.json()["retry_after"], int)
    assert JSONResponse(refused.json()).body == refused.content
