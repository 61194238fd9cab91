"""``RedisStore``: rate-limit state shared by every worker and host through Redis or Valkey.

One request is one round trip: one ``EVALSHA`` of the script below, with one key per policy
(``KEYS``) and the policies' parameters (``ARGV``). The script reads the server's clock
(``TIME``), runs the arithmetic of ``_algorithms.py`` (two passes: if any policy refuses, none
consumes), writes the new states with their expiry and returns every decision, floats as
strings (Lua numbers are doubles; an integer reply would truncate them). Each key is
``prefix:{key}:name``: the request key is a Redis Cluster hash tag, so every key one request
touches is in one slot.

The client is redis-py's ``redis.asyncio`` (the ``redis`` extra), imported when a store is
built: asyncio only (docs/rate-limit.md, "Redis and Valkey", says why).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from asgi_middleware._kit.config import option_error, require_bool, require_matching
from asgi_middleware._kit.threads import running_trio
from asgi_middleware.rate_limit._algorithms import EPSILON, UNIT_EPSILON, _decision
from asgi_middleware.rate_limit.policies import Decision, RateLimit, _check_cost

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

__all__ = ["RedisStore"]

#: Subtracted from the server's ``TIME`` (2025-01-01T00:00:00Z): sums of intervals then round
#: at the magnitude of years, not of 1.7e9 seconds (``_algorithms.EPSILON``). A whole number of
#: days, so sliding windows of a minute, an hour or a day start on UTC boundaries. Every store
#: sharing a server must use the same one: it is part of the stored state's meaning.
EPOCH = 1_735_689_600

# KEYS: one per policy. ARGV: cost, then three per policy: "g" (GCRA), interval, burst or
# "w" (sliding window), window, quota. Reply: the time used, then four per policy: allowed
# (1 or 0), remaining, reset_after, retry_after. Mirrors _algorithms.py expression by
# expression, so both stores round alike. States: a GCRA key holds its TAT, a window key
# "index current previous"; each expires 1 ms after it stops mattering (the server's expiry
# clock may run a few microseconds behind TIME).
_SCRIPT = """\
local clock = redis.call("TIME")
local now = (tonumber(clock[1]) - EPOCH) + tonumber(clock[2]) / 1000000
local cost = tonumber(ARGV[1])
local count = #KEYS
local kind, first, second, state, fits = {}, {}, {}, {}, {}
local admitted = true
for i = 1, count do
  kind[i], first[i], second[i] = ARGV[3 * i - 1], tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  local stored = redis.call("GET", KEYS[i])
  if kind[i] == "g" then
    local tat = stored and tonumber(stored) or now
    local base = tat > now and tat or now
    state[i] = {base, base + first[i] * cost}
    fits[i] = state[i][2] - now <= second[i] * first[i] + EPSILON
  else
    local window = first[i]
    local index = math.floor(now / window)
    local current, previous = 0, 0
    local s, c, p
    if stored then s, c, p = string.match(stored, "^(-?%d+) (%d+) (%d+)$") end
    if s then
      s, c, p = tonumber(s), tonumber(c), tonumber(p)
      if index <= s then
        index, current, previous = s, c, p
      elseif index == s + 1 then
        previous = c
      end
    end
    local elapsed = math.min(math.max(now - index * window, 0.0), window)
    local estimate = previous * (window - elapsed) / window + current
    state[i] = {index, current, previous, elapsed, estimate}
    fits[i] = estimate + cost <= second[i] + UNIT_EPSILON
  end
  admitted = admitted and fits[i]
end
local reply = {string.format("%.17g", now)}
for i = 1, count do
  local a, b, take = first[i], second[i], fits[i] and admitted
  local remaining, reset_after, retry_after = 0, 0, 0
  if kind[i] == "g" then
    local span = b * a
    local base, new_tat = state[i][1], state[i][2]
    if take then
      remaining = math.floor((span - (new_tat - now) + EPSILON) / a)
      reset_after = new_tat - now
      local ms = math.ceil((new_tat - now) * 1000) + 1
      redis.call("SET", KEYS[i], string.format("%.17g", new_tat), "PX", string.format("%d", ms))
    else
      remaining = math.floor((span - (base - now) + EPSILON) / a)
      reset_after = base - now
      if not fits[i] then retry_after = new_tat - span - now end
    end
    if remaining < 0 then remaining = 0 end
  else
    local index, current, previous, elapsed, estimate = unpack(state[i])
    if take then
      current = current + cost
      estimate = estimate + cost
      local ms = math.ceil(((index + 2) * a - now) * 1000) + 1
      local value = string.format("%d %d %d", index, current, previous)
      redis.call("SET", KEYS[i], value, "PX", string.format("%d", ms))
    end
    remaining = math.max(math.floor(b - estimate + UNIT_EPSILON), 0)
    if current > 0 then
      reset_after = 2 * a - elapsed
    elseif previous > 0 then
      reset_after = a - elapsed
    end
    if fits[i] then
      retry_after = 0
    elseif current + cost <= b then
      retry_after = a * (1 - (b - cost - current) / previous) - elapsed
    else
      retry_after = 2 * a - elapsed - a * (b - cost) / current
    end
  end
  reply[#reply + 1] = fits[i] and 1 or 0
  reply[#reply + 1] = remaining
  reply[#reply + 1] = string.format("%.17g", reset_after)
  reply[#reply + 1] = string.format("%.17g", retry_after)
end
return reply
"""
SCRIPT = (
    _SCRIPT.replace("UNIT_EPSILON", repr(UNIT_EPSILON))
    .replace("EPSILON", repr(EPSILON))
    .replace("EPOCH", str(EPOCH))
)
"""The Lua script every request runs, with the constants filled in."""
SCRIPT_SHA = hashlib.sha1(SCRIPT.encode("ascii"), usedforsecurity=False).hexdigest()
"""The script's SHA1 digest: the name ``EVALSHA`` calls it by."""

#: The connections of a store built from a URL, per worker process: when every one is busy, a
#: call waits for one to be free (a ``BlockingConnectionPool``; the wait is bounded by the
#: middleware's ``store_timeout``), never fails at once. A call holds a connection for one
#: round trip, well under a millisecond near the server, so 100 carry far more calls a second
#: than one process serves, and 100 workers stay within Redis's default ``maxclients``
#: (10,000). The URL's ``max_connections`` query parameter replaces it.
MAX_CONNECTIONS = 100
#: The connections per cluster node of a store built from a URL with ``cluster=True``.
#: redis-py's cluster client has no pool that waits: past the cap a call fails at once
#: (``MaxConnectionsError``), so a burst would count as an outage. The cap is Redis's own
#: default ``maxclients``: the client never refuses a connection the server would accept.
CLUSTER_MAX_CONNECTIONS = 10_000

_PREFIX = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_PREFIX_RULE = "1 to 64 letters, digits, '_', '.' or '-'"
_SCHEMES = ("redis", "rediss", "unix")
# Policies whose key parts and ARGV are kept; cleared when full (a caller making new RateLimit
# objects per call must not grow it without bound).
_PREPARED = 256


def _redacted(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``: it goes into error messages."""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    return url if not password else url.replace(":" + password + "@", ":***@", 1)


def _client_from_url(url: object, *, cluster: bool) -> Redis | RedisCluster:
    """A new redis-py asyncio client (and its pool) for ``url``."""
    if not isinstance(url, str):
        rule = "a redis://, rediss:// or unix:// URL, or a redis.asyncio client"
        raise option_error(TypeError, "url_or_client", rule, url)
    schemes = _SCHEMES[:2] if cluster else _SCHEMES
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in schemes:
        rule = "a redis:// or rediss:// URL" if cluster else "a redis://, rediss:// or unix:// URL"
        hint = " with cluster=True: a cluster is reached over TCP" if scheme == "unix" else ""
        raise option_error(ValueError, "url_or_client", rule, _redacted(url), hint)
    # An option in the URL's query (?max_connections=50) wins over the keyword: redis-py's
    # from_url lets the query override what the caller passes.
    if cluster:
        from redis.asyncio.cluster import RedisCluster  # noqa: PLC0415 - the optional extra

        return RedisCluster.from_url(url, max_connections=CLUSTER_MAX_CONNECTIONS)
    from redis.asyncio import BlockingConnectionPool, Redis  # noqa: PLC0415 - the optional extra

    return Redis.from_pool(BlockingConnectionPool.from_url(url, max_connections=MAX_CONNECTIONS))


def _import_redis() -> Any:
    """The ``redis.asyncio`` module, or an ``ImportError`` naming the extra."""
    try:
        import redis.asyncio  # noqa: PLC0415 - the optional extra, loaded when a store is built
    except ImportError as error:
        msg = (
            "RedisStore needs redis-py: pip install 'asgi-middleware[redis]' "
            f"(redis>=5.0.2) ({error})"
        )
        raise ImportError(msg) from error
    return redis.asyncio


class RedisStore:
    """Rate-limit state in Redis or Valkey, shared by every worker and host that uses it.

    Each request is one round trip: one ``EVALSHA`` of a Lua script that reads the server's
    clock (``TIME``), decides for every policy that applies and writes the new states, all
    atomically on the server. Two requests from two hosts never both take the last unit, and
    the limit holds exactly across processes. Decisions are those of a
    [`MemoryStore`][asgi_middleware.rate_limit.MemoryStore] for the same state and time. The
    first call after the server's script cache was emptied (a restart, ``SCRIPT FLUSH``) sends
    the script itself with ``EVAL``, which caches it again.

    State lives at ``prefix:{key}:policy-name``: the request key in braces is a Redis Cluster
    hash tag, so every key of one request is in one slot, and the script runs on a cluster as
    on a single server. A GCRA key holds one number, a sliding-window key three; each expires
    when it no longer matters.

    Built from a URL, the store owns its client and connection pool and closes them in
    `aclose`; built from a client, it borrows it, and you close it. A URL store's pool is a
    ``BlockingConnectionPool`` of 100 connections per process (the URL's ``max_connections``
    sets another number): when all are busy, a call waits for one rather than failing. A
    cluster client cannot wait, so a cluster URL store lifts its per-node cap to 10,000.

    Every call is bounded by the middleware's ``store_timeout``, which cancels the call (and a
    wait for a connection): redis-py closes a connection whose command was cancelled, so no
    later call reads its reply.

    Works under asyncio only (redis-py's asyncio client); under trio each call raises
    ``RuntimeError`` saying so, which the middleware treats as a store failure.

    Args:
        url_or_client: A URL, ``redis://[[user]:password@]host[:port][/db]``,
            ``rediss://...`` for TLS or ``unix:///path/to/socket?db=0``, with redis-py's
            connection options in the query (``?max_connections=50``); or a
            ``redis.asyncio.Redis`` or ``redis.asyncio.cluster.RedisCluster`` client you built.
        prefix: The first part of every key: 1 to 64 letters, digits, ``_``, ``.`` or ``-``.
            Apps sharing a server with the same policy names and keys share their limits
            unless their prefixes differ.
        cluster: With a URL: connect to a Redis Cluster (``RedisCluster.from_url``), starting
            from the node in the URL. With a client, leave it ``False``.

    Raises:
        ImportError: redis-py is not installed (the ``redis`` extra).
        TypeError: ``url_or_client`` is neither a ``str`` nor a redis-py asyncio client (a
            synchronous ``redis.Redis`` would block the event loop).
        ValueError: A URL of another scheme, a bad prefix, or ``cluster=True`` with a client
            or a ``unix://`` URL.

    Example:
        ```python
        store = RedisStore("rediss://:secret@redis.internal:6380/0")
        app = RateLimitMiddleware(app, limits=[RateLimit("api", 100, 60)], store=store)
        ```

    Added in version 0.1.0.
    """

    __slots__ = ("_client", "_eval", "_evalsha", "_no_script", "_owned", "_prefix", "_prepared")

    def __init__(
        self,
        url_or_client: str | Redis | RedisCluster,
        *,
        prefix: str = "rl",
        cluster: bool = False,
    ) -> None:
        self._prefix = require_matching("prefix", prefix, _PREFIX, _PREFIX_RULE)
        require_bool("cluster", cluster)
        module = _import_redis()
        client: Any = url_or_client
        self._owned = not isinstance(client, (module.Redis, module.RedisCluster))
        if self._owned:
            if hasattr(url_or_client, "evalsha"):  # a synchronous client, most likely
                rule = "a redis.asyncio client or a URL"
                hint = "; a synchronous client would block the event loop on every request"
                raise option_error(TypeError, "url_or_client", rule, url_or_client, hint)
            client = _client_from_url(url_or_client, cluster=cluster)
        elif cluster:
            hint = "; the client's own type says whether it is a cluster"
            raise option_error(ValueError, "cluster", "False with a client", cluster, hint)
        self._client = client
        self._evalsha = client.evalsha
        self._eval = client.eval
        from redis.exceptions import NoScriptError  # noqa: PLC0415 - the optional extra

        self._no_script = NoScriptError
        # Per policy: the key's head and tail around the request key, and its ARGV items.
        self._prepared: dict[RateLimit, tuple[str, str, tuple[bytes, bytes, bytes]]] = {}

    def __repr__(self) -> str:
        kind = type(self._client).__name__
        return f"RedisStore(<{kind}{' owned' if self._owned else ''}>, prefix={self._prefix!r})"

    def _prepare(self, policy: RateLimit) -> tuple[str, str, tuple[bytes, bytes, bytes]]:
        """The key's head and tail and the ARGV items of ``policy``, kept for the next call."""
        if policy.algorithm == "gcra":
            # repr is the shortest text that parses back to the same float, in Lua too.
            argv = (b"g", repr(policy.interval).encode("ascii"), b"%d" % policy.burst)
        else:
            argv = (b"w", repr(policy.window).encode("ascii"), b"%d" % policy.quota)
        entry = (self._prefix + ":{", "}:" + policy.name, argv)
        if len(self._prepared) >= _PREPARED:
            self._prepared.clear()
        self._prepared[policy] = entry
        return entry

    def _arguments(self, key: str, limits: Sequence[RateLimit], cost: int) -> list[Any]:
        """``numkeys``, the keys and ``ARGV`` of one call: what follows the script's name."""
        if cost != 1:
            _check_cost(limits, cost)
        prepared = self._prepared
        keys: list[Any] = [len(limits)]
        argv: list[Any] = [cost]
        for policy in limits:
            entry = prepared.get(policy) or self._prepare(policy)
            keys.append(entry[0] + key + entry[1])
            argv += entry[2]
        keys += argv
        return keys

    async def acquire(
        self, key: str, limits: Sequence[RateLimit], cost: int = 1
    ) -> tuple[Decision, ...]:
        """Decide for ``key`` under ``limits`` in one round trip (see `Store`).

        Raises:
            ValueError: ``cost`` is below 1 or above a policy's ``capacity``.
            RuntimeError: Called under trio: redis-py's asyncio client needs asyncio.
            redis.exceptions.RedisError: The server failed or could not be reached (the
                middleware's failure policy applies).
        """
        if running_trio() is not None:
            msg = (
                "RedisStore runs on asyncio only (redis-py's redis.asyncio client), and this "
                "call came from trio: serve the app with asyncio, or use a MemoryStore"
            )
            raise RuntimeError(msg)
        arguments = self._arguments(key, limits, cost)
        try:
            reply = await self._evalsha(SCRIPT_SHA, *arguments)
        except self._no_script:  # the server's script cache was emptied: send the script
            reply = await self._eval(SCRIPT, *arguments)
        return _decisions(reply)

    async def aclose(self) -> None:
        """Close the client and its connection pool if the store made them from a URL.

        A client you passed in is left open: close it yourself.
        """
        if self._owned:
            await self._client.aclose()


def _decisions(reply: Sequence[Any]) -> tuple[Decision, ...]:
    """The decisions of a script reply (its first item, the time it used, is skipped)."""
    return tuple(
        [
            _decision((reply[i] == 1, reply[i + 1], float(reply[i + 2]), float(reply[i + 3])))
            for i in range(1, len(reply), 4)
        ]
    )
