"""The Redis samples (docs/examples/rate_limit_redis.py) do what docs/rate-limit.md says.

They run against the session's real redis-server and Redis Cluster. Under four uvicorn
workers the limit is exact: tests/live/test_rate_limit_workers.py.
"""

from __future__ import annotations

import uuid
from types import ModuleType
from typing import Any

import httpx
import pytest

from asgi_middleware import ASGIApp, Message
from asgi_middleware.rate_limit import RateLimit, RedisStore
from tests.support.redis_servers import RedisCluster, RedisServer
from tests.support.samples import app_of, load
from tests.support.structured_fields import parse_list

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("sibling_imports")]


@pytest.fixture
def anyio_backend() -> str:
    """redis.asyncio runs on asyncio only."""
    return "asyncio"


def client(app: ASGIApp, peer: str) -> httpx.AsyncClient:
    """An httpx client calling ``app`` in process, as a connection from ``peer``."""
    transport = httpx.ASGITransport(app=app, client=(peer, 4711))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def sample(monkeypatch: pytest.MonkeyPatch, url: str) -> ModuleType:
    """rate_limit_redis loaded afresh with ``REDIS_URL`` set, as one worker process loads it."""
    monkeypatch.setenv("REDIS_URL", url)
    return load("rate_limit_redis")


def peer() -> str:
    """A client address no other test uses: its bucket starts full."""
    return f"2001:db8:{uuid.uuid4().int % 65536:x}::1"


async def test_the_app_admits_five_a_minute_then_429(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five requests pass with the fields counting down, the sixth gets 429 and Retry-After."""
    module = sample(monkeypatch, redis_server.url)
    try:
        async with client(app_of(module), peer()) as http:
            responses = [await http.get("/") for _ in range(6)]
    finally:
        await module.store.aclose()

    assert [response.status_code for response in responses] == [200] * 5 + [429]
    assert parse_list(responses[0].headers["ratelimit-policy"]) == [
        ("per-minute", {"q": 5, "w": 60})
    ]
    assert parse_list(responses[0].headers["ratelimit"]) == [("per-minute", {"r": 4, "t": 12})]
    assert responses[5].headers["retry-after"] == "12"


async def test_two_workers_share_one_limit(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sample loaded twice, as two worker processes would: one count across both."""
    first, second = sample(monkeypatch, redis_server.url), sample(monkeypatch, redis_server.url)
    address = peer()
    try:
        async with client(app_of(first), address) as one, client(app_of(second), address) as two:
            statuses = [(await http.get("/")).status_code for http in (one, two) * 3]
    finally:
        await first.store.aclose()
        await second.store.aclose()

    assert first.store is not second.store
    assert statuses == [200] * 5 + [429]


async def test_the_lifespan_closes_the_stores_connections(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At shutdown the app's lifespan closes the pool the store made from the URL."""
    name = f"docs-{uuid.uuid4().hex}"
    module = sample(monkeypatch, f"{redis_server.url}?client_name={name}")
    async with client(app_of(module), peer()) as http:
        await http.get("/")

    before = redis_server.client_names()
    await lifespan(app_of(module))

    assert name in before
    assert await redis_server.disconnected(name)


async def lifespan(app: ASGIApp) -> list[Message]:
    """Run the app's lifespan from startup to shutdown; what it sent."""
    incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[Message] = []

    async def receive() -> Message:
        return next(incoming)

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    await app(scope, receive, send)
    return sent


def test_every_url_form_builds_a_store_without_connecting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The URLs of the docs: TCP, TLS, ACL users, options, a socket, a cluster, a prefix."""
    module = sample(monkeypatch, "redis://127.0.0.1:1/0")  # nothing listens there

    stores = module.url_examples()

    assert [repr(store) for store in stores] == [
        "RedisStore(<Redis owned>, prefix='rl')",
        "RedisStore(<Redis owned>, prefix='rl')",
        "RedisStore(<Redis owned>, prefix='rl')",
        "RedisStore(<Redis owned>, prefix='rl')",
        "RedisStore(<Redis owned>, prefix='rl')",
        "RedisStore(<RedisCluster owned>, prefix='rl')",
        "RedisStore(<Redis owned>, prefix='shop-api')",
    ]
    pools = [store._client.connection_pool.connection_kwargs for store in stores[:5]]
    assert pools[1]["password"] == "s3cret"  # noqa: S105 - the sample's placeholder
    assert pools[2]["username"] == "rate-limit"
    assert pools[2]["db"] == 2
    assert stores[3]._client.connection_pool.max_connections == 50  # the URL's, not 100
    assert pools[4]["path"] == "/run/redis/redis.sock"


async def test_a_borrowed_client_stays_open(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client sample: the store decides through the app's client and leaves it open.

    Its pool waits for a free connection when all 100 are busy, as the Pooling paragraph says.
    """
    module = sample(monkeypatch, redis_server.url)
    store, redis_client = module.borrowed_store(redis_server.url)
    pool = redis_client.connection_pool
    try:
        (decision,) = await store.acquire(peer(), [RateLimit("borrowed", 3, 60)])
        await store.aclose()
        still_open = await redis_client.ping()
    finally:
        await redis_client.aclose()

    assert (decision.allowed, decision.remaining) == (True, 2)
    assert still_open is True
    assert (type(pool).__name__, pool.max_connections) == ("BlockingConnectionPool", 100)


async def test_the_cluster_sample_limits_on_a_cluster(
    redis_cluster: RedisCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cluster sample: three policies of one request, three keys in one slot, one call."""
    module = sample(monkeypatch, redis_cluster.url)
    store, cluster = module.cluster_store(redis_cluster.url)
    limits = [RateLimit("a", 1, 60), RateLimit("b", 5, 60), RateLimit("c", 9, 9)]
    key = f"ip-{uuid.uuid4().hex}"
    try:
        first = await store.acquire(key, limits)
        second = await store.acquire(key, limits)
    finally:
        await cluster.aclose()

    assert isinstance(store, RedisStore)
    assert cluster.nodes_manager.connection_kwargs["max_connections"] == 10_000  # lifted cap
    assert [d.remaining for d in first] == [0, 4, 8]
    assert [d.allowed for d in second] == [False, True, True]
    assert [d.remaining for d in second] == [0, 4, 8]  # refused by "a": nothing consumed
