"""RedisStore without a server: its options, its script's text, its parsing of a reply.

Everything that talks to Redis is in tests/live/test_redis_store.py, against a real server.
"""

from __future__ import annotations

import builtins
import hashlib
import logging
import sys
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.asyncio.cluster

from asgi_middleware import Receive, Scope, Send
from asgi_middleware.rate_limit import Decision, RateLimit, RateLimitMiddleware, RedisStore
from asgi_middleware.rate_limit._algorithms import EPSILON, UNIT_EPSILON
from asgi_middleware.rate_limit.redis_store import (
    CLUSTER_MAX_CONNECTIONS,
    EPOCH,
    MAX_CONNECTIONS,
    SCRIPT,
    SCRIPT_SHA,
    _decisions,
    _redacted,
)
from tests.support.asgi import body, http_scope, run, start

GCRA = RateLimit("gcra", 10, 60, burst=5)
WINDOW = RateLimit("window", 7, 0.5, algorithm="sliding-window")


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "rediss://user:secret@redis.example:6380/2",
        "unix:///run/redis.sock?db=1",
        "REDIS://127.0.0.1",
    ],
)
def test_a_url_makes_an_owned_client(url: str) -> None:
    """redis://, rediss:// and unix:// URLs give a redis.asyncio client the store owns."""
    store = RedisStore(url)

    assert isinstance(store._client, redis.asyncio.Redis)
    assert store._owned is True
    assert repr(store) == "RedisStore(<Redis owned>, prefix='rl')"


def test_a_cluster_url_makes_a_cluster_client() -> None:
    """``cluster=True`` builds a RedisCluster, which finds the other nodes from this one."""
    store = RedisStore("redis://127.0.0.1:7000", cluster=True)

    assert isinstance(store._client, redis.asyncio.cluster.RedisCluster)
    assert store._owned is True


@pytest.mark.parametrize(
    ("query", "most"),
    [("", MAX_CONNECTIONS), ("?max_connections=7", 7), ("?db=1&max_connections=500", 500)],
)
def test_a_url_store_waits_for_a_connection_rather_than_failing(query: str, most: int) -> None:
    """A URL store's pool blocks when full (a burst is no outage), 100 or the URL's number.

    The client owns the pool, so closing the store closes the pool too.
    """
    store = RedisStore("redis://127.0.0.1:6379/0" + query)

    pool = store._client.connection_pool
    assert type(pool) is redis.asyncio.BlockingConnectionPool
    assert (MAX_CONNECTIONS, pool.max_connections) == (100, most)
    assert store._client.auto_close_connection_pool is True


@pytest.mark.parametrize(
    ("query", "most"), [("", CLUSTER_MAX_CONNECTIONS), ("?max_connections=50", 50)]
)
def test_a_cluster_url_store_lifts_the_per_node_cap(query: str, most: int) -> None:
    """A cluster client cannot wait for a connection: its cap is Redis's maxclients or the URL's."""
    store = RedisStore("redis://127.0.0.1:7000" + query, cluster=True)

    options = store._client.nodes_manager.connection_kwargs
    assert (CLUSTER_MAX_CONNECTIONS, options["max_connections"]) == (10_000, most)


@pytest.mark.parametrize(
    "client",
    [
        redis.asyncio.Redis(),
        redis.asyncio.cluster.RedisCluster(host="127.0.0.1", port=7000),
    ],
    ids=["Redis", "RedisCluster"],
)
def test_a_client_is_borrowed(client: Any) -> None:
    """A client passed in is used as it is, and not owned: ``aclose`` leaves it open."""
    store = RedisStore(client, prefix="app-1.rl_")

    assert store._client is client
    assert store._owned is False
    assert repr(store) == f"RedisStore(<{type(client).__name__}>, prefix='app-1.rl_')"


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {"url_or_client": 6379},
            TypeError,
            (
                "url_or_client must be a redis://, rediss:// or unix:// URL, or a "
                "redis.asyncio client, got 6379"
            ),
        ),
        (
            {"url_or_client": "http://127.0.0.1:6379"},
            ValueError,
            (
                "url_or_client must be a redis://, rediss:// or unix:// URL, "
                "got 'http://127.0.0.1:6379'"
            ),
        ),
        (
            {"url_or_client": "127.0.0.1:6379"},
            ValueError,
            "url_or_client must be a redis://, rediss:// or unix:// URL, got '127.0.0.1:6379'",
        ),
        (
            {"url_or_client": "unix:///run/redis.sock", "cluster": True},
            ValueError,
            (
                "url_or_client must be a redis:// or rediss:// URL, got "
                "'unix:///run/redis.sock' with cluster=True: a cluster is reached over TCP"
            ),
        ),
        (
            {"url_or_client": "redis://h", "prefix": "rl:"},
            ValueError,
            "prefix must be 1 to 64 letters, digits, '_', '.' or '-', got 'rl:'",
        ),
        (
            {"url_or_client": "redis://h", "prefix": ""},
            ValueError,
            "prefix must be 1 to 64 letters, digits, '_', '.' or '-', got ''",
        ),
        (
            {"url_or_client": "redis://h", "prefix": b"rl"},
            TypeError,
            "prefix must be a str, got b'rl'",
        ),
        (
            {"url_or_client": "redis://h", "cluster": 1},
            TypeError,
            "cluster must be a bool, got 1",
        ),
        (
            {"url_or_client": redis.asyncio.Redis(), "cluster": True},
            ValueError,
            (
                "cluster must be False with a client, got True; the client's own type says "
                "whether it is a cluster"
            ),
        ),
    ],
)
def test_bad_options_are_refused(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Each bad option raises at construction with the one message shape (SPEC §2.1)."""
    url_or_client = options.pop("url_or_client")

    with pytest.raises(error) as raised:
        RedisStore(url_or_client, **options)

    assert str(raised.value) == message


def test_a_synchronous_client_is_refused_with_the_reason() -> None:
    """redis.Redis would block the event loop on every request: a TypeError says so."""
    client = redis.Redis()

    with pytest.raises(TypeError, match="would block the event loop on every request"):
        RedisStore(client)  # type: ignore[arg-type]


def test_a_password_never_reaches_an_error_message() -> None:
    """A refused URL is echoed with its password replaced by ``***``."""
    with pytest.raises(ValueError, match="http://user:\\*\\*\\*@host") as raised:
        RedisStore("http://user:hunter2@host:6379")

    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@h:1/0", "redis://:***@h:1/0"),
        ("redis://u@h", "redis://u@h"),
        ("redis://h:notaport", "redis://h:notaport"),
        ("redis://[::1", "redis://[::1"),
    ],
)
def test_redacted_urls(url: str, shown: str) -> None:
    """Only a password is hidden; a URL urllib cannot parse is shown as it is."""
    assert _redacted(url) == shown


def test_without_redis_py_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building a store without redis-py installed says which extra to install."""
    real_import = builtins.__import__

    def no_redis(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("redis"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_redis)
    monkeypatch.delitem(sys.modules, "redis.asyncio")

    with pytest.raises(ImportError, match=r"pip install 'asgi-middleware\[redis\]'"):
        RedisStore("redis://127.0.0.1")


def test_the_script_carries_the_shared_constants() -> None:
    """The script uses _algorithms' tolerances and the epoch, and is called by its SHA1."""
    assert f"+ {EPSILON!r}" in SCRIPT
    assert f"+ {UNIT_EPSILON!r}" in SCRIPT
    assert f"- {EPOCH})" in SCRIPT
    assert "EPSILON" not in SCRIPT
    assert "EPOCH" not in SCRIPT
    assert hashlib.sha1(SCRIPT.encode(), usedforsecurity=False).hexdigest() == SCRIPT_SHA
    # 2025-01-01T00:00:00Z, a whole number of days: windows start on UTC boundaries.
    assert EPOCH % 86_400 == 0


def test_arguments_put_every_key_in_one_hash_tag() -> None:
    """KEYS are ``prefix:{key}:name``; ARGV is the cost, then kind and parameters per policy."""
    store = RedisStore("redis://127.0.0.1", prefix="svc")

    arguments = store._arguments("ip-192.0.2.1", [GCRA, WINDOW], 2)

    assert arguments == [
        2,
        "svc:{ip-192.0.2.1}:gcra",
        "svc:{ip-192.0.2.1}:window",
        2,
        b"g",
        repr(GCRA.interval).encode(),
        b"5",
        b"w",
        b"0.5",
        b"7",
    ]


def test_the_prepared_policies_are_bounded() -> None:
    """New RateLimit objects on every call never grow the store's cache past 256 entries."""
    store = RedisStore("redis://127.0.0.1")

    for index in range(600):
        store._arguments("k", [RateLimit(f"p{index}", 1, 1)], 1)

    assert 0 < len(store._prepared) <= 256


@pytest.mark.parametrize(("cost", "capacity"), [(0, 7), (6, 5), (-1, 7), (8, 7)])
def test_a_cost_no_policy_could_admit_is_refused(cost: int, capacity: int) -> None:
    """As with MemoryStore: a cost below 1 or above a capacity is a ValueError, sent nowhere."""
    store = RedisStore("redis://127.0.0.1")
    rule = rf"cost must be an int from 1 to {capacity}, got {cost} for RateLimit"

    with pytest.raises(ValueError, match=rule):
        store._arguments("k", [WINDOW, GCRA], cost)


@pytest.mark.parametrize("kind", [bytes, str])
def test_a_reply_becomes_decisions(kind: type) -> None:
    """Integers stay integers, float strings parse exactly; str replies (decode_responses) too."""

    def text(value: str) -> Any:
        return value.encode() if kind is bytes else value

    first = [1, 4, text("0.10000000000000001"), text("0")]
    reply = [text("1.5"), *first, 0, 0, text("12"), text("3.25")]

    assert _decisions(reply) == (
        Decision(allowed=True, remaining=4, reset_after=0.1, retry_after=0.0),
        Decision(allowed=False, remaining=0, reset_after=12.0, retry_after=3.25),
    )


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_under_trio_a_call_refuses_with_the_reason() -> None:
    """redis.asyncio needs asyncio: under trio, acquire says so before any I/O."""
    store = RedisStore("redis://127.0.0.1:1")

    with pytest.raises(RuntimeError, match="RedisStore runs on asyncio only"):
        await store.acquire("k", [GCRA])


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_under_trio_the_middleware_logs_why_and_fails_open(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The middleware treats the refusal as a store failure: the warning names the reason."""
    caplog.set_level(logging.WARNING, logger="asgi_middleware.rate_limit")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(200))
        await send(body(b""))

    middleware = RateLimitMiddleware(app, limits=[GCRA], store=RedisStore("redis://127.0.0.1:1"))

    messages = await run(middleware, http_scope())

    assert messages[0]["status"] == 200
    [record] = caplog.records
    assert "RuntimeError: RedisStore runs on asyncio only" in record.getMessage()
