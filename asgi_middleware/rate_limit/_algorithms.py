r"""The two algorithms as pure functions of a key's state and the store's clock.

Every store computes its decisions with exactly this arithmetic (the Redis store mirrors it in its
server-side script), so a request gets the same answer and the same header values from either.
Time is a ``float`` in seconds from the store's clock: ``time.monotonic`` for the memory store,
Redis ``TIME`` for the Redis store. Neither function reads a clock or keeps state: the caller
passes ``now`` and the stored state in, and writes the new state back only when told to.

**Several policies, one request.** A store first asks every policy that applies whether it
admits the request (``*_allows``), then computes each :class:`Decision` with
``consume = <every policy admits>`` and writes the new states only in that case: when one policy
refuses, none consumes, and each decision describes the state as it stays. With one policy the
first pass is skipped: ``consume = true``, and the policy consumes when it admits.

GCRA (generic cell rate algorithm)
----------------------------------

State: one float per key, the theoretical arrival time ``tat`` (a key without state has
``tat = now``). With ``T = window / quota`` (the policy's ``interval``), ``B = burst`` and the
request's ``cost``::

    base    = max(tat, now)
    new_tat = base + T * cost
    allowed = new_tat - now <= B * T + EPSILON

    consumed (allowed, and every other policy admits the request):
        tat'        = new_tat                      (the key expires at new_tat)
        remaining   = max(0, floor((B * T - (new_tat - now) + EPSILON) / T))
        reset_after = new_tat - now
        retry_after = 0
    not consumed (tat unchanged):
        remaining   = max(0, floor((B * T - (base - now) + EPSILON) / T))
        reset_after = base - now
        retry_after = 0 if allowed else new_tat - B * T - now

``remaining`` is exactly how many more requests of cost 1 would be admitted at ``now``, and a
refused request is admitted again at ``now + retry_after`` (if nothing else consumed meanwhile),
not a moment earlier. The bound: over any interval of ``L`` seconds the policy admits at most
``B + floor((L + EPSILON) / T)`` units, which is ``B + floor(L / T)`` unless ``L`` lies within
``EPSILON`` below a multiple of ``T``: a client may send ``burst`` at once, then one every ``T``.

Sliding-window counter
----------------------

State per key: ``(index, current, previous)``: the fixed window's number
``index = floor(now / window)`` of the last write, the units counted in it, and those counted in
the window before it. The state is first rolled to ``now``'s window ``n``::

    n == index      -> (current, previous)
    n == index + 1  -> (0, current)
    n >  index + 1  -> (0, 0)
    n <  index      -> n = index (a clock that went back: the stored window goes on)

then, with ``Q = quota``, ``W = window`` and ``elapsed = min(max(now - n * W, 0), W)``::

    estimate = previous * (W - elapsed) / W + current
    allowed  = estimate + cost <= Q + UNIT_EPSILON

    consumed: current' = current + cost, estimate' = estimate + cost, state' = (n, current',
              previous); the key expires at (n + 2) * W
    remaining   = max(0, floor(Q - estimate' + UNIT_EPSILON))   (estimate' = estimate when
                                                                 not consumed)
    reset_after = 2 * W - elapsed if current' > 0
                  else W - elapsed if previous > 0 else 0
    retry_after = 0 if allowed
                  else W * (1 - (Q - cost - current) / previous) - elapsed
                       if current + cost <= Q   (the previous window's weight must fall)
                  else 2 * W - elapsed - W * (Q - cost) / current
                                                (the next window, once this one's weight falls)

The bounds: at most ``Q`` units in each fixed window ``[n * W, (n + 1) * W)``, and at most
``2 * Q - 1`` requests of cost 1 in any interval of ``W`` seconds (``Q`` at the end of one
fixed window, then ``Q - 1`` more before the same point of the next). The tolerance can add one
more only for requests within ``UNIT_EPSILON * W / Q`` seconds of a window's end.
"""

from __future__ import annotations

import functools
import math

from asgi_middleware.rate_limit.policies import Decision

__all__ = [
    "EPSILON",
    "UNIT_EPSILON",
    "WindowState",
    "gcra_allows",
    "gcra_decision",
    "window_allows",
    "window_decision",
]

#: GCRA's tolerance for float rounding, in seconds: a request is admitted up to 1 µs early, the
#: resolution of Redis ``TIME``. Sums of ``T`` round at the magnitude of the clock's values, so a
#: clock should keep them small (``time.monotonic`` does; the Redis store subtracts an epoch).
EPSILON = 1e-6
#: The sliding window's tolerance for float rounding, in request units.
UNIT_EPSILON = 1e-9

# Decision(...) runs the NamedTuple's Python-level __new__; tuple.__new__ is its C core
# (benchmark row rate-limit-memory).
_decision = functools.partial(tuple.__new__, Decision)

WindowState = tuple[int, int, int]
"""A sliding-window key's state: ``(index, current, previous)``."""


def gcra_allows(tat: float, now: float, interval: float, burst: int, cost: int) -> bool:
    """Whether GCRA admits ``cost`` units now; ``tat`` is ``now`` for a key without state."""
    return (tat if tat > now else now) + interval * cost - now <= burst * interval + EPSILON


def gcra_decision(
    tat: float, now: float, interval: float, burst: int, cost: int, *, consume: bool
) -> tuple[Decision, float]:
    """Return GCRA's decision and the key's TAT afterwards (the module has the formulas).

    ``consume`` says whether every other policy admits the request: the request is consumed
    when this policy admits it too. With one policy, pass ``True``.
    """
    span = burst * interval
    base = tat if tat > now else now
    new_tat = base + interval * cost
    allowed = new_tat - now <= span + EPSILON
    if allowed and consume:
        remaining = math.floor((span - (new_tat - now) + EPSILON) / interval)
        return _decision((allowed, remaining if remaining > 0 else 0, new_tat - now, 0.0)), new_tat
    remaining = math.floor((span - (base - now) + EPSILON) / interval)
    retry_after = 0.0 if allowed else new_tat - span - now
    return _decision((allowed, remaining if remaining > 0 else 0, base - now, retry_after)), tat


def _roll(state: WindowState | None, now: float, window: float) -> tuple[int, int, int, float]:
    """``(n, current, previous, elapsed)``: ``state`` rolled to the window of ``now``."""
    index = math.floor(now / window)
    current = previous = 0
    if state is not None:
        stored, current, previous = state
        if index <= stored:
            index = stored
        elif index == stored + 1:
            current, previous = 0, current
        else:
            current = previous = 0
    elapsed = min(max(now - index * window, 0.0), window)
    return index, current, previous, elapsed


def window_allows(
    state: WindowState | None, now: float, window: float, quota: int, cost: int
) -> bool:
    """Whether the sliding window admits ``cost`` units now; ``state`` is ``None`` when new."""
    _, current, previous, elapsed = _roll(state, now, window)
    estimate = previous * (window - elapsed) / window + current
    return estimate + cost <= quota + UNIT_EPSILON


def window_decision(
    state: WindowState | None, now: float, window: float, quota: int, cost: int, *, consume: bool
) -> tuple[Decision, WindowState]:
    """Return the sliding window's decision and the key's state, rolled to ``now``.

    ``consume`` says whether every other policy admits the request: the state counts it when
    this policy admits it too. With one policy, pass ``True``. The module has the formulas.
    """
    index, current, previous, elapsed = _roll(state, now, window)
    estimate = previous * (window - elapsed) / window + current
    allowed = estimate + cost <= quota + UNIT_EPSILON
    if allowed and consume:
        current += cost
        estimate += cost
    state = (index, current, previous)
    remaining = max(math.floor(quota - estimate + UNIT_EPSILON), 0)
    if current:
        reset_after = 2 * window - elapsed
    elif previous:
        reset_after = window - elapsed
    else:
        reset_after = 0.0
    if allowed:
        retry_after = 0.0
    elif current + cost <= quota:
        retry_after = window * (1 - (quota - cost - current) / previous) - elapsed
    else:
        retry_after = 2 * window - elapsed - window * (quota - cost) / current
    return _decision((allowed, remaining, reset_after, retry_after)), state
