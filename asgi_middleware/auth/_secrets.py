"""Static secrets, looked up in constant time, and the results of verify callables.

Tokens and API keys are looked up in a dict and confirmed with ``hmac.compare_digest``. The lookup
is safe to time: Python hashes bytes with SipHash under a random per-process key (PEP 456), so
which bucket a presented token lands in says nothing about the configured ones, and a full ``==``
only runs on a 64-bit hash match. Basic passwords are compared as keyed BLAKE2b digests against
every configured user, name and password both, so neither the lengths nor which part was wrong
show in the timing.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeAlias, TypeVar

from asgi_middleware._kit.config import require_callable, require_strings
from asgi_middleware.auth._models import AuthCredentials, AuthResult, BaseUser, SimpleUser

__all__ = ["MaybeAwaitable", "Result", "Secrets", "one_of", "to_result", "verified"]

Result: TypeAlias = "tuple[AuthCredentials, BaseUser]"
MaybeAwaitable: TypeAlias = "Awaitable[Result | None] | Result | None"

_Verify = TypeVar("_Verify", bound=Callable[..., Any])


def to_result(value: object, option: str) -> AuthResult | None:
    """Check a ``(credentials, user)`` pair or ``None`` (from an option or a verify callable)."""
    if value is None:
        return None
    if isinstance(value, tuple) and len(value) == 2:  # noqa: PLR2004 - a pair
        return AuthResult(*value)
    msg = f"{option} must give None or a (credentials, user) pair, got {type(value).__name__}"
    raise TypeError(msg)


async def verified(verify: Callable[..., Any], *args: str) -> AuthResult | None:
    """Call a sync or async verify callable and check what it returned."""
    outcome = verify(*args)
    if inspect.isawaitable(outcome):
        outcome = await outcome
    return to_result(outcome, "verify")


def _keyed() -> Callable[[bytes], bytes]:
    key = os.urandom(32)
    return lambda secret: hashlib.blake2b(secret, key=key, digest_size=32).digest()


def _mapped(option: str, value: object, credentials: AuthCredentials) -> AuthResult:
    """The result a mapping gives a secret: a user name (with ``scopes``) or a given pair."""
    if isinstance(value, str):
        if not value:
            msg = f"{option} must map to a non-empty user name, got ''"
            raise ValueError(msg)
        return AuthResult(credentials, SimpleUser(value))
    if isinstance(value, tuple) and len(value) == 2:  # noqa: PLR2004 - a pair
        return AuthResult(*value)
    rule = "a user name (str) or a (credentials, user) pair"
    msg = f"{option} must map to {rule}, got {type(value).__name__}"
    raise TypeError(msg)


class Secrets:
    """Secrets mapped to results.

    A list gives every secret ``scopes`` and a numbered user; a mapping gives each secret a user
    name (with ``scopes``) or its own ``(credentials, user)`` pair.
    """

    __slots__ = ("_table",)

    def __init__(
        self,
        option: str,
        secrets: object,
        scopes: tuple[str, ...],
        *,
        label: str,
        check: Callable[[str, str], object],
    ) -> None:
        credentials = AuthCredentials(scopes)
        if isinstance(secrets, Mapping):
            items = list(secrets.items())
        else:
            items = [
                (secret, AuthResult(credentials, SimpleUser(f"{label}-{index}")))
                for index, secret in enumerate(require_strings(option, secrets))
            ]
        if not items:
            msg = f"{option} must not be empty, got {secrets!r}"
            raise ValueError(msg)
        self._table: dict[bytes, tuple[bytes, AuthResult]] = {}
        for index, (secret, result) in enumerate(items):
            if not isinstance(secret, str):
                msg = f"{option} keys must be str, got {type(secret).__name__}"
                raise TypeError(msg)
            # The message names the position only: a secret must not end up in a log.
            check(f"{option}[{index}]", secret)
            pair = _mapped(f"{option}[{index}]", result, credentials)
            encoded = secret.encode()
            if encoded in self._table:
                msg = f"{option}[{index}] must not repeat an earlier entry"
                raise ValueError(msg)
            self._table[encoded] = (encoded, pair)

    def lookup(self, secret: bytes) -> AuthResult | None:
        """Return the result for ``secret``, or ``None``, in time independent of the secrets."""
        entry = self._table.get(secret)
        if entry is None:
            return None
        # The dict matched on the hash and ``==``; compare_digest makes the decision itself
        # constant-time, independent of how the dict implementation compares.
        return entry[1] if hmac.compare_digest(secret, entry[0]) else None


class UserPasswords:
    """Static Basic users: every request compares against every user, name and password both."""

    __slots__ = ("_digest", "_users")

    def __init__(self, option: str, users: object, scopes: tuple[str, ...]) -> None:
        if not isinstance(users, Mapping):
            msg = f"{option} must be a mapping of username to password, got {users!r}"
            raise TypeError(msg)
        if not users:
            msg = f"{option} must not be empty, got {users!r}"
            raise ValueError(msg)
        self._digest = _keyed()
        credentials = AuthCredentials(scopes)
        self._users: list[tuple[bytes, bytes, AuthResult]] = []
        for name, password in users.items():
            if not isinstance(name, str) or not isinstance(password, str):
                msg = f"{option} must map str usernames to str passwords, got {name!r}"
                raise TypeError(msg)
            if ":" in name or not name:
                msg = f"{option} usernames must be non-empty and without ':', got {name!r}"
                raise ValueError(msg)
            result = AuthResult(credentials, SimpleUser(name))
            self._users.append(
                (self._digest(name.encode()), self._digest(password.encode()), result)
            )

    def lookup(self, username: str, password: str) -> AuthResult | None:
        """Return the user's result if both match; the loop never exits early."""
        name = self._digest(username.encode())
        secret = self._digest(password.encode())
        found: AuthResult | None = None
        for user_digest, password_digest, result in self._users:
            # "&" and not "and": both comparisons always run (SPEC §8, no short-circuit).
            if hmac.compare_digest(name, user_digest) & hmac.compare_digest(
                secret, password_digest
            ):
                found = result
        return found


def one_of(option: str, secrets: object, verify: _Verify | None) -> _Verify | None:
    """Check that exactly one of a static option and ``verify`` is given; return ``verify``."""
    if (secrets is None) == (verify is None):
        given = "neither" if secrets is None else "both"
        msg = f"exactly one of {option} and verify must be given, got {given}"
        raise TypeError(msg)
    if verify is None:
        return None
    return require_callable("verify", verify)
