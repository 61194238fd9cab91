"""A JSON Web Key Set (RFC 7517 §5) for ``JWTBackend``: parsed keys and the fetching cache."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from types import ModuleType
from typing import Any

from asgi_middleware._kit.threads import running_trio

__all__ = ["JWKSCache", "KeySet"]

logger = logging.getLogger("asgi_middleware.auth")

# Which JWK key type ("kty", RFC 7518 §6.1) each algorithm needs, so a token cannot pick a key of
# another type by naming a different algorithm.
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


Keys = dict[str | None, tuple[str, str | None, Any]]  # kid -> (kty, alg, key)


class KeySet:
    """Reads token headers and JWKS documents with PyJWT, for the pinned ``algorithms``."""

    __slots__ = ("_algorithms", "_jwt")

    def __init__(self, pyjwt: ModuleType, algorithms: list[str]) -> None:
        self._jwt = pyjwt
        self._algorithms = frozenset(algorithms)

    def header(self, token: bytes) -> tuple[str, str | None] | None:
        """Return the token's ``(alg, kid)`` if the algorithm is allowed, else ``None``."""
        try:
            header = self._jwt.get_unverified_header(token)
        except (self._jwt.PyJWTError, ValueError):
            return None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self._algorithms or not (kid is None or isinstance(kid, str)):
            return None
        return alg, kid

    def parse(self, document: object) -> Keys:
        """Return the usable signing keys of a JWKS; others are skipped with a log line."""
        if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
            msg = 'a JWKS must be a JSON object with a "keys" list'
            raise ValueError(msg)  # noqa: TRY004 - reported like any fetch failure
        keys: Keys = {}
        for index, data in enumerate(document["keys"]):
            usable = (
                isinstance(data, Mapping)
                and data.get("kty") in _KEY_TYPES.values()
                and data.get("use", "sig") == "sig"
                and data.get("alg", next(iter(self._algorithms))) in self._algorithms
                and isinstance(data.get("kid"), (str, type(None)))
            )
            if not usable:
                logger.debug(
                    "JWKS key %d skipped: not a signing key for %s",
                    index,
                    "/".join(sorted(self._algorithms)),
                )
                continue
            try:
                key = self._jwt.PyJWK(dict(data), data.get("alg")).key
            except (self._jwt.PyJWTError, ValueError, TypeError, KeyError) as error:
                logger.warning("JWKS key %d skipped: %s", index, error)
                continue
            keys[data.get("kid")] = (data["kty"], data.get("alg"), key)
        return keys

    @staticmethod
    def select(keys: Keys, alg: str, kid: str | None) -> Any:
        """Return the key for ``kid`` (or the only key, if no kid) when it fits ``alg``."""
        found = keys.get(kid)
        if found is None and kid is None and len(keys) == 1:
            found = next(iter(keys.values()))
        if found is None:
            return None
        kty, key_alg, key = found
        if kty != _KEY_TYPES[alg[:2]] or (key_alg is not None and key_alg != alg):
            return None
        return key


# Waits up to the given number of seconds for the fetch in flight, without being able to cancel it.
_Wait = Callable[[float], Awaitable[None]]


class JWKSCache:
    """The current keys, refreshed by a fetch that runs as a task of its own.

    - A token whose ``kid`` is cached is answered from the cache at once, even once the set is
      older than ``ttl``; then a refresh starts in the background (stale-while-revalidate), so a
      slow or unreachable identity provider never holds up tokens signed with known keys.
    - Only a token with an unknown ``kid`` waits: for one fetch at most (the one in flight, or
      one it starts), and for at most ``timeout`` seconds, which also bounds the fetch itself.
    - Fetches start at least ``interval`` seconds apart, failed ones included, so tokens with
      made-up ``kid`` values cannot make us hammer the identity provider.
    - The fetch belongs to no request (STYLE: shared work is not owned by a request): cancelling
      the request that started it leaves it running for everyone else. A fetch that is itself
      cancelled (the event loop shutting down) is logged and does not count as an attempt.
    """

    __slots__ = (
        "_attempted",
        "_clock",
        "_fetch",
        "_fetched",
        "_interval",
        "_keys",
        "_keyset",
        "_pending",
        "_task",
        "_timeout",
        "_ttl",
    )

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Any]],
        keyset: KeySet,
        *,
        ttl: int,
        interval: int,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._keyset = keyset
        self._ttl = ttl
        self._interval = interval
        self._timeout = timeout
        self._clock = clock
        self._keys: Keys = {}
        self._fetched: float | None = None
        self._attempted: float | None = None
        self._pending: _Wait | None = None
        # The fetch task: asyncio keeps only weak references to tasks, so this one is kept here.
        self._task: object = None

    def _may_fetch(self) -> bool:
        return self._attempted is None or self._clock() - self._attempted >= self._interval

    def _stale(self) -> bool:
        return self._fetched is None or self._clock() - self._fetched >= self._ttl

    async def key_for(self, token: bytes) -> Any:
        """Return the verification key for ``token``, or ``None`` if there is none."""
        parsed = self._keyset.header(token)
        if parsed is None:
            return None
        key = self._keyset.select(self._keys, *parsed)
        if key is not None:
            if self._pending is None and self._stale() and self._may_fetch():
                self._start()
            return key
        wait = self._pending
        if wait is None:
            if not self._may_fetch():
                return None
            wait = self._start()
        await wait(self._timeout)
        return self._keyset.select(self._keys, *parsed)

    def _start(self) -> _Wait:
        """Start a fetch in a task of its own and return how to wait for it."""
        trio = running_trio()
        if trio is None:
            task = asyncio.get_running_loop().create_task(
                self._refresh(None), name="asgi_middleware JWKS fetch"
            )
            # A done callback runs even for a task cancelled before its first step, whose
            # coroutine never gets to run a finally clause.
            task.add_done_callback(lambda done: self._finish(cancelled=done.cancelled()))

            async def wait(timeout: float) -> None:
                # asyncio.wait does not cancel the task when the waiting request is cancelled.
                await asyncio.wait({task}, timeout=timeout)

        else:
            done = trio.Event()
            # A system task needs no nursery and outlives the request that started it.
            task = trio.lowlevel.spawn_system_task(
                self._system_task, trio, done, name="asgi_middleware JWKS fetch"
            )

            async def wait(timeout: float) -> None:
                with trio.move_on_after(timeout):
                    await done.wait()

        self._task = task
        self._pending = wait
        return wait

    async def _system_task(self, trio: ModuleType, done: Any) -> None:
        # An exception out of a trio system task crashes the whole run. _refresh has logged and
        # absorbed every failure, so what arrives here is trio.Cancelled at the end of the run.
        try:
            await self._refresh(trio)
        except BaseException:  # noqa: BLE001 - see above; must not propagate
            self._finish(cancelled=True)
        else:
            self._finish(cancelled=False)
        finally:
            done.set()

    async def _refresh(self, trio: ModuleType | None) -> None:
        """Fetch and store the keys; failures are logged here, only cancellation propagates."""
        started = self._clock()
        try:
            if trio is None:
                document = await asyncio.wait_for(self._fetch(), self._timeout)
            else:
                with trio.fail_after(self._timeout):
                    document = await self._fetch()
            self._keys = self._keyset.parse(document)
        except Exception:
            logger.warning(
                "JWKS fetch failed; keeping the %d cached keys", len(self._keys), exc_info=True
            )
        else:
            self._fetched = self._clock()
        # Counted only once it has ended: a cancelled fetch never gets here.
        self._attempted = started

    def _finish(self, *, cancelled: bool) -> None:
        self._pending = None
        self._task = None
        if cancelled:
            logger.warning(
                "JWKS fetch cancelled before it finished (event loop shutting down?); keeping "
                "the %d cached keys, and the next request may fetch again",
                len(self._keys),
            )
