"""The rate-limit policy value, ``RateLimit``, and what a store decides for it, ``Decision``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal, NamedTuple

from asgi_middleware._kit.config import (
    option_error,
    require_int,
    require_matching,
    require_strings,
    require_token,
)
from asgi_middleware._kit.paths import PathMatcher
from asgi_middleware._kit.types import Scope

__all__ = ["ALGORITHMS", "Decision", "RateLimit"]

#: The algorithms a policy may use.
ALGORITHMS = ("gcra", "sliding-window")
# A name is an sf-token (it is sent as an sf-string, RFC 8941 §3.3.3) and safe in a store key:
# no quote, no backslash, no "{", "}" or ":" (the Redis key layout, stores.py).
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")
_NAME_RULE = "1 to 64 letters, digits, '_', '.' or '-', starting with a letter"
# The shortest interval between two requests at a policy's sustained rate: GCRA's tolerance
# (_algorithms.EPSILON, 1 µs) must stay far below it for its counts to be exact.
_MIN_INTERVAL = 1e-5
# The longest a policy may remember a request: its window, and for GCRA the time an empty
# bucket takes to fill (burst * interval). A key's state lives that long, and RedisStore sets it
# as a millisecond expiry, which Redis refuses past about 1e13 s: 10 years is far inside that
# and far beyond any real quota period.
_MAX_WINDOW = 315_360_000
# The most units a policy may count: counts stay exact integers in a double (2**53) with room.
_MAX_QUOTA = 10**12


class Decision(NamedTuple):
    """What one policy decided for one request, from one atomic step of the store.

    Attributes:
        allowed: Whether this policy admits the request. The request goes on only when every
            policy that applies admits it, and only then does any of them consume.
        remaining: Units still available now, after this request (and before it when it was
            not admitted): how many more requests of cost 1 the policy would admit at once.
        reset_after: Seconds until the policy's quota is fully available again.
        retry_after: Seconds until the request would be admitted, ``0.0`` when it is; never
            earlier than the moment the store would really admit it.

    Added in version 0.1.0.
    """

    allowed: bool
    remaining: int
    reset_after: float
    retry_after: float


def _require_window(value: object) -> float:
    rule = "a positive number of seconds, at most 315360000 (10 years)"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise option_error(TypeError, "window", rule, value)
    if not 0 < value <= _MAX_WINDOW:  # NaN fails both comparisons
        raise option_error(ValueError, "window", rule, value)
    return float(value)


class RateLimit:
    """A named policy: ``quota`` requests per ``window`` seconds, with a ``burst``.

    Args:
        name: Names the policy in the ``RateLimit`` headers and in the store's keys: 1 to 64
            letters, digits, ``_``, ``.`` or ``-``, starting with a letter. Two policies with
            the same name share their state in a store, so give each policy its own.
        quota: Requests admitted per ``window`` at the sustained rate, at most ``10**12``.
        window: The window, in seconds (an ``int`` or a ``float``), at most 315,360,000
            (10 years).
        burst: GCRA only: how many requests may arrive at once (the bucket's capacity), at
            most ``10**12``, and such that an empty bucket fills within 10 years
            (``burst * window / quota``). ``None`` (the default) is ``quota``. The sliding
            window has no burst of its own.
        algorithm: ``"gcra"`` (the default: one timestamp per key, smooth, with the exact bound
            ``burst + floor(L / interval)`` over any interval of ``L`` seconds) or
            ``"sliding-window"`` (at most ``quota`` per fixed window, at most
            ``2 * quota - 1`` over any ``window`` seconds); see the docs' "Choosing an
            algorithm".
        methods: The request methods the policy applies to (``["POST"]``), in any case;
            ``None`` (the default) is every method. A request's method is compared
            upper-cased (``post`` is a ``POST``, as Django and Quart read it). A list with
            ``GET`` also covers ``HEAD``: frameworks run the ``GET`` endpoint for a ``HEAD``
            request (RFC 9110 §9.3.2), so it does the same work. A WebSocket handshake is a
            ``GET``.
        paths: The paths the policy applies to, anchored at the start and relative to
            ``root_path``: ``"/login"`` (exactly), ``"/api/*"`` (``/api`` and below);
            ``None`` (the default) is every path.

    Attributes:
        interval: ``window / quota``: the seconds between two requests at the sustained rate.
        capacity: The most units the policy admits at once: ``burst`` for GCRA, ``quota``
            for the sliding window.

    Raises:
        TypeError: An option of the wrong type (a bare ``str`` for ``methods`` or ``paths``).
        ValueError: A bad name, a quota or burst below 1 or above ``10**12``, a window that
            is not a positive number of seconds up to 10 years, a ``burst`` with the sliding
            window or one that takes more than 10 years to fill, more than 100,000 requests per
            second, an empty list of methods or paths, or a bad method or path pattern.

    Example:
        ```python
        RateLimit("per-second", 10, 1, burst=20)
        RateLimit("logins", 5, 60, methods=["POST"], paths=["/login"])
        ```

    Added in version 0.1.0.
    """

    __slots__ = (
        "_matcher",
        "algorithm",
        "burst",
        "capacity",
        "interval",
        "methods",
        "name",
        "paths",
        "quota",
        "window",
    )

    def __init__(
        self,
        name: str,
        quota: int,
        window: float,
        *,
        burst: int | None = None,
        algorithm: Literal["gcra", "sliding-window"] = "gcra",
        methods: Sequence[str] | None = None,
        paths: Sequence[str] | None = None,
    ) -> None:
        self.name = require_matching("name", name, _NAME, _NAME_RULE)
        self.quota = require_int("quota", quota, minimum=1, maximum=_MAX_QUOTA)
        self.window = _require_window(window)
        if not isinstance(algorithm, str):
            raise option_error(TypeError, "algorithm", "a str", algorithm)
        if algorithm not in ALGORITHMS:
            raise option_error(ValueError, "algorithm", "'gcra' or 'sliding-window'", algorithm)
        self.algorithm: Literal["gcra", "sliding-window"] = algorithm
        if burst is not None and algorithm != "gcra":
            hint = "; the sliding window admits quota per window, without a burst of its own"
            raise option_error(ValueError, "burst", "None with 'sliding-window'", burst, hint)
        self.burst = (
            self.quota
            if burst is None
            else require_int("burst", burst, minimum=1, maximum=_MAX_QUOTA)
        )
        self.interval = self.window / self.quota
        self.capacity = self.burst if algorithm == "gcra" else self.quota
        if self.interval < _MIN_INTERVAL:
            rule = "at most 100000 per second of window"
            rate = self.quota / self.window
            hint = f"; {self.quota} per {self.window:g} s is {rate:g} per second"
            raise option_error(ValueError, "quota", rule, quota, hint)
        # A burst up to the quota fills within the window; only a larger one can take longer.
        if self.burst > self.quota and self.burst * self.interval > _MAX_WINDOW:
            most = int(_MAX_WINDOW / self.interval)
            rule = f"at most {most} for {self.quota} per {self.window:g} s"
            hint = "; an empty bucket must fill within 10 years (315360000 s)"
            raise option_error(ValueError, "burst", rule, burst, hint)
        self.methods: frozenset[str] | None = None
        if methods is not None:
            listed = require_strings("methods", methods, require_token)
            if not listed:
                hint = "; pass None for every method"
                raise option_error(ValueError, "methods", "a non-empty list", methods, hint)
            upper = {method.upper() for method in listed}
            if "GET" in upper:  # RFC 9110 §9.3.2: a HEAD runs the GET endpoint
                upper.add("HEAD")
            self.methods = frozenset(upper)
        self.paths: tuple[str, ...] | None = None
        self._matcher: PathMatcher | None = None
        if paths is not None:
            self._matcher = PathMatcher("paths", paths)
            self.paths = require_strings("paths", paths)
            if not self.paths:
                hint = "; pass None for every path"
                raise option_error(ValueError, "paths", "a non-empty list", paths, hint)

    def __repr__(self) -> str:
        options = [f"{self.name!r}", str(self.quota), f"{self.window:g}"]
        if self.burst != self.quota:
            options.append(f"burst={self.burst}")
        if self.algorithm != "gcra":
            options.append(f"algorithm={self.algorithm!r}")
        if self.methods is not None:
            options.append(f"methods={sorted(self.methods)!r}")
        if self.paths is not None:
            options.append(f"paths={list(self.paths)!r}")
        return f"RateLimit({', '.join(options)})"

    def applies(self, scope: Scope) -> bool:
        """Whether the policy applies to the request of ``scope`` (its method and path).

        The method is compared upper-cased; a WebSocket handshake counts as a ``GET``.
        """
        methods = self.methods
        if methods is not None:
            method: str = scope.get("method", "GET")
            # Servers send upper case: one lookup decides, and .upper() only runs for a method
            # that is not (a few ns per request over the plain lookup: rate-limit-memory).
            if method not in methods and (method.isupper() or method.upper() not in methods):
                return False
        return self._matcher is None or self._matcher.matches(scope)


def _check_cost(limits: Sequence[RateLimit], cost: int) -> None:
    """Refuse a ``cost`` no policy of ``limits`` could ever admit: below 1 or over its capacity.

    What every store's ``acquire`` checks first. A cost of 1, the usual one, is always possible
    (a policy's capacity is at least 1): the stores call this only for another.
    """
    for policy in limits:
        if not 1 <= cost <= policy.capacity:
            rule = f"an int from 1 to {policy.capacity}"
            hint = f" for {policy!r}: such a request could never be admitted"
            raise option_error(ValueError, "cost", rule, cost, hint)
