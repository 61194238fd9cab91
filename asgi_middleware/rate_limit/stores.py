"""Where rate-limit state lives: the ``Store`` protocol and ``MemoryStore``.

A store makes one atomic step per request, :meth:`Store.acquire`: for one key and every policy
that applies to the request, it reads the state, decides (``_algorithms.py`` holds the
arithmetic every store shares), consumes only if every policy admits the request, and returns
one :class:`Decision` per policy. The middleware takes the answer and every header value from
that one step, never from a second read.

Key layout: a store that keeps its state under string keys (the Redis store) writes a
policy's state for a request key at ``"rl:{" + key + "}:" + policy.name``. The request key sits
in braces, a Redis Cluster hash tag, so every key one request touches is in one slot and one
script can read and write them all. Request keys are printable ASCII without spaces, ``{``,
``}`` or ``:``, at most 206 characters (the middleware hashes any other, ``keys.py``), and
policy names are tokens, so no client value can reach into another key's slot or name.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from asgi_middleware._kit.config import require_int, require_sync_callable
from asgi_middleware.rate_limit._algorithms import (
    WindowState,
    gcra_allows,
    gcra_decision,
    window_allows,
    window_decision,
)
from asgi_middleware.rate_limit.policies import Decision, RateLimit, _check_cost

__all__ = ["Decision", "MemoryStore", "Store"]

# Expired keys a write prunes from the head of its table, at most: more than the one key a write
# may add, so expired keys never pile up, and few enough to keep each request O(1).
_PRUNE = 2
_V = TypeVar("_V")


class _Tables(dict[str, OrderedDict[str, _V]]):
    """The tables of one algorithm by policy name; a policy's table is made when first used."""

    __slots__ = ()

    def __missing__(self, name: str) -> OrderedDict[str, _V]:
        table: OrderedDict[str, _V] = OrderedDict()
        self[name] = table
        return table


class Store(Protocol):
    """What the middleware needs of a store: one atomic ``acquire`` per request.

    ``acquire`` is an ``async def`` method (or an object whose ``__call__`` is one): the
    middleware awaits it, and refuses a store whose ``acquire`` is a plain function when it is
    built, with a ``TypeError``.

    Added in version 0.1.0.
    """

    async def acquire(
        self, key: str, limits: Sequence[RateLimit], cost: int = 1
    ) -> tuple[Decision, ...]:
        """Decide, in one atomic step, whether ``limits`` admit a request of ``key``.

        Every policy is checked; if any refuses, none consumes. A shared store (Redis) does
        this in one round trip, on its own clock.

        Args:
            key: The request's key, as the middleware's key function made it: printable
                ASCII without spaces, ``{``, ``}`` or ``:``.
            limits: The policies that apply to this request, at least one, distinct names.
            cost: The units the request consumes in each policy, from 1 to the smallest
                capacity (``burst`` for GCRA, ``quota`` for the sliding window).

        Returns:
            One decision per policy, in the order of ``limits``.
        """
        ...


class MemoryStore:
    """Rate-limit state in this process's memory: the default store.

    Each policy keeps a table of request keys, bounded by ``max_keys``, in the order they were
    last written. A request costs O(1): one lookup per policy and, when it consumes, a write
    that moves the key to the end of its table. A new key also prunes at most two expired keys
    from the head, never a scan; when the table is full, its least recently written key is
    dropped to make room.

    There is no lock: ``acquire`` never awaits, so under one event loop each call runs whole,
    and one request's decisions for all its policies are atomic. One store serves one process
    and one event loop thread; sharing it across threads is not supported, and each worker
    process has its own (use a shared store, such as Redis, for a limit across workers).

    Args:
        max_keys: The most keys each policy holds. Expired keys are pruned as requests come,
            and a full table drops its least recently written key: that key's history is
            forgotten, so its next request may be admitted where it would have been refused.
            Memory grows with ``max_keys`` times the number of policies, never beyond: about
            250 bytes a key and policy for a client-address key (24 MB for the default bound).
        clock: Returns the time in seconds; monotonic, never going back. The default,
            ``time.monotonic``, is not changed by clock adjustments. Tests pass a fake clock.

    Example:
        ```python
        store = MemoryStore(max_keys=500_000)
        app = RateLimitMiddleware(app, limits=[RateLimit("api", 100, 60)], store=store)
        ```

    Added in version 0.1.0.
    """

    __slots__ = ("_clock", "_gcra", "_max", "_windows")

    def __init__(
        self, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max = require_int("max_keys", max_keys, minimum=1)
        self._clock = require_sync_callable("clock", clock)
        # One table per policy name and algorithm: key -> TAT, key -> (index, current, prev).
        self._gcra: _Tables[float] = _Tables()
        self._windows: _Tables[WindowState] = _Tables()

    def __len__(self) -> int:
        """The number of keys held, over every policy."""
        return sum(map(len, self._gcra.values())) + sum(map(len, self._windows.values()))

    def __repr__(self) -> str:
        return f"MemoryStore(max_keys={self._max}, keys={len(self)})"

    async def acquire(
        self, key: str, limits: Sequence[RateLimit], cost: int = 1
    ) -> tuple[Decision, ...]:
        """Decide for ``key`` under ``limits`` and consume only if all admit (see `Store`).

        Raises:
            ValueError: ``cost`` is below 1 or above a policy's ``capacity``: such a request
                could never be admitted.
        """
        return self.decide(key, limits, cost)

    def decide(self, key: str, limits: Sequence[RateLimit], cost: int = 1) -> tuple[Decision, ...]:
        """What ``acquire`` does, as a plain call: the memory store never waits.

        The middleware calls it directly when its store is a ``MemoryStore`` (benchmark row
        rate-limit-memory: an await costs a tenth of the request).
        """
        now = self._clock()
        if cost != 1:
            _check_cost(limits, cost)
        if len(limits) == 1:  # the usual case: no first pass, the policy consumes if it admits
            return (self._decide(limits[0], key, now, cost, consume=True),)
        # Does every policy admit the request? Then each one consumes.
        admitted = all(self._allows(policy, key, now, cost) for policy in limits)
        return tuple([self._decide(policy, key, now, cost, consume=admitted) for policy in limits])

    def _allows(self, policy: RateLimit, key: str, now: float, cost: int) -> bool:
        if policy.algorithm == "gcra":
            tat = self._gcra[policy.name].get(key, now)
            return gcra_allows(tat, now, policy.interval, policy.burst, cost)
        state = self._windows[policy.name].get(key)
        return window_allows(state, now, policy.window, policy.quota, cost)

    def _decide(
        self, policy: RateLimit, key: str, now: float, cost: int, *, consume: bool
    ) -> Decision:
        """The policy's decision; its state written when it consumes, the key made the newest."""
        if policy.algorithm == "gcra":
            table = self._gcra[policy.name]
            stored = table.get(key)
            decision, tat = gcra_decision(
                now if stored is None else stored,
                now,
                policy.interval,
                policy.burst,
                cost,
                consume=consume,
            )
            if decision.allowed and consume:
                if stored is None:
                    self._insert_gcra(table, key, tat, now)
                else:
                    table[key] = tat
                    table.move_to_end(key)
            return decision
        windows = self._windows[policy.name]
        state = windows.get(key)
        decision, new_state = window_decision(
            state, now, policy.window, policy.quota, cost, consume=consume
        )
        if decision.allowed and consume:
            if state is None:
                self._insert_window(windows, key, new_state, now, policy.window)
            else:
                windows[key] = new_state
                windows.move_to_end(key)
        return decision

    # A new key makes room when the table is full (its least recently written key goes), then
    # prunes up to _PRUNE expired keys from the head. Only new keys prune: a table grows only
    # through them, so expired keys never outnumber what the new ones pushed out.

    def _insert_gcra(
        self, table: OrderedDict[str, float], key: str, tat: float, now: float
    ) -> None:
        """Add ``key``; a GCRA key expires when its TAT passes."""
        if len(table) >= self._max:
            table.popitem(last=False)
        table[key] = tat
        for _ in range(_PRUNE):
            head = next(iter(table))  # never empty: key is in it, and its TAT is after now
            if table[head] > now:
                break
            del table[head]

    def _insert_window(
        self,
        table: OrderedDict[str, WindowState],
        key: str,
        state: WindowState,
        now: float,
        window: float,
    ) -> None:
        """Add ``key``; a sliding-window key expires two windows after the one it was written."""
        if len(table) >= self._max:
            table.popitem(last=False)
        table[key] = state
        for _ in range(_PRUNE):
            head = next(iter(table))
            if (table[head][0] + 2) * window > now:
                break
            del table[head]
