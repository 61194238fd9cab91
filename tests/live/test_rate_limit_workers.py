"""The limit across processes: uvicorn with four workers sharing one Redis (SPEC §14).

The app is ``tests.support.redis_servers:worker_app`` served with ``--workers 4 --factory``: one
GCRA policy keyed on one shared key, so every request of every client counts against one
bucket, whichever worker the kernel hands its connection to. Each request opens its own
connection, which spreads them over the workers.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import pytest

from tests.support.redis_servers import RedisServer
from tests.support.servers import LiveServer, serve_process

pytestmark = [pytest.mark.server, pytest.mark.anyio]

WORKERS = 4
QUOTA = 25
# GCRA with burst = quota: at most QUOTA + floor(L / 24 s) in any L seconds, so exactly QUOTA
# while a test's burst lasts less than 24 s.
WINDOW = 600
STORE_TIMEOUT = 0.25


@pytest.fixture
def anyio_backend() -> str:
    """The clients run on asyncio (the servers are processes of their own)."""
    return "asyncio"


@contextlib.contextmanager
def workers(store: str, log: Path, **settings: str) -> Iterator[LiveServer]:
    """Serve worker_app with four workers; ``settings`` become ``RL_*`` variables."""
    env = {
        "RL_STORE": store,
        "RL_QUOTA": str(QUOTA),
        "RL_WINDOW": str(WINDOW),
        "RL_KEY": f"workers-{uuid.uuid4().hex}",
        "RL_LOG": str(log),
        **{f"RL_{name.upper()}": value for name, value in settings.items()},
    }
    with serve_process(
        "tests.support.redis_servers:worker_app",
        env=env,
        timeout=30,
        factory=True,
        workers=WORKERS,
        access_log=False,
    ) as server:
        yield server


def client(server: LiveServer, connections: int = 40) -> httpx.AsyncClient:
    """A client opening a new connection per request, up to ``connections`` at once."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=0)
    return server.async_client(limits=limits)


async def wait_for_workers(server: LiveServer) -> set[str]:
    """Ask the exempt ``/pid`` until every worker has answered; their pids."""
    pids: set[str] = set()
    async with client(server, 8) as http:
        with anyio.fail_after(30):
            while len(pids) < WORKERS:
                async with anyio.create_task_group() as group:
                    for _ in range(8):
                        group.start_soon(lambda: _add_pid(http, pids))
    return pids


async def _add_pid(http: httpx.AsyncClient, pids: set[str]) -> None:
    pids.add((await http.get("/pid")).text)


async def burst(server: LiveServer, requests: int) -> list[httpx.Response]:
    """Send ``requests`` GETs at once (40 connections at a time); every response."""
    responses: list[httpx.Response] = []
    async with client(server) as http, anyio.create_task_group() as group:
        for _ in range(requests):

            async def one() -> None:
                responses.append(await http.get("/"))

            group.start_soon(one)
    return responses


async def test_four_workers_sharing_redis_admit_exactly_the_quota(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """400 concurrent requests, 16 times the quota, over four workers: exactly 25 admitted."""
    with workers(redis_server.url, tmp_path / "log") as server:
        pids = await wait_for_workers(server)
        responses = await burst(server, 16 * QUOTA)

    statuses = Counter(response.status_code for response in responses)
    assert len(pids) == WORKERS
    assert statuses == {200: QUOTA, 429: 15 * QUOTA}


async def test_four_workers_with_memory_stores_admit_about_four_times_the_quota(
    tmp_path: Path,
) -> None:
    """The same load with a MemoryStore per worker: each admits its own quota."""
    with workers("memory", tmp_path / "log") as server:
        pids = await wait_for_workers(server)
        responses = await burst(server, 16 * QUOTA)

    admitted = [response for response in responses if response.status_code == 200]
    assert len(pids) == WORKERS
    assert 2 * QUOTA < len(admitted) <= WORKERS * QUOTA
    assert len({response.text for response in admitted}) > 2  # admitted by several workers


@dataclass(frozen=True)
class Answer:
    """One response of the load: when its request started, what came back, how long it took."""

    started: float
    status: int
    limited: bool  # it carries the RateLimit field: the store decided
    took: float

    @property
    def ended(self) -> float:
        """When the response came back."""
        return self.started + self.took


@dataclass(frozen=True)
class Outage:
    """A load run with Redis stopped in its middle: the answers, when Redis stopped, restarted."""

    answers: list[Answer]
    stopped: float
    restarted: float


async def load_with_outage(server: LiveServer, redis_server: RedisServer) -> Outage:
    """Eight clients send requests back to back for 5.5 s; Redis is down from 1 s to 2.5 s."""
    answers: list[Answer] = []
    done = anyio.Event()
    async with client(server, 8) as http:

        async def load() -> None:
            while not done.is_set():
                started = anyio.current_time()
                response = await http.get("/")
                took = anyio.current_time() - started
                limited = "ratelimit" in response.headers
                answers.append(Answer(started, response.status_code, limited, took))

        try:
            async with anyio.create_task_group() as group:
                for _ in range(8):
                    group.start_soon(load)
                await anyio.sleep(1.0)
                stopped = anyio.current_time()
                redis_server.stop()
                await anyio.sleep(1.5)
                redis_server.start()
                restarted = anyio.current_time()
                await anyio.sleep(3.0)
                done.set()
        finally:
            redis_server.start()  # for the tests that follow, whatever happened here
    return Outage(answers, stopped, restarted)


@pytest.mark.parametrize(("on_store_error", "outage_status"), [("open", 200), ("closed", 503)])
async def test_an_outage_mid_load_never_fails_a_request_and_limiting_resumes(
    redis_server: RedisServer, tmp_path: Path, on_store_error: str, outage_status: int
) -> None:
    """Redis stops in the middle of a load run, then starts again on the same port.

    During the outage every request is answered within the store timeout, by the app
    (fail open) or with 503 (fail closed), never a 500; each worker logs one warning for the
    outage and one when Redis is back (failures and recoveries alternate); limiting resumes without
    restarting the app.
    """
    log = tmp_path / "log"
    settings = {"on_error": on_store_error, "timeout": str(STORE_TIMEOUT)}
    with workers(redis_server.url, log, **settings) as server:
        await wait_for_workers(server)
        run = await load_with_outage(server, redis_server)

    answers = run.answers
    assert {answer.status for answer in answers} <= {200, 429, outage_status}
    assert max(answer.took for answer in answers) < STORE_TIMEOUT + 1.0
    before = [a for a in answers if a.ended < run.stopped]
    assert all(a.limited for a in before)
    assert Counter(a.status for a in before)[200] == QUOTA  # then 429s
    # The settled outage: sent once Redis was surely gone, answered before it was back.
    outage = [a for a in answers if a.started > run.stopped + 0.3 and a.ended < run.restarted]
    assert outage
    assert {(a.status, a.limited) for a in outage} == {(outage_status, False)}
    # Limiting resumes: a fresh bucket (Redis came back empty) fills, then refuses again.
    # A second after the restart every worker's pool has replaced its dead connections (each
    # fails once, as a request of its own; redis-py 8.1 on Python 3.10 takes longest).
    after = sorted((a for a in answers if a.started > run.restarted + 1.0), key=lambda a: a.started)
    assert len(after) >= 20
    # The last answers of the run are all limited again (on a loaded machine a worker's dead
    # connections can take longer than a second to be replaced, one failed request each).
    assert all(a.limited for a in after[-10:])
    assert 429 in {a.status for a in after}
    lines = re.findall(r"^(\d+) WARNING .*?(failed|answers again)", log.read_text(), re.MULTILINE)
    warnings = Counter(lines)
    failed = {pid: count for (pid, kind), count in warnings.items() if kind == "failed"}
    recovered = {pid: count for (pid, kind), count in warnings.items() if kind == "answers again"}
    assert failed
    assert recovered
    assert set(recovered) <= set(failed)
    # One warning per outage as each worker sees it: failures and recoveries alternate. A worker
    # may see the restart flap (a request on a connection made before it fails after another has
    # been answered), which is another outage, logged once too; never a warning per request.
    assert all(failed[pid] - recovered.get(pid, 0) in {0, 1} for pid in failed)
    assert sum(failed.values()) + sum(recovered.values()) < len(outage) / 4
