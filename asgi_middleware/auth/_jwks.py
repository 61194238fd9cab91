"""A JSON Web Key Set (RFC 7517 §5) for ``JWTBackend``: parsed keys and the fetching cache."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from types import ModuleType
from typing import Any, Protocol

__all__ = ["JWKSCache", "KeySet"]

logger = logging.getLogger("asgi_middleware.auth")

# Which JWK key type ("kty", RFC 7518 §6.1) each algorithm needs, so a token cannot pick a key of
# another type by naming a different algorithm.
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


class _Event(Protocol):
    def set(self) -> None: ...
    async def wait(self) -> Any: ...


def _event() -> _Event:
    """An event for the running loop: asyncio's, or trio's under trio (no anyio dependency)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        event: _Event = sys.modules["trio"].Event()
        return event
    return asyncio.Event()


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


class JWKSCache:
    """The current keys, fetched again after ``ttl`` seconds or for an unknown ``kid``.

    Fetches are at least ``interval`` seconds apart, so tokens with made-up ``kid`` values cannot
    make us hammer the identity provider; a request arriving during a fetch waits for that fetch
    instead of starting another.
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
        "_ttl",
    )

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Any]],
        keyset: KeySet,
        ttl: int,
        interval: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._keyset = keyset
        self._ttl = ttl
        self._interval = interval
        self._clock = clock
        self._keys: Keys = {}
        self._fetched: float | None = None
        self._attempted: float | None = None
        self._pending: _Event | None = None

    def _may_fetch(self) -> bool:
        return self._attempted is None or self._clock() - self._attempted >= self._interval

    async def key_for(self, token: bytes) -> Any:
        """Return the verification key for ``token``, or ``None`` if there is none."""
        parsed = self._keyset.header(token)
        if parsed is None:
            return None
        stale = self._fetched is None or self._clock() - self._fetched >= self._ttl
        if self._pending is not None or (stale and self._may_fetch()):
            await self._update()
        key = self._keyset.select(self._keys, *parsed)
        if key is None and (self._pending is not None or self._may_fetch()):
            await self._update()
            key = self._keyset.select(self._keys, *parsed)
        return key

    async def _update(self) -> None:
        if self._pending is not None:
            await self._pending.wait()
            return
        event = self._pending = _event()
        self._attempted = self._clock()
        try:
            self._keys = self._keyset.parse(await self._fetch())
            self._fetched = self._clock()
        except Exception:
            logger.warning(
                "JWKS fetch failed; keeping the %d cached keys", len(self._keys), exc_info=True
            )
        finally:
            self._pending = None
            event.set()
