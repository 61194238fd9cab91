"""RedisStore against a real redis-server and a real three-node Redis Cluster (SPEC §14).

Nothing is mocked: the script, the keys, their expiry and the server's clock are the real ones.
Every test that takes ``topology`` runs on a single server and on the cluster. The server's
clock is real time, so the windows are short and the sequences brief.
"""

from __future__ import annotations

import logging
import math
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import redis
import redis.asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.crc import key_slot

from asgi_middleware import ASGIApp, Receive, Scope, Send
from asgi_middleware.rate_limit import (
    Decision,
    MemoryStore,
    RateLimit,
    RateLimitMiddleware,
    RedisStore,
)
from asgi_middleware.rate_limit._algorithms import EPSILON
from asgi_middleware.rate_limit.redis_store import EPOCH, SCRIPT, SCRIPT_SHA, _decisions
from tests.support.asgi import http_scope, respond, run
from tests.support.redis_servers import RedisCluster, RedisServer, redis_binary

pytestmark = pytest.mark.anyio

# The commands a store's script runs on the server; everything else a client would send itself.
_SCRIPT_COMMANDS = frozenset({"time", "get", "set"})


@pytest.fixture
def anyio_backend() -> str:
    """redis.asyncio runs on asyncio only (trio: tests/unit/test_redis_store.py)."""
    return "asyncio"


@dataclass(frozen=True)
class Topology:
    """A single server or a cluster, with what the tests need of either.

    Its own commands go over one connection per node, opened before any count is reset, so
    the counts hold only what the store sent.
    """

    name: str
    url: str
    cluster: bool
    nodes: tuple[RedisServer, ...]
    of: RedisCluster | None = None
    admins: dict[int, redis.Redis] = field(default_factory=dict)

    def admin(self, node: RedisServer) -> redis.Redis:
        """The test's own connection to ``node``."""
        if node.port not in self.admins:
            self.admins[node.port] = node.client()
            self.admins[node.port].ping()
        return self.admins[node.port]

    def close(self) -> None:
        """Close the test's connections."""
        for client in self.admins.values():
            client.close()

    def store(self, query: str = "", **options: Any) -> RedisStore:
        """A store from this topology's URL (plus ``query``), which it owns."""
        return RedisStore(self.url + query, cluster=self.cluster, **options)

    def node_for(self, key: str) -> RedisServer:
        """The node holding ``key``."""
        return self.nodes[0] if self.of is None else self.of.node_for(key)

    def each(self, *command: Any) -> list[Any]:
        """Run ``command`` on every node; their replies."""
        return [
            self.admin(node).execute_command(*command)  # type: ignore[no-untyped-call]
            for node in self.nodes
        ]

    def commands(self) -> Counter[str]:
        """Calls per command since the last reset, summed over the nodes (INFO commandstats)."""
        counts: Counter[str] = Counter()
        for node in self.nodes:
            for name, stats in self.admin(node).info("commandstats").items():
                counts[name.removeprefix("cmdstat_")] += stats["calls"]
        for bookkeeping in ("info", "config|resetstat"):
            counts.pop(bookkeeping, None)
        return counts


@pytest.fixture(params=["single", "cluster"])
def topology(request: pytest.FixtureRequest) -> Iterator[Topology]:
    """The single server, then the cluster (started once per session each)."""
    if request.param == "single":
        server: RedisServer = request.getfixturevalue("redis_server")
        made = Topology("single", server.url, cluster=False, nodes=(server,))
    else:
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        made = Topology("cluster", cluster.url, cluster=True, nodes=cluster.nodes, of=cluster)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
async def store(topology: Topology) -> AsyncIterator[RedisStore]:
    """A store on the topology, closed after the test."""
    made = topology.store()
    try:
        yield made
    finally:
        await made.aclose()


def fresh(label: str = "t") -> str:
    """A request key no other test uses."""
    return f"{label}-{uuid.uuid4().hex}"


async def timed(
    store: RedisStore, key: str, limits: Sequence[RateLimit], cost: int = 1
) -> tuple[float, tuple[Decision, ...]]:
    """One call of the script as ``acquire`` makes it: the server's time, the decisions."""
    arguments = store._arguments(key, limits, cost)
    client: Any = store._client
    try:
        reply = await client.evalsha(SCRIPT_SHA, *arguments)
    except redis.exceptions.NoScriptError:
        reply = await client.eval(SCRIPT, *arguments)
    return float(reply[0]), _decisions(reply)


# --- The same decisions as MemoryStore ------------------------------------------------------

windows = st.floats(0.05, 0.3).map(lambda value: round(value, 3))
policy_specs = st.one_of(
    st.tuples(st.just("gcra"), st.integers(1, 4), windows, st.integers(1, 4)),
    st.tuples(st.just("sliding-window"), st.integers(1, 4), windows, st.none()),
)
steps = st.lists(
    st.tuples(
        st.lists(st.integers(0, 2), min_size=1, max_size=3, unique=True),  # which policies
        st.integers(1, 4),  # cost, at most the smallest capacity
        st.integers(0, 30),  # ms to wait before the request
    ),
    min_size=1,
    max_size=10,
)


def make_policies(specs: Sequence[tuple[str, int, float, int | None]]) -> list[RateLimit]:
    """One RateLimit per spec, named by position."""
    return [
        RateLimit(f"p{index}", quota, window, burst=burst, algorithm=algorithm)  # type: ignore[arg-type]
        for index, (algorithm, quota, window, burst) in enumerate(specs)
    ]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(specs=st.lists(policy_specs, min_size=3, max_size=3), sequence=steps)
async def test_decisions_equal_the_memory_store_at_the_same_time(
    topology: Topology,
    specs: list[tuple[str, int, float, int | None]],
    sequence: list[tuple[list[int], int, int]],
) -> None:
    """Driven by the same requests, the script decides exactly as MemoryStore at its time."""
    policies = make_policies(specs)
    clock = [0.0]
    memory = MemoryStore(clock=lambda: clock[0])
    store, key = topology.store(), fresh("same")
    try:
        for chosen, wanted, wait in sequence:
            limits = [policies[index] for index in chosen]
            cost = min(wanted, *(policy.capacity for policy in limits))
            await anyio.sleep(wait / 1000)
            clock[0], decided = await timed(store, key, limits, cost)

            assert decided == memory.decide(key, limits, cost)
    finally:
        await store.aclose()


async def test_acquire_decides_as_the_script_and_refuses_all_or_nothing(
    store: RedisStore,
) -> None:
    """One policy refuses: none consumes, each decision describes the state as it stays."""
    one, five = RateLimit("one", 1, 60), RateLimit("five", 5, 60)
    key = fresh()

    first = await store.acquire(key, [one, five])
    second = await store.acquire(key, [one, five])
    alone = await store.acquire(key, [five])

    assert [(d.allowed, d.remaining) for d in first] == [(True, 0), (True, 4)]
    assert [(d.allowed, d.remaining) for d in second] == [(False, 0), (True, 4)]
    assert 59.9 < second[0].retry_after <= 60
    assert second[1].retry_after == 0.0
    assert [(d.allowed, d.remaining) for d in alone] == [(True, 3)]


# --- The documented bounds, in real time ----------------------------------------------------


async def flood(
    store: RedisStore, key: str, policy: RateLimit, seconds: float, tasks: int = 6
) -> tuple[list[float], int]:
    """Call from ``tasks`` callers for ``seconds``: the admitted calls' times, the refusals.

    The times are the server's, as the script used them, sorted.
    """
    admitted: list[float] = []
    refused = 0
    # One call first, alone: redis-py 8.1 (the newest on Python 3.10) can fail when several tasks
    # open a fresh RedisCluster's first connections at once ("'NoneType' object has no attribute
    # 'writelines'"); 8.2 does not. Its decision counts like any other.
    now, (decision,) = await timed(store, key, [policy])
    if decision.allowed:
        admitted.append(now)
    else:  # pragma: no cover - the first call on a fresh key is always admitted
        refused += 1
    deadline = anyio.current_time() + seconds

    async def caller() -> None:
        nonlocal refused
        while anyio.current_time() < deadline:
            now, (decision,) = await timed(store, key, [policy])
            if decision.allowed:
                admitted.append(now)
            else:
                refused += 1

    async with anyio.create_task_group() as group:
        for _ in range(tasks):
            group.start_soon(caller)
    return sorted(admitted), refused


def microseconds(times: Sequence[float]) -> list[int]:
    """The server's times as the whole microseconds TIME gave (the float is within 4 ns)."""
    return [round(now * 1_000_000) for now in times]


async def test_gcra_never_admits_more_than_its_bound(store: RedisStore) -> None:
    """Over any stretch of L seconds: at most burst + floor((L + EPSILON) / interval).

    TIME counts whole microseconds and EPSILON is one, so requests land exactly on the bound's
    edges: it is checked in integer microseconds, where it is exact.
    """
    policy = RateLimit("bound", 4, 0.2, burst=3)  # 3 at once, then one every 50 ms
    admitted, refused = await flood(store, fresh("gcra"), policy, 0.6)

    interval, epsilon = 50_000, round(EPSILON * 1_000_000)
    times = microseconds(admitted)
    for first in range(len(times)):
        for last in range(first, len(times)):
            stretch = times[last] - times[first]
            allowed = policy.burst + (stretch + epsilon) // interval
            assert last - first + 1 <= allowed, (first, last, stretch)
    # Far over the limit, and more than the burst: not a store that refuses everything.
    assert refused > len(admitted)
    assert len(admitted) >= policy.burst + 2


async def test_the_sliding_window_never_admits_more_than_its_bounds(store: RedisStore) -> None:
    """At most quota per fixed window of the server's clock, 2 * quota - 1 in any window."""
    policy = RateLimit("window", 3, 0.1, algorithm="sliding-window")
    admitted, refused = await flood(store, fresh("window"), policy, 0.6)

    # The fixed windows as the script computes them, in floats.
    per_window = Counter(math.floor(now / policy.window) for now in admitted)
    assert max(per_window.values()) <= policy.quota
    times = microseconds(admitted)
    for first in range(len(times)):
        inside = [now for now in times[first:] if now - times[first] < 100_000]
        assert len(inside) <= 2 * policy.quota - 1
    assert refused > len(admitted)
    assert len(admitted) > policy.quota


# --- Keys, slots and expiry -----------------------------------------------------------------


async def test_keys_carry_the_hash_tag_and_live_in_one_slot(
    topology: Topology, store: RedisStore
) -> None:
    """``rl:{key}:name`` for each policy, all on the node of the key's slot, each expiring."""
    policies = [
        RateLimit("per-second", 5, 1),
        RateLimit("per-minute", 100, 60),
        RateLimit("windowed", 10, 10, algorithm="sliding-window"),
    ]
    key = fresh("slot")

    await store.acquire(key, policies)

    names = [f"rl:{{{key}}}:{policy.name}" for policy in policies]
    found = {
        node.port: sorted(map(os.fsdecode, topology.admin(node).keys(f"rl:{{{key}}}:*")))
        for node in topology.nodes
    }
    home = topology.node_for(key)
    assert found[home.port] == sorted(names)
    assert all(not keys for port, keys in found.items() if port != home.port)
    slots = {key_slot(name.encode()) for name in names}
    assert slots == {key_slot(key.encode())}
    if topology.cluster:
        with home.client() as client:
            reported = {client.execute_command("CLUSTER", "KEYSLOT", name) for name in names}
        assert reported == slots
    with home.client() as client:
        ttls = [client.pttl(name) for name in names]
        values = [client.get(name) or b"" for name in names]
    # GCRA: until the TAT, one interval away (+1 ms); the window: two windows after its start.
    # One more ms at most: the script rounds up a difference of two epoch times in seconds,
    # which a double holds to about 0.2 µs, so 0.2 s can come out as 200.00005 ms, then 201.
    assert 150 < ttls[0] <= 202
    assert 550 < ttls[1] <= 602
    assert 9_000 < ttls[2] <= 20_002
    assert values[2].endswith(b" 1 0")


async def test_a_prefix_keeps_apps_apart(topology: Topology) -> None:
    """Two stores with different prefixes count the same key and policy apart."""
    policy, key = RateLimit("one", 1, 60), fresh("prefix")
    first, second = topology.store(prefix="app-a"), topology.store(prefix="app-b")
    try:
        decisions = [await store.acquire(key, [policy]) for store in (first, second, first)]
    finally:
        await first.aclose()
        await second.aclose()

    assert [decision.allowed for (decision,) in decisions] == [True, True, False]
    with topology.node_for(key).client() as client:
        assert client.exists(f"app-a:{{{key}}}:one", f"app-b:{{{key}}}:one") == 2


# --- One round trip, EVALSHA, and EVAL when the cache was flushed ---------------------------


async def test_one_command_per_request(topology: Topology, store: RedisStore) -> None:
    """Per request the client sends exactly one EVALSHA; the rest is the script's own work."""
    limits = [RateLimit("a", 3, 60), RateLimit("b", 100, 60)]
    key = fresh("count")
    await store.acquire(fresh("warm"), limits)  # the script is cached on the key's node
    await store.acquire(key, [RateLimit("warm", 1, 1)])
    topology.each("CONFIG", "RESETSTAT")

    decisions = [await store.acquire(key, limits) for _ in range(10)]

    admitted = sum(first.allowed for first, _ in decisions)
    assert admitted == 3
    commands = topology.commands()
    assert commands == {"evalsha": 10, "time": 10, "get": 20, "set": 2 * admitted}
    assert set(commands) - {"evalsha"} <= _SCRIPT_COMMANDS


async def test_after_script_flush_eval_sends_the_script_once(
    topology: Topology, store: RedisStore
) -> None:
    """EVALSHA fails with NOSCRIPT, EVAL runs (and caches) the script, EVALSHA works again."""
    policy, key = RateLimit("flush", 10, 60), fresh("flush")
    await store.acquire(key, [policy])
    topology.each("SCRIPT", "FLUSH")
    topology.each("CONFIG", "RESETSTAT")

    first = await store.acquire(key, [policy])
    after_flush = topology.commands()
    second = await store.acquire(key, [policy])
    after = topology.commands()

    assert [d.remaining for d in (*first, *second)] == [8, 7]
    assert (after_flush["evalsha"], after_flush["eval"]) == (1, 1)
    assert (after["evalsha"], after["eval"]) == (2, 1)
    with topology.node_for(key).client() as client:
        assert client.script_exists(SCRIPT_SHA) == [True]


# --- The server's clock ---------------------------------------------------------------------


def server_time(node: RedisServer) -> float:
    """The node's TIME, less the store's epoch."""
    with node.client() as client:
        seconds, micros = client.time()
    return float(seconds - EPOCH + micros / 1e6)


async def test_the_servers_clock_decides_not_the_apps(
    topology: Topology, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With this process's clocks ten years off, the state and the decisions follow TIME."""
    decade = 10 * 365 * 86_400.0
    for name in ("time", "monotonic", "perf_counter"):
        real: Callable[[], float] = getattr(time, name)
        monkeypatch.setattr(time, name, lambda real=real: real() + decade)
    real_ns = time.time_ns
    monkeypatch.setattr(time, "time_ns", lambda: real_ns() + int(decade * 1e9))
    policy, key = RateLimit("clock", 1, 100), fresh("clock")
    node = topology.node_for(key)
    store = topology.store()
    try:
        before = server_time(node)
        (admitted,) = await store.acquire(key, [policy])
        after = server_time(node)
        (refused,) = await store.acquire(key, [policy])
    finally:
        await store.aclose()

    with node.client() as client:
        tat = float(client.get(f"rl:{{{key}}}:clock"))
    assert before + 100 <= tat <= after + 100
    assert admitted == Decision(allowed=True, remaining=0, reset_after=100.0, retry_after=0.0)
    assert not refused.allowed
    assert 99 < refused.retry_after <= 100


# --- Cancellation and timeouts --------------------------------------------------------------


async def test_a_cancelled_call_never_hands_its_reply_to_the_next(topology: Topology) -> None:
    """A call cancelled while the server holds its command leaves no reply behind.

    Its connection is dropped; later calls on the same one-connection pool each get their own.
    """
    store = topology.store("?max_connections=1")
    cancelled_key = fresh("cancelled")
    try:
        await store.acquire(cancelled_key, [RateLimit("seven", 7, 60)])
        topology.each("CLIENT", "PAUSE", 400, "WRITE")  # EVALSHA waits, reads go on
        try:
            with anyio.move_on_after(0.1) as scope:
                await store.acquire(cancelled_key, [RateLimit("seven", 7, 60)])
        finally:
            topology.each("CLIENT", "UNPAUSE")
        replies = [
            await store.acquire(fresh("after"), [RateLimit(f"q{quota}", quota, 60)])
            for quota in range(2, 12)
        ]
    finally:
        await store.aclose()

    assert scope.cancelled_caught
    assert [decision.remaining for (decision,) in replies] == list(range(1, 11))


def hello_app() -> ASGIApp:
    """An app answering ``hello``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await respond(send, b"hello")

    return app


@pytest.mark.parametrize(("on_store_error", "status"), [("open", 200), ("closed", 503)])
async def test_a_redis_that_hangs_is_given_up_on_within_the_timeout(
    topology: Topology,
    caplog: pytest.LogCaptureFixture,
    on_store_error: str,
    status: int,
) -> None:
    """CLIENT PAUSE: every request is answered within store_timeout, by the app or with 503.

    One warning per outage; once Redis answers, requests are limited again.
    """
    caplog.set_level(logging.WARNING, logger="asgi_middleware.rate_limit")
    store, key = topology.store(), fresh("hang")
    app = RateLimitMiddleware(
        hello_app(),
        limits=[RateLimit("hang", 5, 60)],
        key=lambda _: key,
        store=store,
        store_timeout=0.2,
        on_store_error=on_store_error,  # type: ignore[arg-type]
    )
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await client.get("/")  # connected, script cached
            topology.each("CLIENT", "PAUSE", 5000, "WRITE")
            try:
                durations, answers = [], []
                for _ in range(3):
                    started = anyio.current_time()
                    answers.append(await client.get("/"))
                    durations.append(anyio.current_time() - started)
            finally:
                topology.each("CLIENT", "UNPAUSE")
            recovered = await client.get("/")
    finally:
        await store.aclose()

    assert [answer.status_code for answer in answers] == [status] * 3
    assert all("ratelimit" not in answer.headers for answer in answers)
    assert max(durations) < 0.2 + 0.3
    assert recovered.status_code == 200
    assert recovered.headers["ratelimit"].startswith('"hang";r=')
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("the rate-limit store (RedisStore) failed: TimeoutError")
    assert messages[1].startswith("the rate-limit store (RedisStore) answers again")


# --- The pool of a store built from a URL ---------------------------------------------------


@pytest.mark.parametrize("on_store_error", ["open", "closed"])
async def test_a_burst_past_the_pool_waits_for_connections_and_is_counted_exactly(
    topology: Topology, caplog: pytest.LogCaptureFixture, on_store_error: str
) -> None:
    """400 requests at once on one key, quota 10: exactly 10 admitted, no store failure.

    Four times the default 100 connections: redis-py's plain pool (and, from redis-py 6, the
    cluster client's per-node cap of 100) failed every call past the 100th at once, so with
    ``"open"`` those requests went through uncounted, with ``"closed"`` they got 503, and an
    outage was logged. On a single server the store's blocking pool makes them wait for one
    of its 100 connections; a cluster client cannot wait, so the store lifts its cap and a
    burst opens a connection per call in flight. The failure was immediate, so the generous
    ``store_timeout`` hides nothing: it only keeps a loaded machine, serving 400 requests in
    one process (and, on the cluster, opening 400 connections), from timing out.
    """
    caplog.set_level(logging.WARNING, logger="asgi_middleware")
    name, key = fresh("burst"), fresh("burst")
    store = topology.store(f"?client_name={name}")
    errors: list[Exception] = []
    app = RateLimitMiddleware(
        hello_app(),
        limits=[RateLimit("burst", 10, 60)],
        key=lambda _: key,
        store=store,
        on_store_error=on_store_error,  # type: ignore[arg-type]
        store_timeout=10,
        on_error_callback=errors.append,
    )
    statuses: list[int] = []

    async def one() -> None:
        messages = await run(app, http_scope(), timeout=30)
        statuses.append(messages[0]["status"])

    try:
        # Connected first: a cluster client's first call finds the nodes, and the burst would
        # queue behind that one lock instead of running at once.
        await store.acquire(fresh("warm"), [RateLimit("warm", 1, 60)])
        async with anyio.create_task_group() as group:
            for _ in range(400):
                group.start_soon(one)
        opened = sum(
            entry["name"] == name
            for node in topology.nodes
            for entry in topology.admin(node).client_list()
        )
    finally:
        await store.aclose()

    assert Counter(statuses) == {200: 10, 429: 390}
    assert errors == []
    assert [record.getMessage() for record in caplog.records] == []
    # A cluster client opens one connection per call in flight on each node (see above).
    assert 0 < opened <= (10_000 if topology.cluster else 100)


# --- Clients: owned or borrowed, bytes or str -----------------------------------------------


async def test_a_store_from_a_url_closes_its_pool_and_one_from_a_client_does_not(
    redis_server: RedisServer,
) -> None:
    """``aclose`` disconnects an owned client, and leaves a borrowed one connected."""
    owned_name, borrowed_name = fresh("owned"), fresh("borrowed")
    owned = RedisStore(f"{redis_server.url}?client_name={owned_name}")
    client = redis.asyncio.Redis.from_url(f"{redis_server.url}?client_name={borrowed_name}")
    borrowed = RedisStore(client)
    policy = RateLimit("close", 10, 60)
    try:
        await owned.acquire(fresh(), [policy])
        await borrowed.acquire(fresh(), [policy])
        connected = redis_server.client_names()

        await owned.aclose()
        await borrowed.aclose()
        owned_closed = await redis_server.disconnected(owned_name)
        remaining = redis_server.client_names()
    finally:
        await client.aclose()

    assert {owned_name, borrowed_name} <= set(connected)
    assert owned_closed
    assert borrowed_name in remaining


async def test_a_client_decoding_responses_gets_the_same_decisions(
    redis_server: RedisServer,
) -> None:
    """``decode_responses=True`` turns the reply's strings into str: parsed alike."""
    client = redis.asyncio.Redis.from_url(redis_server.url, decode_responses=True)
    store = RedisStore(client)
    policy = RateLimit("decode", 2, 60)
    key = fresh("decode")
    try:
        decisions = [await store.acquire(key, [policy]) for _ in range(3)]
    finally:
        await client.aclose()

    assert [(d.allowed, d.remaining) for (d,) in decisions] == [(True, 1), (True, 0), (False, 0)]
    assert [round(d.reset_after) for (d,) in decisions] == [30, 60, 60]
    assert isinstance(decisions[2][0].retry_after, float)
    assert 29 < decisions[2][0].retry_after <= 30  # one interval, less the time since


# --- The fixtures' guard --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ci", "outcome"), [("", pytest.skip.Exception), ("true", pytest.fail.Exception)]
)
def test_a_missing_redis_server_skips_with_the_hint_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str, outcome: type[BaseException]
) -> None:
    """No redis-server: the Redis tests are skipped with the install hint, failed under CI."""
    monkeypatch.setenv("REDIS_SERVER", str(tmp_path / "redis-server"))
    monkeypatch.setenv("CI", ci)

    with pytest.raises(outcome, match="apt-get install redis-server"):
        redis_binary()
