"""Tests of JWTBackend: pinned algorithms, claims, static keys and the JWKS cache."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import inspect
import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

import anyio
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from asgi_middleware import Receive, Scope, Send
from asgi_middleware.auth import AuthenticationError, AuthenticationMiddleware, JWTBackend
from tests.support.asgi import http_scope, run

pytestmark = pytest.mark.anyio

SECRET = "k" * 32
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
RSA_PEM = RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


def claims(**extra: Any) -> dict[str, Any]:
    """Claims of a token valid for an hour, for the subject ``ada``."""
    return {"sub": "ada", "exp": int(time.time()) + 3600, **extra}


def scope_for(token: str) -> dict[str, Any]:
    """An HTTP scope carrying ``token`` as a bearer token."""
    return http_scope(headers=[("Authorization", f"Bearer {token}")])


def hs256(**extra: Any) -> str:
    """An HS256 token signed with SECRET."""
    return jwt.encode(claims(**extra), SECRET, algorithm="HS256")


def rs256(kid: str | None = "k1", key: Any = RSA_KEY, **extra: Any) -> str:
    """An RS256 token with header ``kid``."""
    headers = {} if kid is None else {"kid": kid}
    return jwt.encode(claims(**extra), key, algorithm="RS256", headers=headers)


def b64(data: bytes) -> str:
    """Unpadded base64url, as JWS uses."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    """A JWS compact token assembled by hand, for attacks PyJWT would not produce."""
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())
    return head + "." + b64(signature)


def jwk(public: Any, kid: str | None, **extra: Any) -> dict[str, Any]:
    """A public JWK for an RSA or EC key."""
    algorithm = jwt.algorithms.RSAAlgorithm if isinstance(public, rsa.RSAPublicKey) else None
    data: dict[str, Any] = (
        algorithm.to_jwk(public, as_dict=True)
        if algorithm is not None
        else jwt.algorithms.ECAlgorithm.to_jwk(public, as_dict=True)
    )
    if kid is not None:
        data["kid"] = kid
    data.update(extra)
    return data


async def authenticate(backend: JWTBackend, token: str) -> Any:
    """Run the backend on one bearer token."""
    return await backend.authenticate(scope_for(token))


# --- Static keys ----------------------------------------------------------------------------------


async def test_hs256_valid_token() -> None:
    """A valid HS256 token gives its subject, its scopes and its claims."""
    backend = JWTBackend(algorithms=["HS256"], key=SECRET)

    credentials, user = await authenticate(backend, hs256(scope="read write"))

    assert credentials.scopes == ("read", "write")
    assert (user.display_name, user.claims["scope"]) == ("ada", "read write")


@pytest.mark.parametrize(
    ("value", "scopes"),
    [(["a", "b"], ("a", "b")), ("a", ("a",)), (3, ()), (["a", 1], ())],
)
async def test_scopes_claim_forms(value: Any, scopes: tuple[str, ...]) -> None:
    """Scopes come from a space-separated string or a list of str; other shapes grant none."""
    backend = JWTBackend(algorithms=["HS256"], key=SECRET, scopes_claim="scp")

    credentials, _ = await authenticate(backend, hs256(scp=value))

    assert credentials.scopes == scopes


async def test_rs256_static_pem_key() -> None:
    """A PEM public key verifies RS256 tokens."""
    backend = JWTBackend(algorithms=["RS256"], key=RSA_PEM)

    _, user = await authenticate(backend, rs256())

    assert user.identity == "ada"


@pytest.mark.parametrize(
    ("token", "options"),
    [
        (lambda: hs256(exp=int(time.time()) - 60), {}),
        (lambda: hs256(nbf=int(time.time()) + 60), {}),
        (lambda: jwt.encode({"sub": "ada"}, SECRET, algorithm="HS256"), {}),
        (lambda: hs256(aud="other"), {"audience": "api"}),
        (hs256, {"audience": ["api", "web"]}),
        (lambda: hs256(iss="https://evil.example"), {"issuer": "https://login.example"}),
        (hs256, {"issuer": ["https://login.example"]}),
        (lambda: hs256(aud="api"), {}),
        (lambda: hs256(sub=None), {}),
        (lambda: jwt.encode(claims(), "x" * 32 + "y", algorithm="HS256"), {}),
        (lambda: jwt.encode(claims(), SECRET * 2, algorithm="HS384"), {}),
        (lambda: hs256()[:-3], {}),
        (lambda: "not.a.jwt", {}),
        (hs256, {"required_claims": ["exp", "jti"]}),
        (hs256, {"username_claim": "email"}),
    ],
    ids=[
        "expired",
        "not-yet",
        "no-exp",
        "wrong-aud",
        "no-aud",
        "wrong-iss",
        "no-iss",
        "unexpected-aud",
        "no-sub",
        "wrong-key",
        "other-alg",
        "bad-signature",
        "garbage",
        "missing-claim",
        "no-username",
    ],
)
async def test_invalid_tokens_are_401_invalid_token(
    token: Callable[[], str], options: dict[str, Any]
) -> None:
    """Expired, immature, wrong audience/issuer, missing claims, bad signatures: invalid_token."""
    backend = JWTBackend(algorithms=["HS256"], key=SECRET, **options)

    with pytest.raises(AuthenticationError) as info:
        await authenticate(backend, token())

    assert info.value.challenge == 'Bearer realm="api", error="invalid_token"'


async def test_audience_and_issuer_accepted() -> None:
    """Matching ``aud`` and ``iss`` pass."""
    backend = JWTBackend(
        algorithms=["HS256"], key=SECRET, audience=["api", "web"], issuer="https://login.example"
    )

    _, user = await authenticate(backend, hs256(aud="web", iss="https://login.example"))

    assert user.identity == "ada"


async def test_leeway_accepts_small_clock_skew() -> None:
    """A token expired 30 s ago passes with ``leeway=60`` and fails without."""
    token = hs256(exp=int(time.time()) - 30)

    _, user = await authenticate(JWTBackend(algorithms=["HS256"], key=SECRET, leeway=60), token)

    assert user.identity == "ada"
    with pytest.raises(AuthenticationError):
        await authenticate(JWTBackend(algorithms=["HS256"], key=SECRET), token)


async def test_username_claim_option() -> None:
    """``username_claim`` picks the claim naming the user."""
    backend = JWTBackend(algorithms=["HS256"], key=SECRET, username_claim="email")

    _, user = await authenticate(backend, hs256(email="ada@example.com"))

    assert user.username == "ada@example.com"


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_alg_none_is_refused(alg: str) -> None:
    """An unsigned token (``alg: none``) is refused, whatever its spelling."""
    backend = JWTBackend(algorithms=["HS256"], key=SECRET)

    with pytest.raises(AuthenticationError):
        await authenticate(backend, unsigned({"alg": alg, "typ": "JWT"}, claims()))


async def test_algorithm_confusion_is_refused() -> None:
    """An HS256 token 'signed' with the RSA public key as secret fails against the RS256 key."""
    backend = JWTBackend(algorithms=["RS256"], key=RSA_PEM)
    header = {"alg": "HS256", "typ": "JWT"}
    body = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims()).encode())
    signature = hmac.new(RSA_PEM, body.encode(), hashlib.sha256).digest()

    with pytest.raises(AuthenticationError):
        await authenticate(backend, body + "." + b64(signature))


async def test_not_a_bearer_request_is_none() -> None:
    """Without a bearer token the backend declines."""
    backend = JWTBackend(algorithms=["HS256"], key=SECRET)

    assert await backend.authenticate(http_scope()) is None


async def test_middleware_answers_expired_token_with_401() -> None:
    """Through the middleware an expired token is a complete 401 with ``invalid_token``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError

    middleware = AuthenticationMiddleware(app, backend=JWTBackend(algorithms=["HS256"], key=SECRET))

    messages = await run(middleware, scope_for(hs256(exp=1)))

    assert messages[0]["status"] == 401
    assert (b"www-authenticate", b'Bearer realm="api", error="invalid_token"') in messages[0][
        "headers"
    ]


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"algorithms": []}, ValueError, "algorithms must be a non-empty list"),
        ({"algorithms": ["none"]}, ValueError, "algorithms must be a non-empty list"),
        ({"algorithms": "HS256"}, TypeError, "algorithms must be a list"),
        ({"algorithms": ["HS256", "RS256"]}, ValueError, "must not mix HMAC"),
        ({"algorithms": ["HS256"]}, TypeError, "exactly one of key, jwks_url and fetch_jwks"),
        (
            {"algorithms": ["HS256"], "key": SECRET, "jwks_url": "https://a.example/jwks"},
            TypeError,
            "exactly one of",
        ),
        ({"algorithms": ["HS256"], "key": "short"}, ValueError, "key must be at least 32 bytes"),
        ({"algorithms": ["HS512"], "key": SECRET}, ValueError, "key must be at least 64 bytes"),
        ({"algorithms": ["HS256"], "key": RSA_PEM}, ValueError, "key must be a key for HS256"),
        ({"algorithms": ["HS256"], "key": 123}, TypeError, "key must be a str or bytes"),
        ({"algorithms": ["RS256"], "key": EC_KEY.public_key()}, ValueError, "key for RS256"),
        ({"algorithms": ["RS256"], "key": "nonsense"}, ValueError, "key must be a key for RS256"),
        ({"algorithms": ["HS256"], "key": SECRET, "leeway": -1}, ValueError, "leeway must be"),
        ({"algorithms": ["HS256"], "key": SECRET, "leeway": True}, TypeError, "leeway must be"),
        ({"algorithms": ["HS256"], "key": SECRET, "audience": [1]}, TypeError, r"audience\[0\]"),
        ({"algorithms": ["HS256"], "key": SECRET, "issuer": [1]}, TypeError, r"issuer\[0\]"),
        (
            {"algorithms": ["HS256"], "jwks_url": "https://a.example/jwks"},
            ValueError,
            "public-key algorithms with a JWKS",
        ),
        (
            {"algorithms": ["RS256"], "jwks_url": "http://idp.example/jwks"},
            ValueError,
            "jwks_url must be an https URL",
        ),
        ({"algorithms": ["RS256"], "jwks_url": b"https://x"}, TypeError, "jwks_url must be a str"),
        (
            {"algorithms": ["RS256"], "jwks_url": "https://a.example", "jwks_ttl": 0},
            ValueError,
            "jwks_ttl must be an int >= 1",
        ),
        ({"algorithms": ["RS256"], "fetch_jwks": "x"}, TypeError, "fetch_jwks must be callable"),
        (
            {"algorithms": ["RS256"], "fetch_jwks": dict, "jwks_timeout": 0},
            ValueError,
            "jwks_timeout must be an int >= 1, got 0",
        ),
    ],
)
def test_bad_options(options: dict[str, Any], error: type[Exception], message: str) -> None:
    """Bad JWT options raise at construction, naming the option."""
    with pytest.raises(error, match=message):
        JWTBackend(**options)


def test_missing_algorithms_explains_what_to_pick_and_why() -> None:
    """Without ``algorithms`` the TypeError names typical choices and why there is no default."""
    with pytest.raises(TypeError) as info:
        JWTBackend(key=SECRET)

    message = str(info.value)
    assert message.startswith("algorithms is required: ")
    for advice in ('["RS256"]', "OpenID Connect", '["ES256"]', '["HS256"] for a shared secret'):
        assert advice in message
    assert "a token must not choose how it is verified" in message
    assert "alg=none" in message
    assert "public key as the HMAC secret" in message


def test_signature_shows_algorithms_as_required() -> None:
    """``help(JWTBackend)`` shows ``algorithms`` as required, not as some default value."""
    parameter = inspect.signature(JWTBackend).parameters["algorithms"]

    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert repr(parameter.default) == "<required>"


@pytest.mark.parametrize(
    ("algorithms", "key", "found", "needed"),
    [(["HS256"], "short", 5, 32), (["HS512"], SECRET, 32, 64), (["HS256"], "é" * 10, 20, 32)],
    ids=["hs256", "hs512", "utf-8-bytes"],
)
def test_short_hmac_key_says_length_minimum_and_how_to_generate(
    algorithms: list[str], key: str, found: int, needed: int
) -> None:
    """A short HMAC secret is refused with its length in bytes, the minimum and a key recipe."""
    with pytest.raises(ValueError, match="key must be at least") as info:
        JWTBackend(algorithms=algorithms, key=key)

    assert str(info.value) == (
        f"key must be at least {needed} bytes for {algorithms[0]} (RFC 7518 §3.2), got a "
        f"{found}-byte key; generate a good one with: "
        'python -c "import secrets; print(secrets.token_urlsafe(64))"'
    )
    assert key not in str(info.value)


def test_missing_pyjwt_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without PyJWT the backend raises an ImportError naming the ``jwt`` extra."""
    monkeypatch.setitem(sys.modules, "jwt", None)

    with pytest.raises(ImportError, match=r"asgi-middleware\[jwt\]"):
        JWTBackend(algorithms=["HS256"], key=SECRET)


# --- JWKS -----------------------------------------------------------------------------------------


#: A scripted answer that never comes: the identity provider hangs.
HANG: Any = object()


class Provider:
    """A scripted JWKS source counting its fetches; an Exception is raised, HANG never answers."""

    def __init__(self, *documents: Any, delay: float = 0) -> None:
        self.documents = list(documents)
        self.calls = 0
        self.delay = delay

    async def __call__(self) -> Any:
        self.calls += 1
        document = self.documents[min(self.calls, len(self.documents)) - 1]
        if document is HANG:
            await anyio.sleep_forever()
        if self.delay:
            await anyio.sleep(self.delay)
        if isinstance(document, Exception):
            raise document
        return document


class Clock:
    """A settable monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def jwks_backend(provider: Provider, **options: Any) -> tuple[JWTBackend, Clock]:
    """An RS256/ES256 backend on ``provider`` with a fake clock."""
    backend = JWTBackend(algorithms=["RS256", "ES256"], fetch_jwks=provider, **options)
    clock = Clock()
    backend._jwks._clock = clock  # type: ignore[union-attr]
    return backend, clock


def keys(*items: dict[str, Any]) -> dict[str, Any]:
    """A JWKS document."""
    return {"keys": list(items)}


async def until(condition: Callable[[], bool]) -> None:
    """Let other tasks run until ``condition()`` holds, for at most two seconds."""
    with anyio.fail_after(2):
        # Polling: the state watched belongs to the code under test, which offers no event.
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.001)


async def refreshed(backend: JWTBackend) -> None:
    """Wait until no JWKS fetch is in flight (a background refresh has landed)."""
    await until(lambda: backend._jwks._pending is None)  # type: ignore[union-attr]


async def stale(provider: Provider, **options: Any) -> JWTBackend:
    """A backend that fetched ``provider``'s first set and whose ``jwks_ttl`` has run out."""
    backend, clock = jwks_backend(provider, jwks_ttl=60, **options)
    await authenticate(backend, rs256("k1"))
    clock.now += 61
    return backend


async def test_jwks_key_by_kid_and_cached() -> None:
    """The key is chosen by ``kid``; the JWKS is fetched once for many requests."""
    provider = Provider(keys(jwk(RSA_OTHER.public_key(), "k0"), jwk(RSA_KEY.public_key(), "k1")))
    backend, _ = jwks_backend(provider)

    for _ in range(3):
        _, user = await authenticate(backend, rs256("k1"))
        assert user.identity == "ada"

    assert provider.calls == 1


async def test_jwks_ec_key() -> None:
    """EC keys from a JWKS verify ES256 tokens."""
    provider = Provider(keys(jwk(EC_KEY.public_key(), "e1")))
    backend, _ = jwks_backend(provider)
    token = jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "e1"})

    _, user = await authenticate(backend, token)

    assert user.identity == "ada"


async def test_jwks_single_key_without_kid() -> None:
    """A token without ``kid`` uses the only key of a one-key set."""
    backend, _ = jwks_backend(Provider(keys(jwk(RSA_KEY.public_key(), None))))

    _, user = await authenticate(backend, rs256(None))

    assert user.identity == "ada"


async def test_jwks_request_without_token_is_none_without_fetching() -> None:
    """A request without a bearer token is not the backend's, and fetches nothing."""
    provider = Provider(keys(jwk(RSA_KEY.public_key(), "k1")))
    backend, _ = jwks_backend(provider)

    assert await backend.authenticate(http_scope()) is None
    assert provider.calls == 0


async def test_jwks_token_without_kid_uses_the_only_key() -> None:
    """A token without ``kid`` uses the only key of the set even if that key has a kid."""
    backend, _ = jwks_backend(Provider(keys(jwk(RSA_KEY.public_key(), "k1"))))

    _, user = await authenticate(backend, rs256(None))

    assert user.identity == "ada"


async def test_jwks_without_kid_and_several_keys_is_401() -> None:
    """Without ``kid``, a set of several keys gives no key: 401."""
    document = keys(jwk(RSA_KEY.public_key(), "a"), jwk(RSA_OTHER.public_key(), "b"))
    backend, _ = jwks_backend(Provider(document))

    with pytest.raises(AuthenticationError):
        await authenticate(backend, rs256(None))


async def test_jwks_unknown_kid_refreshes_once_then_rate_limited() -> None:
    """An unknown kid triggers one refetch; more unknown kids within the interval do not."""
    old = keys(jwk(RSA_OTHER.public_key(), "old"))
    new = keys(jwk(RSA_OTHER.public_key(), "old"), jwk(RSA_KEY.public_key(), "new"))
    provider = Provider(old, new)
    backend, clock = jwks_backend(provider, jwks_refresh_interval=30)
    await authenticate(backend, rs256("old", key=RSA_OTHER))

    clock.now += 31
    _, user = await authenticate(backend, rs256("new"))
    for kid in ("made-up-1", "made-up-2"):
        with pytest.raises(AuthenticationError):
            await authenticate(backend, rs256(kid))

    assert user.identity == "ada"
    assert provider.calls == 2


async def test_jwks_unknown_kid_right_after_fetch_waits_for_interval() -> None:
    """An unknown kid inside the interval after a fetch gets a 401 without fetching again."""
    provider = Provider(keys(jwk(RSA_OTHER.public_key(), "old")))
    backend, clock = jwks_backend(provider, jwks_refresh_interval=30)
    await authenticate(backend, rs256("old", key=RSA_OTHER))

    with pytest.raises(AuthenticationError):
        await authenticate(backend, rs256("new"))
    clock.now += 30
    with pytest.raises(AuthenticationError):
        await authenticate(backend, rs256("new"))

    assert provider.calls == 2


async def test_jwks_ttl_expiry_refetches() -> None:
    """After ``jwks_ttl`` seconds the set is fetched again, and rotated keys apply once it lands."""
    first = keys(jwk(RSA_KEY.public_key(), "k1"))
    rotated = keys(jwk(RSA_OTHER.public_key(), "k1"))
    provider = Provider(first, rotated)
    backend = await stale(provider)

    _, before = await authenticate(backend, rs256("k1"))
    await refreshed(backend)
    _, after = await authenticate(backend, rs256("k1", key=RSA_OTHER))

    assert (before.identity, after.identity) == ("ada", "ada")
    assert provider.calls == 2


async def test_jwks_concurrent_requests_share_one_fetch() -> None:
    """Requests arriving while the set is being fetched wait for that one fetch."""
    provider = Provider(keys(jwk(RSA_KEY.public_key(), "k1")), delay=0.05)
    backend, _ = jwks_backend(provider)
    users: list[str] = []

    async def one() -> None:
        _, user = await authenticate(backend, rs256("k1"))
        users.append(user.identity)

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(one)

    assert users == ["ada"] * 5
    assert provider.calls == 1


async def test_jwks_fetch_failure_keeps_cached_keys(caplog: pytest.LogCaptureFixture) -> None:
    """A failed refresh is logged; the cached keys keep working, unknown keys get a 401."""
    provider = Provider(keys(jwk(RSA_KEY.public_key(), "k1")), OSError("connection refused"))
    backend, clock = jwks_backend(provider, jwks_ttl=60)
    await authenticate(backend, rs256("k1"))
    clock.now += 61

    with caplog.at_level(logging.WARNING, logger="asgi_middleware.auth"):
        _, user = await authenticate(backend, rs256("k1"))
    with pytest.raises(AuthenticationError):
        await authenticate(backend, rs256("k2"))

    assert user.identity == "ada"
    assert "JWKS fetch failed; keeping the 1 cached keys" in caplog.text
    assert provider.calls == 2


async def test_jwks_fetch_survives_cancelling_the_request_that_started_it() -> None:
    """Cancelling the request that started a fetch neither breaks the fetch nor opens a 401 window.

    The waiters get the keys when the fetch lands, and a request right after is answered from
    the cache: the abandoned request did not use up the refresh interval.
    """
    provider = Provider(keys(jwk(RSA_KEY.public_key(), "k1")), delay=0.2)
    backend, _ = jwks_backend(provider)
    owner = anyio.CancelScope()
    users: list[str] = []

    async def first() -> None:
        with owner:
            await authenticate(backend, rs256("k1"))

    async def waiter() -> None:
        _, user = await authenticate(backend, rs256("k1"))
        users.append(user.identity)

    async with anyio.create_task_group() as group:
        group.start_soon(first)
        await until(lambda: provider.calls == 1)
        for _ in range(3):
            group.start_soon(waiter)
        await anyio.sleep(0.02)
        owner.cancel()
    _, fresh = await authenticate(backend, rs256("k1"))

    assert owner.cancelled_caught
    assert users == ["ada"] * 3
    assert fresh.identity == "ada"
    assert provider.calls == 1


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_jwks_cancelled_fetch_task_releases_waiters_and_is_not_an_attempt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A fetch task cancelled from outside frees its waiters at once and is no attempt.

    The cancellation is logged, and a new request may fetch again straight away: the cancelled
    fetch is not counted against the refresh interval.
    """
    provider = Provider(HANG, keys(jwk(RSA_KEY.public_key(), "k1")))
    backend, _ = jwks_backend(provider, jwks_refresh_interval=30)
    refused: list[str] = []

    async def waiter() -> None:
        with pytest.raises(AuthenticationError):
            await authenticate(backend, rs256("k1"))
        refused.append("k1")

    with anyio.fail_after(1), caplog.at_level(logging.WARNING, logger="asgi_middleware.auth"):
        async with anyio.create_task_group() as group:
            for _ in range(2):
                group.start_soon(waiter)
            await until(lambda: provider.calls == 1)
            await anyio.sleep(0.01)
            task = backend._jwks._task  # type: ignore[union-attr]
            assert isinstance(task, asyncio.Task)
            task.cancel()
        _, user = await authenticate(backend, rs256("k1"))

    assert refused == ["k1", "k1"]
    assert user.identity == "ada"
    assert provider.calls == 2
    assert "JWKS fetch cancelled before it finished" in caplog.text


@pytest.mark.parametrize("loop", ["asyncio", "trio"])
def test_jwks_fetch_cancelled_by_loop_shutdown_is_logged_and_not_an_attempt(
    loop: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A background refresh still running when the event loop ends is cancelled cleanly.

    It is logged, the run ends without error (a trio system task must not raise), and as it is
    no attempt the next loop may fetch at once for a new kid.
    """
    rotated = keys(jwk(RSA_OTHER.public_key(), "k1"), jwk(RSA_KEY.public_key(), "k2"))
    provider = Provider(keys(jwk(RSA_OTHER.public_key(), "k1")), HANG, rotated)
    backend, clock = jwks_backend(provider, jwks_ttl=60, jwks_refresh_interval=30)

    async def first_run() -> None:
        with anyio.fail_after(1):
            await authenticate(backend, rs256("k1", key=RSA_OTHER))
            clock.now += 61
            await authenticate(backend, rs256("k1", key=RSA_OTHER))
            await until(lambda: provider.calls == 2)

    with caplog.at_level(logging.WARNING, logger="asgi_middleware.auth"):
        anyio.run(first_run, backend=loop)
    _, user = anyio.run(authenticate, backend, rs256("k2"), backend=loop)

    assert "JWKS fetch cancelled before it finished" in caplog.text
    assert user.identity == "ada"
    assert provider.calls == 3


async def test_jwks_stale_keys_answer_at_once_while_the_refresh_hangs() -> None:
    """With an expired set and a hanging provider, a known kid is answered from the cache at once.

    One background refresh is started for all of them.
    """
    provider = Provider(keys(jwk(RSA_KEY.public_key(), "k1")), HANG)
    backend = await stale(provider)

    with anyio.fail_after(0.5):
        for _ in range(3):
            _, user = await authenticate(backend, rs256("k1"))
    await until(lambda: provider.calls >= 2)

    assert user.identity == "ada"
    assert provider.calls == 2


async def test_jwks_unknown_kid_waits_at_most_jwks_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """During a provider outage an unknown kid waits for the fetch at most ``jwks_timeout``: 401.

    The hanging fetch is itself cut off after ``jwks_timeout``, logged as failed and counted
    against the refresh interval, so the next unknown kid is refused without another fetch.
    """
    provider = Provider(keys(jwk(RSA_KEY.public_key(), "k1")), HANG)
    backend = await stale(provider, jwks_timeout=1)

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="asgi_middleware.auth"):
        with anyio.fail_after(3), pytest.raises(AuthenticationError):
            await authenticate(backend, rs256("k2"))
        waited = time.monotonic() - started
        await refreshed(backend)
    with pytest.raises(AuthenticationError):
        await authenticate(backend, rs256("k3"))

    assert 0.9 <= waited < 2
    assert provider.calls == 2
    assert "JWKS fetch failed; keeping the 1 cached keys" in caplog.text


async def test_jwks_unknown_kid_waits_for_one_fetch_only() -> None:
    """An unknown kid on an expired set waits for one fetch, never two in a row."""
    provider = Provider(keys(jwk(RSA_KEY.public_key(), "k1")), delay=0.05)
    backend = await stale(provider, jwks_refresh_interval=0)

    with pytest.raises(AuthenticationError):
        await authenticate(backend, rs256("k2"))

    assert provider.calls == 2


async def test_jwks_rotated_key_arrives_with_the_background_refresh() -> None:
    """A rotated key (new kid) is picked up from the background refresh, without a second fetch.

    The known kid that starts the refresh does not wait for it; the new kid waits for that fetch.
    """
    first = keys(jwk(RSA_KEY.public_key(), "k1"))
    rotated = keys(jwk(RSA_KEY.public_key(), "k1"), jwk(RSA_OTHER.public_key(), "k2"))
    provider = Provider(first, rotated, delay=0.2)
    backend = await stale(provider)

    with anyio.fail_after(0.1):
        _, known = await authenticate(backend, rs256("k1"))
    _, new = await authenticate(backend, rs256("k2", key=RSA_OTHER))

    assert (known.identity, new.identity) == ("ada", "ada")
    assert provider.calls == 2


@pytest.mark.parametrize("document", [[], {"keys": {}}, "x"], ids=["list", "keys-dict", "str"])
async def test_jwks_malformed_document_is_a_failed_fetch(document: Any) -> None:
    """A document that is not a JWKS counts as a failed fetch: 401, no exception."""
    backend, _ = jwks_backend(Provider(document))

    with pytest.raises(AuthenticationError):
        await authenticate(backend, rs256("k1"))


@pytest.mark.parametrize(
    "entry",
    [
        {"kty": "oct", "kid": "k1", "k": "c2VjcmV0"},
        "not-a-dict",
        {"kty": "RSA", "kid": "k1", "n": "!!", "e": "AQAB"},
        {"kty": "RSA", "kid": 7},
    ],
    ids=["symmetric", "not-a-dict", "broken", "int-kid"],
)
async def test_jwks_unusable_entries_are_skipped(entry: Any) -> None:
    """Symmetric, malformed or broken entries are skipped; the good key still works."""
    document = keys(entry, jwk(RSA_KEY.public_key(), "good"))
    backend, _ = jwks_backend(Provider(document))

    _, user = await authenticate(backend, rs256("good"))
    with pytest.raises(AuthenticationError):
        await authenticate(backend, rs256("k1"))

    assert user.identity == "ada"


@pytest.mark.parametrize(
    "extra",
    [{"use": "enc"}, {"alg": "RS512"}],
    ids=["encryption-key", "other-alg"],
)
async def test_jwks_keys_for_other_uses_are_skipped(extra: dict[str, str]) -> None:
    """Encryption keys and keys for algorithms we do not accept are never used."""
    backend, _ = jwks_backend(Provider(keys(jwk(RSA_KEY.public_key(), "k1", **extra))))

    with pytest.raises(AuthenticationError):
        await authenticate(backend, rs256("k1"))


async def test_jwks_key_type_must_fit_token_alg() -> None:
    """A token naming ES256 cannot use an RSA key of the set, whatever its kid says."""
    backend, _ = jwks_backend(Provider(keys(jwk(RSA_KEY.public_key(), "k1"))))
    token = jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "k1"})

    with pytest.raises(AuthenticationError):
        await authenticate(backend, token)


async def test_jwks_key_alg_must_match_token_alg() -> None:
    """A key published for RS256 is not used for a PS256 token."""
    provider = Provider(keys(jwk(RSA_KEY.public_key(), "k1", alg="RS256")))
    backend = JWTBackend(algorithms=["RS256", "PS256"], fetch_jwks=provider)
    token = jwt.encode(claims(), RSA_KEY, algorithm="PS256", headers={"kid": "k1"})

    with pytest.raises(AuthenticationError):
        await authenticate(backend, token)


@pytest.mark.parametrize(
    "token",
    [
        lambda: unsigned({"alg": "none", "kid": "k1"}, claims()),
        lambda: unsigned({"alg": "HS256", "kid": "k1"}, claims(), b"x" * 32),
        lambda: unsigned({"alg": "RS256", "kid": ["k1"]}, claims(), b"x"),
        lambda: "e30.e30",
        lambda: "!!!.!!!.!!!",
    ],
    ids=["alg-none", "hmac", "list-kid", "two-parts", "garbage"],
)
async def test_jwks_refuses_bad_headers_without_fetching(token: Callable[[], str]) -> None:
    """Unsigned, HMAC or malformed tokens are refused before any fetch."""
    provider = Provider(keys(jwk(RSA_KEY.public_key(), "k1")))
    backend, _ = jwks_backend(provider)

    with pytest.raises(AuthenticationError):
        await authenticate(backend, token())

    assert provider.calls == 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bearer_bytes_are_401_never_500(token: bytes) -> None:
    """Any bytes as a bearer JWT are refused with AuthenticationError, nothing else escapes."""
    backend = JWTBackend(algorithms=["HS256"], key=SECRET)
    scope = http_scope(headers=[("Authorization", b"Bearer " + token)])

    with pytest.raises(AuthenticationError):
        anyio.run(backend.authenticate, scope)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_jwt_segments_are_401(payload: bytes) -> None:
    """Well-formed base64url segments with arbitrary content are refused, never a 500."""
    token = b64(b'{"alg":"HS256"}') + "." + b64(payload) + "." + b64(payload[:32])
    backend = JWTBackend(algorithms=["HS256"], key=SECRET)

    with pytest.raises(AuthenticationError):
        anyio.run(backend.authenticate, scope_for(token))
