"""GCRA and the sliding-window counter: their documented bounds and formulas, as properties.

The bounds are checked over any sequence of request times, through ``MemoryStore`` driven by a
fake clock. Times are whole ticks of 1/1024 s, so every time and window is an exact binary
fraction: the store's window arithmetic is then exact and the checks can use integer
arithmetic, with no rounding of their own to argue about.
"""

from __future__ import annotations

import math
from collections.abc import Coroutine, Sequence
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from asgi_middleware.rate_limit import Decision, MemoryStore, RateLimit
from asgi_middleware.rate_limit._algorithms import (
    EPSILON,
    gcra_allows,
    gcra_decision,
    window_allows,
    window_decision,
)

TICK = 1 / 1024


class Clock:
    """A fake clock: the store reads ``now``, the test sets it."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def finished(call: Coroutine[Any, Any, tuple[Decision, ...]]) -> tuple[Decision, ...]:
    """Run a ``MemoryStore.acquire`` call, which finishes without suspending, to its result."""
    try:
        call.send(None)
    except StopIteration as done:
        result: tuple[Decision, ...] = done.value
        return result
    call.close()
    raise AssertionError("MemoryStore.acquire suspended")


def admitted_ticks(
    policies: Sequence[RateLimit], gaps: Sequence[int], *, start: int = 0
) -> list[int]:
    """Send one request per gap (in ticks after the previous one); return the admitted ticks."""
    clock = Clock()
    store = MemoryStore(clock=clock)
    tick = start
    admitted = []
    for gap in gaps:
        tick += gap
        clock.now = tick * TICK
        if all(decision.allowed for decision in finished(store.acquire("k", policies))):
            admitted.append(tick)
    return admitted


# Bursts (gaps of 0), steady traffic and pauses.
gaps = st.lists(
    st.one_of(st.just(0), st.integers(0, 64), st.integers(0, 4096)), min_size=1, max_size=120
)


# --- GCRA ---------------------------------------------------------------------------------


@given(
    quota=st.integers(1, 10),
    window=st.integers(1, 4096),
    burst=st.integers(1, 12),
    gaps=gaps,
)
@example(quota=3, window=1024, burst=3, gaps=[0, 0, 0, 0, 341, 342, 341, 0])
def test_gcra_never_admits_more_than_its_bound(
    quota: int, window: int, burst: int, gaps: list[int]
) -> None:
    """Over any interval of L seconds, GCRA admits at most ``burst + floor(L / interval)``."""
    policy = RateLimit("p", quota, window * TICK, burst=burst)

    admitted = admitted_ticks([policy], gaps)

    for first, start in enumerate(admitted):
        for last in range(first, len(admitted)):
            length = admitted[last] - start  # L = length / 1024 s, interval = window / quota
            assert last - first + 1 <= burst + length * quota // window


def test_gcra_reaches_its_bound() -> None:
    """The bound is tight: a full burst at once, then one request every interval."""
    policy = RateLimit("p", 10, 10, burst=5)  # interval: 1 s
    gaps = [0] * 5 + [1024] * 5 + [0]  # 5 at 0 s, then one a second; the extra one is refused

    admitted = admitted_ticks([policy], gaps)

    assert admitted == [0] * 5 + [1024, 2048, 3072, 4096, 5120]
    assert len(admitted) == policy.burst + (5120 - 0) // 1024


def test_gcra_admits_burst_at_once_then_the_sustained_rate() -> None:
    """What GCRA's bound means to a client: ``burst`` now, then one per interval."""
    policy = RateLimit("p", 60, 60, burst=3)  # one a second, three at once

    admitted = admitted_ticks([policy], [0, 0, 0, 0, 512, 512, 1024])

    assert admitted == [0, 0, 0, 1024, 2048]


@given(
    quota=st.integers(1, 50),
    window=st.floats(0.01, 1000),
    burst=st.integers(1, 60),
    ahead=st.floats(0, 1),
    now=st.floats(0, 1e7),
)
def test_gcra_remaining_is_what_would_be_admitted_now(
    quota: int, window: float, burst: int, ahead: float, now: float
) -> None:
    """After any state, ``remaining`` more requests at the same moment are admitted, no more."""
    interval = window / quota
    tat = now + ahead * burst * interval  # anything from an idle key to a full bucket
    decision, tat = gcra_decision(tat, now, interval, burst, 1, consume=False)

    for _ in range(decision.remaining):
        assert gcra_allows(tat, now, interval, burst, 1)
        _, tat = gcra_decision(tat, now, interval, burst, 1, consume=True)
    assert not gcra_allows(tat, now, interval, burst, 1)


@given(
    quota=st.integers(1, 50),
    window=st.floats(0.01, 1000),
    burst=st.integers(1, 60),
    cost=st.integers(1, 60),
    over=st.floats(0, 1),
    now=st.floats(0, 1e7),
)
def test_gcra_retry_after_is_exact(
    *, quota: int, window: float, burst: int, cost: int, over: float, now: float
) -> None:
    """A refused request is admitted at ``now + retry_after``, and not a moment before."""
    cost = min(cost, burst)
    interval = window / quota
    # A TAT that refuses the request: beyond now + (burst - cost) * interval.
    tat = now + (burst - cost) * interval + EPSILON + (over * cost + 1e-3) * interval
    decision, kept = gcra_decision(tat, now, interval, burst, cost, consume=False)

    assert not decision.allowed
    assert kept == tat
    assert gcra_allows(tat, now + decision.retry_after, interval, burst, cost)
    early = now + decision.retry_after - max(1e-3 * interval, 2 * EPSILON)
    assert not gcra_allows(tat, early, interval, burst, cost)


@given(
    quota=st.integers(1, 50),
    window=st.floats(0.01, 1000),
    burst=st.integers(1, 60),
    used=st.integers(1, 60),
)
def test_gcra_quota_is_full_again_after_reset_after(
    quota: int, window: float, burst: int, used: int
) -> None:
    """``reset_after`` after any request, ``remaining`` is the whole burst again."""
    interval = window / quota
    tat = now = 100.0
    decision = None
    for _ in range(min(used, burst)):
        decision, tat = gcra_decision(tat, now, interval, burst, 1, consume=True)
    assert decision is not None

    later, _ = gcra_decision(tat, now + decision.reset_after, interval, burst, 1, consume=False)

    assert later.remaining == burst
    assert later.reset_after <= EPSILON


def test_gcra_decision_for_a_fresh_key() -> None:
    """The first request of a key: one unit used, the rest of the burst left."""
    decision, tat = gcra_decision(50.0, 50.0, 6.0, 10, 1, consume=True)

    assert decision == Decision(allowed=True, remaining=9, reset_after=6.0, retry_after=0.0)
    assert tat == 56.0


def test_gcra_decision_that_admits_without_consuming() -> None:
    """Another policy refused: this one admits, keeps its TAT and reports it unchanged."""
    decision, tat = gcra_decision(56.0, 50.0, 6.0, 10, 1, consume=False)

    assert decision == Decision(allowed=True, remaining=9, reset_after=6.0, retry_after=0.0)
    assert tat == 56.0


def test_gcra_decision_that_refuses() -> None:
    """A full bucket: nothing left, a full quota in ``burst * interval``, one unit after ``T``."""
    decision, tat = gcra_decision(110.0, 50.0, 6.0, 10, 1, consume=False)

    assert decision == Decision(allowed=False, remaining=0, reset_after=60.0, retry_after=6.0)
    assert tat == 110.0


# --- Sliding window -----------------------------------------------------------------------


@given(quota=st.integers(1, 10), window=st.integers(1, 4096), gaps=gaps)
@example(quota=10, window=1024, gaps=[1023, *[0] * 10, 1024, *[0] * 20])
def test_sliding_window_bounds(quota: int, window: int, gaps: list[int]) -> None:
    """At most ``quota`` per fixed window and ``2 * quota - 1`` in any ``window`` seconds."""
    policy = RateLimit("p", quota, window * TICK, algorithm="sliding-window")

    admitted = admitted_ticks([policy], gaps)

    per_window: dict[int, int] = {}
    for tick in admitted:
        index = math.floor(tick * TICK / (window * TICK))  # the store's own arithmetic
        per_window[index] = per_window.get(index, 0) + 1
    assert max(per_window.values(), default=0) <= quota
    for first, start in enumerate(admitted):
        inside = [tick for tick in admitted[first:] if tick - start <= window]
        assert len(inside) <= 2 * quota - 1


def test_sliding_window_reaches_its_bound() -> None:
    """The bound is tight: ``quota`` at the end of one window, ``quota - 1`` just inside the next.

    10 per 1024 ticks: ten requests at tick 1023 (the previous window was empty), then at tick
    2047 the previous window's ten still weigh 10 * 1/1024, so nine more fit: 19 requests within
    1024 ticks.
    """
    policy = RateLimit("p", 10, 1024 * TICK, algorithm="sliding-window")

    admitted = admitted_ticks([policy], [1023, *[0] * 10, 1024, *[0] * 10])

    assert admitted == [1023] * 10 + [2047] * 9
    assert len(admitted) == 2 * policy.quota - 1


@given(
    quota=st.integers(1, 40),
    window=st.integers(1, 4096),
    state=st.tuples(st.integers(0, 3), st.integers(0, 40), st.integers(0, 40)),
    offset=st.integers(0, 3 * 4096),
)
def test_sliding_window_remaining_is_what_would_be_admitted_now(
    quota: int, window: int, state: tuple[int, int, int], offset: int
) -> None:
    """After any state, ``remaining`` more requests at the same moment are admitted, no more."""
    index, current, previous = state
    stored = (index, min(current, quota), min(previous, quota))
    now = (index * window + offset) * TICK
    size = window * TICK
    decision, rolled = window_decision(stored, now, size, quota, 1, consume=False)

    for _ in range(decision.remaining):
        assert window_allows(rolled, now, size, quota, 1)
        _, rolled = window_decision(rolled, now, size, quota, 1, consume=True)
    assert not window_allows(rolled, now, size, quota, 1)


@given(
    quota=st.integers(1, 40),
    window=st.integers(1, 4096),
    cost=st.integers(1, 40),
    current=st.integers(0, 40),
    previous=st.integers(0, 40),
    elapsed=st.integers(0, 4095),
)
def test_sliding_window_retry_after_is_exact(
    *, quota: int, window: int, cost: int, current: int, previous: int, elapsed: int
) -> None:
    """A refused request is admitted at ``now + retry_after``, and not a tick before."""
    cost = min(cost, quota)
    current, previous, elapsed = min(current, quota), min(previous, quota), elapsed % window
    state = (1, current, previous)
    now = (window + elapsed) * TICK
    size = window * TICK
    decision, _ = window_decision(state, now, size, quota, cost, consume=False)
    if decision.allowed:
        assert decision.retry_after == 0.0
        return

    assert window_allows(state, now + decision.retry_after, size, quota, cost)
    assert not window_allows(state, now + decision.retry_after - TICK / 64, size, quota, cost)


@given(
    quota=st.integers(1, 40),
    window=st.integers(1, 4096),
    used=st.integers(1, 40),
    elapsed=st.integers(0, 4095),
)
def test_sliding_window_quota_is_full_again_after_reset_after(
    quota: int, window: int, used: int, elapsed: int
) -> None:
    """``reset_after`` after any admitted request, the whole quota is available again."""
    size = window * TICK
    now = (window * 5 + elapsed % window) * TICK
    state: tuple[int, int, int] | None = None
    decision = None
    for _ in range(min(used, quota)):
        decision, state = window_decision(state, now, size, quota, 1, consume=True)
    assert decision is not None

    later, _ = window_decision(state, now + decision.reset_after, size, quota, 1, consume=False)

    assert later.remaining == quota
    assert later.reset_after == 0.0


@pytest.mark.parametrize(
    ("state", "now", "expected"),
    [
        # A fresh key at 2.25 s of 4 s windows: one used, three left, full again 2 windows on.
        (None, 2.25, Decision(allowed=True, remaining=3, reset_after=5.75, retry_after=0.0)),
        # An eighth into this window, the last one's 4 still weigh 3.5: no room until they
        # weigh 3, a quarter in.
        ((0, 4, 0), 4.5, Decision(allowed=False, remaining=0, reset_after=3.5, retry_after=0.5)),
        # Two windows on, nothing is left of the old counts.
        ((0, 4, 4), 8.5, Decision(allowed=True, remaining=3, reset_after=7.5, retry_after=0.0)),
        # 4 counted in this window: the next one, once this one's weight falls below 3/4.
        ((1, 4, 0), 5.0, Decision(allowed=False, remaining=0, reset_after=7.0, retry_after=4.0)),
        # A clock that went back: the stored window goes on, at its start.
        ((3, 1, 0), 5.0, Decision(allowed=True, remaining=2, reset_after=8.0, retry_after=0.0)),
    ],
)  # fmt: skip
def test_sliding_window_decisions(
    state: tuple[int, int, int] | None, now: float, expected: Decision
) -> None:
    """Worked examples of the formulas (quota 4 per 4 s); refused ones do not consume."""
    allowed = window_allows(state, now, 4.0, 4, 1)

    decision, _ = window_decision(state, now, 4.0, 4, 1, consume=allowed)

    assert decision == expected


# --- Several policies ---------------------------------------------------------------------


@given(gaps=gaps)
def test_a_refused_request_consumes_from_no_policy(gaps: list[int]) -> None:
    """Each policy's state equals that of the policy alone fed only the admitted requests."""
    short = RateLimit("short", 3, 1024 * TICK, burst=2)
    long = RateLimit("long", 5, 4096 * TICK, algorithm="sliding-window")
    clock = Clock()
    both = MemoryStore(clock=clock)
    alone = {name: MemoryStore(clock=clock) for name in ("short", "long")}
    tick = 0
    for gap in gaps:
        tick += gap
        clock.now = tick * TICK
        decisions = finished(both.acquire("k", [short, long]))
        if all(decision.allowed for decision in decisions):
            assert finished(alone["short"].acquire("k", [short])) == (decisions[0],)
            assert finished(alone["long"].acquire("k", [long])) == (decisions[1],)

    assert both._gcra["short"] == alone["short"]._gcra["short"]
    assert both._windows["long"] == alone["long"]._windows["long"]
