"""MemoryStore: atomic without a lock, O(1) per request, bounded, pruned as requests come."""

from __future__ import annotations

import re
import tracemalloc
from collections.abc import Coroutine
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from asgi_middleware.rate_limit import Decision, MemoryStore, RateLimit

GCRA = RateLimit("gcra", 10, 60)  # 6 s an interval, 10 at once
WINDOW = RateLimit("window", 10, 60, algorithm="sliding-window")


class Clock:
    """A fake clock: the store reads ``now``, the test sets it."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def finished(call: Coroutine[Any, Any, tuple[Decision, ...]]) -> tuple[Decision, ...]:
    """Run an ``acquire`` call that must finish without suspending; return its result."""
    try:
        call.send(None)
    except StopIteration as done:
        result: tuple[Decision, ...] = done.value
        return result
    call.close()
    raise AssertionError("acquire suspended")


def test_acquire_never_suspends() -> None:
    """One step, no await: no lock to wait for, and no other request runs in the middle."""
    store = MemoryStore()
    call = store.acquire("k", [GCRA, WINDOW])

    with pytest.raises(StopIteration) as done:
        call.send(None)

    assert [decision.allowed for decision in done.value.value] == [True, True]


def test_decide_is_acquire_as_a_plain_call() -> None:
    """``decide`` answers at once, from the same state as ``acquire``."""
    store = MemoryStore(clock=Clock())
    first = store.decide("k", [GCRA])

    second = finished(store.acquire("k", [GCRA]))

    assert [decision.remaining for decision in (*first, *second)] == [9, 8]


@pytest.mark.anyio
async def test_concurrent_requests_admit_exactly_the_burst() -> None:
    """A hundred tasks at the same instant, one key: exactly ``burst`` are admitted."""
    store = MemoryStore(clock=Clock(5.0))
    results: list[bool] = []

    async def one() -> None:
        await anyio.lowlevel.checkpoint()
        [decision] = await store.acquire("k", [GCRA])
        results.append(decision.allowed)

    async with anyio.create_task_group() as group:
        for _ in range(100):
            group.start_soon(one)

    assert results.count(True) == GCRA.burst


def test_keys_have_their_own_state() -> None:
    """Spending one key's burst leaves another's untouched."""
    store = MemoryStore(clock=Clock())
    for _ in range(10):
        finished(store.acquire("a", [GCRA]))

    [a] = finished(store.acquire("a", [GCRA]))
    [b] = finished(store.acquire("b", [GCRA]))

    assert (a.allowed, b.allowed, b.remaining) == (False, True, 9)


def test_same_name_in_two_algorithms_keeps_two_states() -> None:
    """A GCRA and a sliding-window policy of one name never read each other's state."""
    store = MemoryStore(clock=Clock())
    finished(store.acquire("k", [RateLimit("p", 1, 60)]))

    [decision] = finished(store.acquire("k", [RateLimit("p", 1, 60, algorithm="sliding-window")]))

    assert decision.allowed
    assert len(store) == 2


# --- Bounded memory -----------------------------------------------------------------------

#: What a million distinct keys may leave allocated, with max_keys=100_000 and one policy.
# 24 MB measured on Python 3.11, 37 MB on 3.10 (larger dicts and objects): 48 MiB holds both.
CEILING = 48 * 1024 * 1024


@pytest.mark.timeout(300)
def test_a_million_keys_stay_under_the_ceiling() -> None:
    """10**6 distinct keys, nothing expiring: 100,000 kept, under 48 MiB (tracemalloc).

    The most recent keys are the ones kept. A GCRA key of this length costs about 240 bytes
    (its text, the float, the table's entry and its link), so the default bound about 24 MB.
    """
    clock = Clock()
    store = MemoryStore(clock=clock)  # max_keys=100_000
    limits = [RateLimit("day", 1000, 86_400)]
    tracemalloc.start()
    try:
        for number in range(1_000_000):
            finished(
                store.acquire(f"ip-10.{number >> 16}.{number >> 8 & 255}.{number & 255}", limits)
            )
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(store) == 100_000
    assert held < CEILING
    assert peak < CEILING
    table = store._gcra["day"]
    assert next(iter(table)) == "ip-10.13.187.160"  # number 900_000: the oldest one kept
    assert next(reversed(table)) == "ip-10.15.66.63"  # number 999_999


@pytest.mark.parametrize("policy", [GCRA, WINDOW], ids=["gcra", "sliding-window"])
def test_a_full_table_drops_its_least_recently_written_key(policy: RateLimit) -> None:
    """At ``max_keys``, a new key replaces the one written longest ago, not a recent one."""
    store = MemoryStore(max_keys=3, clock=Clock())
    for key in ("a", "b", "c"):
        finished(store.acquire(key, [policy]))
    finished(store.acquire("a", [policy]))  # "a" written again: "b" is now the oldest

    finished(store.acquire("d", [policy]))

    table = store._gcra[policy.name] if policy is GCRA else store._windows[policy.name]
    assert list(table) == ["c", "a", "d"]


def test_an_evicted_key_starts_afresh() -> None:
    """Eviction forgets a key's history: its next request is admitted as a new key's would be."""
    store = MemoryStore(max_keys=1, clock=Clock())
    limits = [RateLimit("one", 1, 60)]
    finished(store.acquire("a", limits))
    [refused] = finished(store.acquire("a", limits))
    finished(store.acquire("b", limits))  # pushes "a" out

    [again] = finished(store.acquire("a", limits))

    assert (refused.allowed, again.allowed) == (False, True)


def test_each_policy_holds_max_keys() -> None:
    """The bound is per policy: two policies hold up to twice ``max_keys`` keys."""
    store = MemoryStore(max_keys=2, clock=Clock())
    for key in ("a", "b", "c"):
        finished(store.acquire(key, [GCRA, WINDOW]))

    assert len(store) == 4
    assert list(store._gcra["gcra"]) == list(store._windows["window"]) == ["b", "c"]


def test_refused_and_unconsumed_requests_store_nothing() -> None:
    """Only a consumed request writes: a refusal by another policy adds no key anywhere."""
    store = MemoryStore(clock=Clock())
    tight = RateLimit("tight", 1, 60)
    finished(store.acquire("k", [tight]))

    decisions = finished(store.acquire("k", [GCRA, tight]))

    assert [decision.allowed for decision in decisions] == [True, False]
    assert decisions[0].remaining == GCRA.burst  # admitted, not consumed: all still there
    assert "k" not in store._gcra["gcra"]


# --- Pruning ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "expiry"),
    [
        (RateLimit("gcra", 10, 10), 1.0),
        (RateLimit("window", 10, 10, algorithm="sliding-window"), 20.0),
    ],
    ids=["gcra", "sliding-window"],
)
def test_expired_keys_are_pruned_a_few_at_a_time(policy: RateLimit, expiry: float) -> None:
    """Each write drops at most two expired keys from the head: never a scan of the table.

    A GCRA key expires when its TAT passes (one request: one interval, 1 s), a sliding-window
    key two windows after the one it was written in.
    """
    clock = Clock()
    store = MemoryStore(clock=clock)
    for number in range(100):
        finished(store.acquire(f"old-{number}", [policy]))
    clock.now = expiry

    finished(store.acquire("new-0", [policy]))
    after_one = len(store)
    for number in range(1, 60):
        finished(store.acquire(f"new-{number}", [policy]))

    assert after_one == 100 - 2 + 1
    assert len(store) == 60  # the other 98 expired keys went two a write: only new ones left


@pytest.mark.parametrize(
    ("policy", "moment"),
    [
        (RateLimit("gcra", 10, 10), 0.999),
        (RateLimit("window", 10, 10, algorithm="sliding-window"), 19.999),
    ],
    ids=["gcra", "sliding-window"],
)
def test_live_keys_are_never_pruned(policy: RateLimit, moment: float) -> None:
    """Just before expiry a key stays: pruning stops at the first live key."""
    clock = Clock()
    store = MemoryStore(clock=clock)
    finished(store.acquire("old", [policy]))
    clock.now = moment

    finished(store.acquire("new", [policy]))

    assert len(store) == 2


# --- Options and errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"max_keys": 0}, ValueError, "max_keys must be an int >= 1, got 0"),
        ({"max_keys": 1.5}, TypeError, "max_keys must be an int >= 1, got 1.5"),
        ({"clock": 3}, TypeError, "clock must be callable, got 3"),
    ],
)
def test_bad_options_are_refused(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Options fail at construction with the SPEC §2.1 message."""
    with pytest.raises(error, match=re.escape(message)):
        MemoryStore(**options)


def test_an_async_clock_is_refused() -> None:
    """The clock is called without ``await``: an ``async def`` one is a TypeError at once."""

    async def clock() -> float:
        return 0.0

    with pytest.raises(TypeError, match="clock must be a plain"):
        MemoryStore(clock=clock)  # type: ignore[arg-type]


@pytest.mark.parametrize(("cost", "policy"), [(0, GCRA), (11, GCRA), (11, WINDOW)])
def test_a_cost_no_policy_could_admit_is_refused(cost: int, policy: RateLimit) -> None:
    """A cost below 1 or above the capacity could never be admitted: ValueError, nothing spent."""
    store = MemoryStore()

    with pytest.raises(ValueError, match=f"cost must be an int from 1 to 10, got {cost}"):
        finished(store.acquire("k", [policy], cost))

    assert len(store) == 0


def test_a_cost_consumes_that_many_units() -> None:
    """``cost`` units are taken from every policy at once."""
    store = MemoryStore(clock=Clock())

    decisions = finished(store.acquire("k", [GCRA, WINDOW], 4))

    assert [decision.remaining for decision in decisions] == [6, 6]


def test_repr_and_len() -> None:
    """The repr shows the bound and the keys held; ``len`` counts keys over every policy."""
    store = MemoryStore(max_keys=5, clock=Clock())
    finished(store.acquire("k", [GCRA, WINDOW]))

    assert len(store) == 2
    assert repr(store) == "MemoryStore(max_keys=5, keys=2)"


def test_the_default_clock_is_monotonic() -> None:
    """Without a clock, time comes from ``time.monotonic``: a fresh key's TAT is ahead of it."""
    import time  # noqa: PLC0415 - the one test that reads the real clock

    store = MemoryStore()
    before = time.monotonic()
    finished(store.acquire("k", [GCRA]))

    assert before < store._gcra["gcra"]["k"] <= time.monotonic() + GCRA.interval
