"""``JWTBackend``: bearer JWTs checked with PyJWT (the ``jwt`` extra), static keys or a JWKS.

PyJWT is imported when a ``JWTBackend`` is built, so the rest of the package works without it.
"""

from __future__ import annotations

import importlib
import json
import urllib.request
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import MappingProxyType, ModuleType
from typing import Any
from urllib.parse import urlsplit

from asgi_middleware._kit.config import require_callable, require_int, require_strings
from asgi_middleware._kit.threads import run_sync
from asgi_middleware._kit.types import Scope
from asgi_middleware.auth._bearer import BearerScheme
from asgi_middleware.auth._jwks import JWKSCache, KeySet
from asgi_middleware.auth._models import AuthCredentials, AuthResult, BaseUser, SimpleUser

__all__ = ["JWTBackend"]

_HMAC = frozenset({"HS256", "HS384", "HS512"})
_ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES256K", "ES384", "ES512"}
    | {"EdDSA"}
)
# RFC 7518 §3.2: an HMAC key at least as long as the hash output.
_HMAC_MIN = {"HS256": 32, "HS384": 48, "HS512": 64}
_MAX_JWKS = 1 << 20  # bytes read from a JWKS URL; real sets are a few KiB
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_KEY_RECIPE = 'python -c "import secrets; print(secrets.token_urlsafe(64))"'


class _Required(tuple[str, ...]):
    """The default of ``algorithms``, which is required: a typed marker that shows in ``help()``.

    A keyword default instead of no default, so that leaving it out gets our explanation rather
    than Python's bare "missing 1 required keyword-only argument".
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "<required>"


_REQUIRED: Sequence[str] = _Required()


def _load_pyjwt() -> ModuleType:
    try:
        return importlib.import_module("jwt")
    except ImportError as error:
        msg = "JWTBackend needs PyJWT: install the jwt extra, pip install 'asgi-middleware[jwt]'"
        raise ImportError(msg) from error


def _algorithms(value: object) -> tuple[str, ...]:
    if value is _REQUIRED:
        msg = (
            "algorithms is required: pass the algorithms your identity provider signs tokens "
            'with, e.g. algorithms=["RS256"] for most OpenID Connect providers, ["ES256"], or '
            '["HS256"] for a shared secret. There is no default because a token must not '
            "choose how it is verified: trusting the alg in its header lets through alg=none "
            "tokens and tokens forged with your public key as the HMAC secret."
        )
        raise TypeError(msg)
    algorithms = require_strings("algorithms", value)
    known = _HMAC | _ASYMMETRIC
    bad = [item for item in algorithms if item not in known]
    if bad or not algorithms:
        msg = f"algorithms must be a non-empty list from {sorted(known)}, got {value!r}"
        raise ValueError(msg)
    # Algorithm confusion: a verifier that accepts HS256 and RS256 can be fed an HS256 token
    # "signed" with the RSA public key as the secret. One family only.
    if set(algorithms) & _HMAC and set(algorithms) & _ASYMMETRIC:
        msg = f"algorithms must not mix HMAC (HS*) and public-key algorithms, got {value!r}"
        raise ValueError(msg)
    return algorithms


def _jwks_url(value: str) -> str:
    parts = urlsplit(value)
    if not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)):
        msg = f"jwks_url must be an https URL (http only on loopback), got {value!r}"
        raise ValueError(msg)
    return value


def _download(url: str, timeout: float) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - https checked
        data: bytes = response.read(_MAX_JWKS + 1)
    if len(data) > _MAX_JWKS:
        msg = f"the JWKS at {url} is larger than {_MAX_JWKS} bytes"
        raise ValueError(msg)
    return json.loads(data)


class JWTBackend(BearerScheme):
    """JSON Web Tokens (RFC 7519) as bearer tokens, verified with PyJWT.

    The algorithms are pinned: a token whose header names another one, ``alg: none`` included,
    is refused, and HMAC and public-key algorithms cannot be mixed, which rules out algorithm
    confusion. ``exp`` and ``nbf`` are checked (with ``leeway``), and ``aud`` and ``iss`` when
    ``audience`` and ``issuer`` are set (then a token without them is refused). Keys are static or
    come from a JWKS, fetched without blocking the event loop in a task of its own (cancelling
    the request that started a fetch does not stop it) and cached. A token whose ``kid`` is
    cached is answered at once, also after ``jwks_ttl``: then the set is refreshed in the
    background. Only a token with an unknown ``kid`` waits for a fetch, once and for at most
    ``jwks_timeout`` seconds. Fetches start at most once every ``jwks_refresh_interval`` seconds
    and concurrent requests share one. When the JWKS cannot be fetched the cached keys stay in
    use, tokens signed with unknown keys get a 401, and the failure is logged.

    The user is a ``SimpleUser`` named by the ``username_claim`` (default ``sub``) with all claims
    in ``user.claims``; the scopes come from ``scopes_claim`` (a space-separated string as in
    RFC 9068, or a list).

    Args:
        algorithms: Accepted algorithms, required (there is no default: a token must not choose
            how it is verified): the ones your identity provider signs with, ``["RS256"]`` for
            most OpenID Connect providers, ``["ES256"]``, or ``["HS256"]`` for a shared secret.
        key: A static key: the HMAC secret (at least as long as the hash), or a PEM public key or
            ``cryptography`` public key object.
        jwks_url: Instead of ``key``: an https URL of a JSON Web Key Set (RFC 7517 §5).
        fetch_jwks: Instead of ``key``: an async callable returning the JWKS as a dict, to use
            your own HTTP client.
        audience: Accepted ``aud`` value or values.
        issuer: Accepted ``iss`` value or values.
        leeway: Seconds of clock skew allowed on ``exp``, ``nbf`` and ``iat``.
        required_claims: Claims every token must have.
        username_claim: The claim naming the user; a token without it (as a str) is refused.
        scopes_claim: The claim holding the granted scopes.
        jwks_ttl: Seconds after which a fetched JWKS is refreshed in the background (its keys
            stay in use meanwhile).
        jwks_refresh_interval: Minimum seconds between the starts of two fetches (unknown
            ``kid``, expiry, failures).
        jwks_timeout: Seconds a JWKS fetch (``jwks_url`` or ``fetch_jwks``) may take, and the
            longest a request with an unknown ``kid`` waits for one.
        realm: The ``realm`` of the ``WWW-Authenticate`` challenge.

    Example:
        ```python
        JWTBackend(
            algorithms=["RS256"],
            jwks_url="https://login.example/.well-known/jwks.json",
            audience="https://api.example",
            issuer="https://login.example/",
        )
        ```

    Added in version 0.1.0.
    """

    __slots__ = ("_algorithms", "_decode", "_error", "_jwks", "_key", "_scopes", "_username")

    def __init__(
        self,
        *,
        algorithms: Sequence[str] = _REQUIRED,
        key: str | bytes | object | None = None,
        jwks_url: str | None = None,
        fetch_jwks: Callable[[], Awaitable[Mapping[str, Any]]] | None = None,
        audience: str | Sequence[str] | None = None,
        issuer: str | Sequence[str] | None = None,
        leeway: float = 0,
        required_claims: Sequence[str] = ("exp",),
        username_claim: str = "sub",
        scopes_claim: str = "scope",
        jwks_ttl: int = 300,
        jwks_refresh_interval: int = 30,
        jwks_timeout: int = 5,
        realm: str = "api",
    ) -> None:
        super().__init__(realm)
        pyjwt = _load_pyjwt()
        self._algorithms = list(_algorithms(algorithms))
        self._error: type[Exception] = pyjwt.PyJWTError
        if sum(option is not None for option in (key, jwks_url, fetch_jwks)) != 1:
            msg = "exactly one of key, jwks_url and fetch_jwks must be given"
            raise TypeError(msg)
        if isinstance(leeway, bool) or not isinstance(leeway, (int, float)):
            msg = f"leeway must be a non-negative number of seconds, got {leeway!r}"
            raise TypeError(msg)
        if leeway < 0:
            msg = f"leeway must be a non-negative number of seconds, got {leeway!r}"
            raise ValueError(msg)
        claims = list(require_strings("required_claims", required_claims))
        options = {"require": claims, "enforce_minimum_key_length": True}
        check = {"audience": _audience(audience), "issuer": _issuer(issuer)}
        self._decode = _decoder(pyjwt, self._algorithms, options, check, leeway)
        self._username = require_strings("username_claim", [username_claim])[0]
        self._scopes = require_strings("scopes_claim", [scopes_claim])[0]
        self._key: object = None
        self._jwks: JWKSCache | None = None
        if key is not None:
            self._key = _static_key(pyjwt, self._algorithms, key)
            return
        if set(self._algorithms) & _HMAC:
            msg = f"algorithms must be public-key algorithms with a JWKS, got {algorithms!r}"
            raise ValueError(msg)
        ttl = require_int("jwks_ttl", jwks_ttl, minimum=1)
        interval = require_int("jwks_refresh_interval", jwks_refresh_interval, minimum=0)
        timeout = require_int("jwks_timeout", jwks_timeout, minimum=1)
        if fetch_jwks is None:
            url = _jwks_url(str(jwks_url)) if isinstance(jwks_url, str) else jwks_url
            if not isinstance(url, str):
                msg = f"jwks_url must be a str, got {jwks_url!r}"
                raise TypeError(msg)

            async def fetch() -> Any:
                return await run_sync(_download, url, timeout)

            fetch_jwks = fetch
        keys = KeySet(pyjwt, self._algorithms)
        fetch_jwks = require_callable("fetch_jwks", fetch_jwks)
        self._jwks = JWKSCache(fetch_jwks, keys, ttl=ttl, interval=interval, timeout=timeout)

    def lookup(self, scope: Scope) -> AuthResult | None:
        """Authenticate synchronously with a static key; ``None`` without a token or with a JWKS.

        The middleware calls this fast path first; :meth:`authenticate` covers both cases.

        Raises:
            AuthenticationError: The token is not valid.
        """
        if self._jwks is not None:
            return None
        # PyJWT checks the token's characters as it decodes it (base64url segments, JSON).
        token = self.bearer_token(scope, check=False)
        return None if token is None else self._verify(token, self._key)

    async def authenticate(self, scope: Scope) -> tuple[AuthCredentials, BaseUser] | None:
        """Authenticate a bearer JWT; see the class docstring."""
        if self._jwks is None:
            return self.lookup(scope)
        token = self.bearer_token(scope, check=False)
        if token is None:
            return None
        key = await self._jwks.key_for(token)
        if key is None:
            raise self.invalid_token()
        return self._verify(token, key)

    def _verify(self, token: bytes, key: object) -> AuthResult:
        try:
            claims: dict[str, Any] = self._decode(token, key)
        except (self._error, ValueError) as error:
            raise self.invalid_token() from error
        username = claims.get(self._username)
        if not isinstance(username, str):
            raise self.invalid_token()
        granted = claims.get(self._scopes, ())
        if isinstance(granted, str):
            granted = granted.split()
        elif not isinstance(granted, list) or not all(isinstance(s, str) for s in granted):
            granted = ()
        # The claims dict is ours alone (PyJWT built it), so a read-only view needs no copy.
        return AuthResult(AuthCredentials(granted), SimpleUser(username, MappingProxyType(claims)))


def _audience(value: object) -> str | list[str] | None:
    if value is None or isinstance(value, str):
        return value
    return list(require_strings("audience", value))


def _issuer(value: object) -> str | list[str] | None:
    if value is None or isinstance(value, str):
        return value
    return list(require_strings("issuer", value))


def _decoder(
    pyjwt: ModuleType,
    algorithms: list[str],
    options: dict[str, Any],
    check: dict[str, Any],
    leeway: float,
) -> Callable[[bytes, Any], dict[str, Any]]:
    decode = pyjwt.decode
    audience, issuer = check["audience"], check["issuer"]

    def run(token: bytes, key: Any) -> dict[str, Any]:
        claims: dict[str, Any] = decode(
            token,
            key,
            algorithms=algorithms,
            options=options,
            audience=audience,
            issuer=issuer,
            leeway=leeway,
        )
        return claims

    return run


def _static_key(pyjwt: ModuleType, algorithms: list[str], key: object) -> object:
    """Prepare a static key once for every algorithm, refusing keys that do not fit them."""
    if algorithms[0] in _HMAC:
        if not isinstance(key, (str, bytes)):
            msg = f"key must be a str or bytes HMAC secret, got {type(key).__name__}"
            raise TypeError(msg)
        secret = key.encode() if isinstance(key, str) else key
        needed = max(_HMAC_MIN[name] for name in algorithms)
        if len(secret) < needed:
            # The length, never the secret itself: it would end up in logs and tracebacks.
            msg = (
                f"key must be at least {needed} bytes for {'/'.join(algorithms)} (RFC 7518 §3.2), "
                f"got a {len(secret)}-byte key; generate a good one with: {_KEY_RECIPE}"
            )
            raise ValueError(msg)
    implementations = pyjwt.algorithms.get_default_algorithms()
    prepared = [_prepare(implementations[name], name, key) for name in algorithms]
    return prepared[-1]


def _prepare(implementation: Any, name: str, key: object) -> object:
    try:
        prepared: object = implementation.prepare_key(key)
    except Exception as error:
        # PyJWT refuses PEM or SSH public keys as HMAC secrets here (algorithm confusion), and
        # keys of the wrong type with an error of its own or a ValueError/TypeError.
        msg = f"key must be a key for {name}: {error}"
        raise ValueError(msg) from error
    return prepared
