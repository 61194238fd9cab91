"""One limit for every worker and host: the rate limit's state in Redis (or Valkey).

Run: `REDIS_URL=redis://127.0.0.1:6379/0 uvicorn rate_limit_redis:app --workers 4
--app-dir docs/examples`, then `for i in $(seq 7); do curl -s -o /dev/null -w '%{http_code} '
localhost:8000/; done`: five 200s, then 429s, whichever of the four workers answers.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio
from redis.asyncio.cluster import RedisCluster
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware.rate_limit import RateLimit, RateLimitMiddleware, RedisStore


async def home(request: Request) -> PlainTextResponse:
    """Say hello."""
    return PlainTextResponse("Hello!\n")


# --8<-- [start:app]
# Each worker process builds its own store; they all share one Redis, so one limit.
# Keep the password out of the code: REDIS_URL=rediss://app:<password>@cache.internal:6380/0
store = RedisStore(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """Close the store's connections when the worker stops."""
    yield
    await store.aclose()  # the store made the pool from the URL, so it closes it


app = RateLimitMiddleware(
    Starlette(routes=[Route("/", home)], lifespan=lifespan),
    limits=[RateLimit("per-minute", 5, 60)],
    store=store,
    store_timeout=0.1,  # a Redis in the same region answers in a millisecond or two
    on_store_error="open",  # Redis down: serve unlimited (and log it) rather than fail
)
# --8<-- [end:app]


def url_examples() -> list[RedisStore]:
    """The forms of URL a store takes; none connects until its first request."""
    # --8<-- [start:urls]
    local = RedisStore("redis://127.0.0.1:6379/0")  # host, port, database number
    tls = RedisStore("rediss://default:s3cret@cache.example.com:6380/0")  # TLS and a password
    acl = RedisStore("rediss://rate-limit:s3cret@cache.example.com:6380/2")  # an ACL user
    pooled = RedisStore("redis://127.0.0.1:6379/0?max_connections=50&client_name=api")
    socket = RedisStore("unix:///run/redis/redis.sock?db=0")  # a local Unix socket
    cluster = RedisStore("redis://10.0.0.5:6379", cluster=True)  # a Redis Cluster: any node
    prefixed = RedisStore("redis://127.0.0.1:6379/0", prefix="shop-api")  # shop-api:{key}:name
    # --8<-- [end:urls]
    return [local, tls, acl, pooled, socket, cluster, prefixed]


def borrowed_store(url: str) -> tuple[RedisStore, redis.asyncio.Redis]:
    """A store on a client the app already has; the app closes the client."""
    # --8<-- [start:client]
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        url,
        max_connections=100,  # all busy: a call waits for one (within store_timeout)
        health_check_interval=30,  # PING a connection idle for 30 s before reusing it
        socket_connect_timeout=1,
    )
    client = redis.asyncio.Redis.from_pool(pool)  # the client closes its pool
    store = RedisStore(client)  # borrowed: store.aclose() leaves it open
    # ... and at shutdown: await client.aclose()
    # --8<-- [end:client]
    return store, client


def cluster_store(url: str) -> tuple[RedisStore, RedisCluster]:
    """A store on a Redis Cluster, from a client of your own."""
    # --8<-- [start:cluster]
    # Any node; the client finds the others. It cannot wait for a free connection, so lift
    # its per-node cap (100 from redis-py 6), past which a call would fail at once.
    client = RedisCluster.from_url(url, max_connections=10_000)
    store = RedisStore(client)  # each request's keys share one hash tag: one slot, one node
    # --8<-- [end:cluster]
    return store, client
