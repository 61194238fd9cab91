"""Raw ASGI tests of AuthenticationMiddleware: decisions, responses, scopes and options."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from typing import Any

import anyio
import jwt as pyjwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.authentication import AuthenticationError as StarletteAuthenticationError

from asgi_middleware import ASGIApp, Receive, Scope, Send
from asgi_middleware.auth import (
    APIKeyBackend,
    AuthBackend,
    AuthCredentials,
    AuthenticationError,
    AuthenticationMiddleware,
    AuthResult,
    BasicAuthBackend,
    BearerTokenBackend,
    InvalidRequestError,
    JWTBackend,
    PermissionDeniedError,
    SimpleUser,
    UnauthenticatedUser,
)
from tests.support.asgi import body, http_scope, lifespan_scope, run, start, websocket_scope

pytestmark = pytest.mark.anyio

TOKEN = "s3cr3t-token"  # noqa: S105 - a test token
BEARER = ("Authorization", f"Bearer {TOKEN}")
BEARER_CHALLENGE = (b"www-authenticate", b'Bearer realm="api"')
INVALID_TOKEN = (b"www-authenticate", b'Bearer realm="api", error="invalid_token"')
BASIC_CHALLENGE = (b"www-authenticate", b'Basic realm="api", charset="UTF-8"')


class Recorder:
    """An app that records the scope it was called with and answers 200 ``ok``."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, _receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        if scope["type"] == "websocket":
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 1000})
            return
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})


def bearer(**options: Any) -> tuple[AuthenticationMiddleware, Recorder]:
    """Our middleware with the static bearer token ``TOKEN``, and the recording app inside."""
    app = Recorder()
    backend = BearerTokenBackend(tokens=[TOKEN], scopes=["read"])
    return AuthenticationMiddleware(app, backend=backend, **options), app


def refusal(status: int, detail: str, *challenges: tuple[bytes, bytes]) -> list[dict[str, Any]]:
    """The exact messages of a JSON refusal."""
    content = json.dumps({"detail": detail}, separators=(",", ":")).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        *challenges,
    ]
    return [start(status, headers), body(content)]


def basic(credentials: bytes) -> tuple[str, bytes]:
    """An ``Authorization: Basic`` header for raw ``user:password`` bytes."""
    return ("Authorization", b"Basic " + base64.b64encode(credentials))


# --- HTTP decisions -----------------------------------------------------------------------------


async def test_valid_token_reaches_app_with_user_and_auth() -> None:
    """A valid bearer token passes; the app sees the user and the granted scopes."""
    middleware, app = bearer()

    messages = await run(middleware, http_scope(headers=[BEARER]))

    assert messages == [start(200, []), {"type": "http.response.body", "body": b"ok"}]
    (seen,) = app.scopes
    assert seen["user"] == SimpleUser("token-0")
    assert seen["user"].is_authenticated
    assert seen["auth"].scopes == ("read",)


async def test_scope_given_is_not_mutated() -> None:
    """The middleware passes a new scope and leaves the server's one as it was."""
    middleware, app = bearer()
    scope = http_scope(headers=[BEARER])
    before = dict(scope)

    await run(middleware, scope)

    assert scope == before
    assert "user" not in scope
    assert app.scopes[0] is not scope


async def test_missing_credentials_get_401_with_challenge() -> None:
    """No Authorization: 401, the Bearer challenge without an error code (RFC 6750 §3.1)."""
    middleware, app = bearer()

    messages = await run(middleware, http_scope())

    assert messages == refusal(401, "Authentication required", BEARER_CHALLENGE)
    assert app.scopes == []


@pytest.mark.parametrize(
    "value",
    [
        b"Bearer wrong-token",
        b"Bearer " + TOKEN.encode() + b"x",
        b"Bearer",
        b"Bearer    ",
        b"Bearer a b",
        b"Bearer \xff\xfe",
        b"Bearer " + b"a" * 9000,
        b"bearer " + TOKEN.upper().encode(),
    ],
    ids=["unknown", "longer", "empty", "blank", "space", "non-ascii", "huge", "case-of-token"],
)
async def test_invalid_token_gets_401_invalid_token(value: bytes) -> None:
    """A presented but invalid or malformed bearer token: 401 with ``error="invalid_token"``."""
    middleware, _ = bearer()

    messages = await run(middleware, http_scope(headers=[("Authorization", value)]))

    challenge = BEARER_CHALLENGE if len(value) > 8192 else INVALID_TOKEN
    assert messages == refusal(401, "Invalid credentials", challenge)


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr"])
async def test_scheme_is_case_insensitive(scheme: str) -> None:
    """The auth scheme matches in any case (RFC 9110 §11.1)."""
    middleware, _ = bearer()

    messages = await run(middleware, http_scope(headers=[("Authorization", f"{scheme} {TOKEN}")]))

    assert messages[0]["status"] == 200


async def test_header_name_in_any_case() -> None:
    """The Authorization header is found whatever case the client used."""
    middleware, _ = bearer()

    messages = await run(middleware, http_scope(headers=[("AUTHORIZATION", f"Bearer {TOKEN}")]))

    assert messages[0]["status"] == 200


async def test_wrong_scheme_is_missing_credentials() -> None:
    """A scheme no backend handles counts as no credentials: 401 with the challenge."""
    middleware, _ = bearer()

    messages = await run(middleware, http_scope(headers=[basic(b"user:pass")]))

    assert messages == refusal(401, "Authentication required", BEARER_CHALLENGE)


async def test_repeated_authorization_is_400() -> None:
    """Two Authorization headers: 400 invalid_request (RFC 9110 §5.3, RFC 6750 §3.1)."""
    middleware, app = bearer()
    headers = [BEARER, BEARER]

    messages = await run(middleware, http_scope(headers=headers))

    assert messages == refusal(400, "Repeated Authorization header")
    assert app.scopes == []


async def test_text_format() -> None:
    """``response_format="text"`` sends the detail as UTF-8 plain text."""
    middleware, _ = bearer(response_format="text")

    messages = await run(middleware, http_scope())

    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"23"),
        BEARER_CHALLENGE,
    ]
    assert messages == [start(401, headers), body(b"Authentication required")]


# --- Scopes, anonymous mode, chains -------------------------------------------------------------


async def test_required_scopes_present_pass() -> None:
    """A token with every required scope passes."""
    middleware, _ = bearer(required_scopes=["read"])

    messages = await run(middleware, http_scope(headers=[BEARER]))

    assert messages[0]["status"] == 200


async def test_insufficient_scope_is_403_with_scope_challenge() -> None:
    """A valid token lacking a required scope: 403 ``insufficient_scope`` naming the scopes."""
    middleware, app = bearer(required_scopes=["read", "write"])

    messages = await run(middleware, http_scope(headers=[BEARER]))

    challenge = b'Bearer realm="api", error="insufficient_scope", scope="read write"'
    assert messages == refusal(403, "Insufficient scope", (b"www-authenticate", challenge))
    assert app.scopes == []


async def test_insufficient_scope_basic_has_no_challenge() -> None:
    """Basic defines no scope error, so its 403 carries no WWW-Authenticate."""
    app = Recorder()
    backend = BasicAuthBackend(users={"ada": "pw"})
    middleware = AuthenticationMiddleware(app, backend=backend, required_scopes=["admin"])

    messages = await run(middleware, http_scope(headers=[basic(b"ada:pw")]))

    assert messages == refusal(403, "Insufficient scope")


async def test_anonymous_mode_lets_missing_credentials_through() -> None:
    """With ``allow_anonymous`` a request without credentials reaches the app anonymous."""
    middleware, app = bearer(allow_anonymous=True)

    messages = await run(middleware, http_scope())

    assert messages[0]["status"] == 200
    assert isinstance(app.scopes[0]["user"], UnauthenticatedUser)
    assert not app.scopes[0]["user"].is_authenticated
    assert app.scopes[0]["auth"].scopes == ()


async def test_anonymous_mode_still_refuses_invalid_credentials() -> None:
    """Anonymous mode never downgrades a wrong token to anonymous: still 401."""
    middleware, _ = bearer(allow_anonymous=True)

    messages = await run(middleware, http_scope(headers=[("Authorization", "Bearer nope")]))

    assert messages == refusal(401, "Invalid credentials", INVALID_TOKEN)


def chain() -> tuple[AuthenticationMiddleware, Recorder]:
    """Basic, then Bearer, then an API key: the three challenges in that order."""
    app = Recorder()
    backends: list[AuthBackend] = [
        BasicAuthBackend(users={"ada": "pw"}),
        BearerTokenBackend(tokens=[TOKEN]),
        APIKeyBackend(keys=["k-1"]),
    ]
    return AuthenticationMiddleware(app, backend=backends), app


@pytest.mark.parametrize(
    ("header", "user"),
    [(basic(b"ada:pw"), "ada"), (BEARER, "token-0"), (("X-API-Key", "k-1"), "key-0")],
    ids=["basic", "bearer", "api-key"],
)
async def test_chain_each_backend_authenticates(header: tuple[str, Any], user: str) -> None:
    """In a chain, each backend authenticates its own kind of credentials."""
    middleware, app = chain()

    await run(middleware, http_scope(headers=[header]))

    assert app.scopes[0]["user"].display_name == user


async def test_chain_missing_offers_every_challenge() -> None:
    """Without credentials, the 401 lists every backend's challenge, in chain order."""
    middleware, _ = chain()

    messages = await run(middleware, http_scope())

    api_key = (b"www-authenticate", b'APIKey realm="api", in="header", name="X-API-Key"')
    expected = refusal(401, "Authentication required", BASIC_CHALLENGE, BEARER_CHALLENGE, api_key)
    assert messages == expected


async def test_chain_invalid_replaces_that_backends_challenge() -> None:
    """An invalid token swaps in its backend's ``invalid_token`` challenge, keeps the others."""
    middleware, _ = chain()

    messages = await run(middleware, http_scope(headers=[("Authorization", "Bearer bad")]))

    api_key = (b"www-authenticate", b'APIKey realm="api", in="header", name="X-API-Key"')
    assert messages == refusal(401, "Invalid credentials", BASIC_CHALLENGE, INVALID_TOKEN, api_key)


class Custom:
    """A custom backend raising a configured error or returning a configured result."""

    def __init__(self, outcome: object) -> None:
        self.outcome = outcome

    async def authenticate(self, scope: Scope) -> tuple[AuthCredentials, Any] | None:  # noqa: ARG002
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("error", "status", "headers"),
    [
        (AuthenticationError("Account locked"), 401, []),
        (AuthenticationError("No", challenge='Custom realm="x"'), 401, [b'Custom realm="x"']),
        (PermissionDeniedError(), 403, []),
        (PermissionDeniedError("Read only", challenge="X"), 403, [b"X"]),
        (InvalidRequestError(), 400, []),
    ],
    ids=["401", "401-challenge", "403", "403-challenge", "400"],
)
async def test_custom_backend_errors_map_to_status(
    error: Exception, status: int, headers: list[bytes]
) -> None:
    """A custom backend's errors become their status, detail and challenge."""
    middleware = AuthenticationMiddleware(Recorder(), backend=Custom(error))

    messages = await run(middleware, http_scope())

    challenges = [(b"www-authenticate", value) for value in headers]
    assert messages == refusal(status, str(error), *challenges)


async def test_custom_backend_result_reaches_app() -> None:
    """A custom backend's ``(credentials, user)`` pair becomes ``scope["auth"]``/``["user"]``."""
    app = Recorder()
    result = AuthResult(AuthCredentials(["x"]), SimpleUser("custom"))
    middleware = AuthenticationMiddleware(app, backend=[Custom(result)])

    await run(middleware, http_scope())

    assert (app.scopes[0]["auth"], app.scopes[0]["user"]) == result


async def test_custom_backend_bug_propagates() -> None:
    """An exception that is not an auth error propagates unchanged, it is not a 401."""
    error = RuntimeError("database down")
    middleware = AuthenticationMiddleware(Recorder(), backend=Custom(error))

    with pytest.raises(RuntimeError) as info:
        await run(middleware, http_scope())

    assert info.value is error


async def test_custom_backend_bad_challenge_is_refused() -> None:
    """A challenge with CR/LF from a custom backend raises instead of injecting a header."""
    error = AuthenticationError(challenge="X\r\nSet-Cookie: a=b")
    middleware = AuthenticationMiddleware(Recorder(), backend=Custom(error))

    with pytest.raises(ValueError, match="challenge must be a header value"):
        await run(middleware, http_scope())


class LookupBackend:
    """A custom backend with the optional fast path and 403 challenge of ``AuthBackend``.

    ``lookup`` knows the key ``fast`` in ``X-Key``, raises ``lookup_error`` if one is set, and
    defers anything else to ``authenticate``, which knows the key ``slow`` and counts its calls.
    """

    challenge = 'Key realm="api"'

    def __init__(self, lookup_error: Exception | None = None) -> None:
        self.lookup_error = lookup_error
        self.authenticated = 0

    def lookup(self, scope: Scope) -> AuthResult | None:
        """Answer for the key ``fast`` without awaiting, else defer."""
        if self.lookup_error is not None:
            raise self.lookup_error
        if (b"x-key", b"fast") in scope["headers"]:
            return AuthResult(AuthCredentials(["read"]), SimpleUser("fast"))
        return None

    async def authenticate(self, scope: Scope) -> AuthResult | None:
        """Answer for the key ``slow``."""
        self.authenticated += 1
        if (b"x-key", b"slow") in scope["headers"]:
            return AuthResult(AuthCredentials(["read"]), SimpleUser("slow"))
        return None

    def insufficient_scope(self, scopes: list[str]) -> str:
        """The 403 challenge naming the scopes needed."""
        return f'Key realm="api", error="insufficient_scope", scope="{" ".join(scopes)}"'


@pytest.mark.parametrize(("key", "user", "awaited"), [("fast", "fast", 0), ("slow", "slow", 1)])
async def test_custom_backend_lookup_is_the_fast_path(key: str, user: str, awaited: int) -> None:
    """Any backend's ``lookup`` answers first; its ``None`` leaves ``authenticate`` to decide."""
    app, backend = Recorder(), LookupBackend()
    middleware = AuthenticationMiddleware(app, backend=backend)

    messages = await run(middleware, http_scope(headers=[("x-key", key)]))

    assert messages == [start(200, []), {"type": "http.response.body", "body": b"ok"}]
    assert app.scopes[0]["user"] == SimpleUser(user)
    assert backend.authenticated == awaited


async def test_custom_backend_lookup_refusal_lets_later_backends_answer() -> None:
    """A 401 from ``lookup`` is a refusal a later backend may overrule, as from authenticate."""
    app, backend = Recorder(), LookupBackend(AuthenticationError("Unknown key"))
    middleware = AuthenticationMiddleware(
        app, backend=[backend, BearerTokenBackend(tokens=[TOKEN])]
    )

    accepted = await run(middleware, http_scope(headers=[BEARER]))
    refused = await run(middleware, http_scope(headers=[("x-key", "fast")]))

    assert accepted == [start(200, []), {"type": "http.response.body", "body": b"ok"}]
    assert backend.authenticated == 0
    key_challenge = (b"www-authenticate", b'Key realm="api"')
    assert refused == refusal(401, "Unknown key", key_challenge, BEARER_CHALLENGE)


async def test_custom_backend_lookup_403_decides_at_once() -> None:
    """A 403 from ``lookup`` is final: no other backend is asked."""
    backend = LookupBackend(PermissionDeniedError("Suspended"))
    middleware = AuthenticationMiddleware(
        Recorder(), backend=[backend, BearerTokenBackend(tokens=[TOKEN])]
    )

    messages = await run(middleware, http_scope(headers=[BEARER]))

    assert messages == refusal(403, "Suspended")


async def test_custom_backend_insufficient_scope_names_the_scopes() -> None:
    """A custom backend's ``insufficient_scope`` builds the 403 challenge, as bearer ones do."""
    middleware = AuthenticationMiddleware(
        Recorder(), backend=LookupBackend(), required_scopes=["read", "write"]
    )

    messages = await run(middleware, http_scope(headers=[("x-key", "fast")]))

    challenge = b'Key realm="api", error="insufficient_scope", scope="read write"'
    assert messages == refusal(403, "Insufficient scope", (b"www-authenticate", challenge))


def test_custom_backend_optional_methods_are_checked_at_start() -> None:
    """A ``lookup`` not callable or async, or a 403 challenge with CR/LF, is refused at once."""
    backend = LookupBackend()
    backend.lookup = "fast"  # type: ignore[assignment,method-assign]
    with pytest.raises(TypeError, match=r"backend\[0\]\.lookup must be callable"):
        AuthenticationMiddleware(Recorder(), backend=backend)

    class AsyncLookup(LookupBackend):
        async def lookup(self, scope: Scope) -> AuthResult | None:  # type: ignore[override]  # noqa: ARG002
            """An async lookup, which the middleware could not call without awaiting."""
            return None

    with pytest.raises(TypeError, match=r"backend\[0\]\.lookup must be a plain \(not async\)"):
        AuthenticationMiddleware(Recorder(), backend=AsyncLookup())

    broken = LookupBackend()
    broken.insufficient_scope = lambda scopes: "Key\r\nSet-Cookie: a=b"  # type: ignore[method-assign]  # noqa: ARG005
    rule = r"backend\[0\]\.insufficient_scope\(\) must be a header value"
    with pytest.raises(ValueError, match=rule):
        AuthenticationMiddleware(Recorder(), backend=broken, required_scopes=["read"])


async def test_app_auth_errors_are_not_caught() -> None:
    """An auth error raised by the app itself propagates: only backends' errors are answered."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AuthenticationError

    middleware = AuthenticationMiddleware(app, backend=BearerTokenBackend(tokens=[TOKEN]))

    with pytest.raises(AuthenticationError):
        await run(middleware, http_scope(headers=[BEARER]))


# --- Pass-through: lifespan, preflights, excluded paths -----------------------------------------


async def test_lifespan_passes_through_untouched() -> None:
    """A lifespan scope reaches the app as the very object given."""
    app = Recorder()
    scope = lifespan_scope()

    async def lifespan_app(s: Scope, receive: Receive, send: Send) -> None:
        app.scopes.append(s)

    middleware = AuthenticationMiddleware(lifespan_app, backend=BearerTokenBackend(tokens=[TOKEN]))

    await run(middleware, scope)

    assert app.scopes == [scope]
    assert app.scopes[0] is scope


PREFLIGHT = [("Origin", "https://app.example"), ("Access-Control-Request-Method", "POST")]


async def test_preflight_passes_without_credentials() -> None:
    """An OPTIONS preflight reaches the app (as anonymous) without credentials."""
    middleware, app = bearer()

    messages = await run(middleware, http_scope("OPTIONS", headers=PREFLIGHT))

    assert messages[0]["status"] == 200
    assert not app.scopes[0]["user"].is_authenticated


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("OPTIONS", [PREFLIGHT[0]]),
        ("OPTIONS", [PREFLIGHT[1]]),
        ("GET", PREFLIGHT),
    ],
    ids=["no-request-method", "no-origin", "not-options"],
)
async def test_not_a_preflight_needs_credentials(method: str, headers: list[Any]) -> None:
    """Only OPTIONS with Origin and Access-Control-Request-Method counts as a preflight."""
    middleware, _ = bearer()

    messages = await run(middleware, http_scope(method, headers=headers))

    assert messages[0]["status"] == 401


async def test_preflight_needs_credentials_when_disabled() -> None:
    """``allow_preflight=False`` treats preflights like any request."""
    middleware, _ = bearer(allow_preflight=False)

    messages = await run(middleware, http_scope("OPTIONS", headers=PREFLIGHT))

    assert messages[0]["status"] == 401


@pytest.mark.parametrize(
    ("path", "root_path", "status"),
    [
        ("/login", "", 200),
        ("/login-admin", "", 401),
        ("/login/x", "", 401),
        ("/public", "", 200),
        ("/public/a/b", "", 200),
        ("/publication", "", 401),
        ("/api/login", "/api", 200),
        ("/admin", "", 401),
    ],
)
async def test_exclude_paths_are_anchored(path: str, root_path: str, status: int) -> None:
    """``/login`` excludes only itself and ``/public/*`` its subtree, under ``root_path``."""
    middleware, _ = bearer(exclude_paths=["/login", "/public/*"])

    messages = await run(middleware, http_scope(path=path, root_path=root_path))

    assert messages[0]["status"] == status


async def test_crafted_host_cannot_reach_protected_path() -> None:
    """Host and absolute-form tricks do not matter: only ``scope["path"]`` is matched."""
    middleware, _ = bearer(exclude_paths=["/login"])
    headers = [("Host", "evil.example/login?"), ("X-Forwarded-Prefix", "/login")]

    messages = await run(middleware, http_scope(path="/admin", headers=headers))

    assert messages[0]["status"] == 401


# --- WebSocket ----------------------------------------------------------------------------------


async def test_websocket_with_token_is_accepted() -> None:
    """A WebSocket with a valid token reaches the app, which accepts it."""
    middleware, app = bearer()

    messages = await run(middleware, websocket_scope(headers=[BEARER]))

    assert messages == [{"type": "websocket.accept"}, {"type": "websocket.close", "code": 1000}]
    assert app.scopes[0]["user"].identity == "token-0"


async def test_websocket_denied_with_http_response_extension() -> None:
    """With ``websocket.http.response`` offered, a denial is the 401 response, before accept."""
    middleware, app = bearer()
    scope = websocket_scope(extensions={"websocket.http.response": {}})

    messages = await run(middleware, scope)

    content = b'{"detail":"Authentication required"}'
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        BEARER_CHALLENGE,
    ]
    assert messages == [
        {"type": "websocket.http.response.start", "status": 401, "headers": headers},
        {"type": "websocket.http.response.body", "body": content, "more_body": False},
    ]
    assert app.scopes == []


@pytest.mark.parametrize("extensions", [None, {}, {"websocket.other": {}}])
async def test_websocket_denied_with_close_1008(extensions: Mapping[str, Any] | None) -> None:
    """Without the extension a denial is close 1008 (policy violation), never 1000."""
    middleware, app = bearer()

    messages = await run(middleware, websocket_scope(extensions=extensions))

    assert messages == [
        {"type": "websocket.close", "code": 1008, "reason": "Authentication required"}
    ]
    assert app.scopes == []


async def test_websocket_insufficient_scope_is_403() -> None:
    """A WebSocket lacking a required scope gets the 403 response."""
    middleware, _ = bearer(required_scopes=["admin"])
    scope = websocket_scope(headers=[BEARER], extensions={"websocket.http.response": {}})

    messages = await run(middleware, scope)

    assert messages[0]["status"] == 403


async def test_websocket_close_reason_is_cut_to_123_bytes() -> None:
    """A long detail is cut to the 123 bytes a close frame holds, on a character boundary."""
    middleware = AuthenticationMiddleware(
        Recorder(), backend=Custom(AuthenticationError("é" * 100))
    )

    messages = await run(middleware, websocket_scope())

    assert messages == [{"type": "websocket.close", "code": 1008, "reason": "é" * 61}]


# --- Options ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"backend": []}, ValueError, "backend must be a backend or a non-empty list"),
        ({"backend": object()}, TypeError, "backend must have an async authenticate"),
        ({"backend": [Custom(None), 1]}, TypeError, r"backend\[1\] must have"),
        ({"allow_anonymous": 1}, TypeError, "allow_anonymous must be a bool, got 1"),
        ({"allow_preflight": None}, TypeError, "allow_preflight must be a bool, got None"),
        ({"required_scopes": "read"}, TypeError, "required_scopes must be a list"),
        ({"required_scopes": ["a b"]}, ValueError, r"required_scopes\[0\] must be a scope token"),
        (
            {"required_scopes": ["read"], "allow_anonymous": True},
            ValueError,
            "required_scopes must be empty when allow_anonymous is True",
        ),
        ({"exclude_paths": ["login"]}, ValueError, r"exclude_paths\[0\] must be a path"),
        ({"response_format": "html"}, ValueError, 'response_format must be "json" or "text"'),
    ],
)
def test_bad_options_are_refused(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Each bad option raises at construction with the option named."""
    options.setdefault("backend", BearerTokenBackend(tokens=[TOKEN]))

    with pytest.raises(error, match=message):
        AuthenticationMiddleware(Recorder(), **options)


def test_bad_backend_challenge_is_refused_at_start() -> None:
    """A backend ``challenge`` attribute that is no header value is refused at construction."""
    backend = Custom(None)
    backend.challenge = "Basic\nx"  # type: ignore[attr-defined]

    with pytest.raises(ValueError, match=r"backend\[0\]\.challenge must be a header value"):
        AuthenticationMiddleware(Recorder(), backend=backend)


def test_compose_role_is_auth() -> None:
    """The class takes part in compose's order checks as the ``auth`` role."""
    assert AuthenticationMiddleware._compose_role == "auth"


def test_no_per_request_state_on_self() -> None:
    """``__slots__`` keeps per-request state off the instance."""
    middleware, _ = bearer()

    with pytest.raises(AttributeError):
        middleware.user = "x"  # type: ignore[attr-defined]


# --- Malformed input never becomes a 500 ---------------------------------------------------------

STATUSES = {200, 400, 401}


def _full_chain() -> ASGIApp:
    return AuthenticationMiddleware(
        Recorder(),
        backend=[
            BasicAuthBackend(users={"ada": "pw"}),
            BearerTokenBackend(tokens=[TOKEN]),
            APIKeyBackend(keys=["k-1"]),
        ],
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=200), min_size=1, max_size=3))
def test_arbitrary_authorization_bytes_never_500(values: list[bytes]) -> None:
    """Any bytes as one or more Authorization values get 200, 400 or 401, never an exception."""
    headers = [("Authorization", value) for value in values]

    messages = anyio.run(run, _full_chain(), http_scope(headers=headers))

    assert messages[0]["status"] in STATUSES
    assert messages[-1]["type"] == "http.response.body"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_arbitrary_basic_payload_never_500(payload: bytes) -> None:
    """Any bytes base64-encoded as Basic credentials get a 200 or a 401, never an exception."""
    messages = anyio.run(run, _full_chain(), http_scope(headers=[basic(payload)]))

    assert messages[0]["status"] == (200 if payload == b"ada:pw" else 401)


@pytest.mark.parametrize(
    "value",
    [
        b"Basic !!!!",
        b"Basic YWRh",  # "ada": no colon
        b"Basic " + base64.b64encode(b"\xff\xfe:pw"),
        b"Basic YWRhOnB",  # "ada:p" without its padding
        b"Basic ==",
        b"Basic " + base64.b64encode(b"ada:wrong"),
        b"Basic " + base64.b64encode(b"eve:pw"),
        b"Basic",
    ],
    ids=[
        "alphabet",
        "no-colon",
        "non-utf8",
        "padding",
        "only-padding",
        "password",
        "user",
        "empty",
    ],
)
async def test_malformed_basic_is_401(value: bytes) -> None:
    """Bad base64, non-UTF-8, no colon or wrong parts: 401 with the Basic challenge."""
    middleware = AuthenticationMiddleware(Recorder(), backend=BasicAuthBackend(users={"ada": "pw"}))

    messages = await run(middleware, http_scope(headers=[("Authorization", value)]))

    assert messages == refusal(401, "Invalid credentials", BASIC_CHALLENGE)


async def test_verify_backend_through_middleware() -> None:
    """A bearer backend with ``verify`` (no fast path) authenticates through the middleware."""
    app = Recorder()
    result = AuthResult(AuthCredentials(["x"]), SimpleUser("verified"))
    backend = BearerTokenBackend(verify=lambda token: result if token == "good" else None)  # noqa: S105 - a test token
    middleware = AuthenticationMiddleware(app, backend=backend)

    ok = await run(middleware, http_scope(headers=[("Authorization", "Bearer good")]))
    refused = await run(middleware, http_scope(headers=[("Authorization", "Bearer bad")]))

    assert ok[0]["status"] == 200
    assert app.scopes[0]["user"] == SimpleUser("verified")
    assert refused == refusal(401, "Invalid credentials", INVALID_TOKEN)


# --- Chains of backends for the same scheme -------------------------------------------------------

JWT_KEY = "chain-test-hs256-secret-32-bytes!!"


def jwt_token(subject: str = "jwt-user") -> str:
    """An HS256 token for ``JWT_KEY``, valid for five minutes."""
    claims = {"sub": subject, "scope": "read", "exp": int(time.time()) + 300}
    return pyjwt.encode(claims, JWT_KEY, algorithm="HS256")


def bearer_chain(order: str) -> tuple[AuthenticationMiddleware, Recorder]:
    """The static bearer backend and an HS256 JWT backend, in ``order`` ("static-first"...)."""
    app = Recorder()
    static = BearerTokenBackend(tokens=[TOKEN], scopes=["read"])
    jwt_backend = JWTBackend(algorithms=["HS256"], key=JWT_KEY)
    backends: list[AuthBackend] = [static, jwt_backend]
    if order == "jwt-first":
        backends.reverse()
    return AuthenticationMiddleware(app, backend=backends), app


ORDERS = pytest.mark.parametrize("order", ["static-first", "jwt-first"])


async def test_jwks_backend_first_defers_its_lookup_to_authenticate() -> None:
    """A JWKS backend's lookup defers (keys may need a fetch); a later backend still answers."""
    fetched: list[int] = []

    async def fetch_jwks() -> dict[str, Any]:
        fetched.append(1)
        return {"keys": []}

    jwks = JWTBackend(algorithms=["RS256"], fetch_jwks=fetch_jwks)
    static = BearerTokenBackend(tokens=[TOKEN], scopes=["read"])
    app = Recorder()
    middleware = AuthenticationMiddleware(app, backend=[jwks, static])

    assert jwks.lookup(http_scope(headers=[BEARER])) is None
    messages = await run(middleware, http_scope(headers=[BEARER]))

    assert messages == [start(200, []), {"type": "http.response.body", "body": b"ok"}]
    assert app.scopes[0]["user"] == SimpleUser("token-0")
    assert fetched == []


@ORDERS
async def test_bearer_chain_accepts_a_static_token(order: str) -> None:
    """A static token passes a chain with a JWT backend, whichever of the two comes first."""
    middleware, app = bearer_chain(order)

    messages = await run(middleware, http_scope(headers=[BEARER]))

    assert messages[0]["status"] == 200
    assert app.scopes[0]["user"] == SimpleUser("token-0")


@ORDERS
async def test_bearer_chain_accepts_a_jwt(order: str) -> None:
    """A valid JWT passes a chain with a static bearer backend, whichever comes first."""
    middleware, app = bearer_chain(order)
    header = ("Authorization", f"Bearer {jwt_token()}")

    messages = await run(middleware, http_scope(headers=[header]))

    assert messages[0]["status"] == 200
    assert app.scopes[0]["user"].identity == "jwt-user"
    assert app.scopes[0]["auth"].scopes == ("read",)


@ORDERS
async def test_bearer_chain_refuses_an_unknown_token_with_one_challenge(order: str) -> None:
    """A token no bearer backend accepts: 401 with one ``invalid_token`` challenge, not two."""
    middleware, app = bearer_chain(order)

    messages = await run(middleware, http_scope(headers=[("Authorization", "Bearer nope")]))

    assert messages == refusal(401, "Invalid credentials", INVALID_TOKEN)
    assert app.scopes == []


async def test_bearer_chain_without_token_offers_one_challenge() -> None:
    """Without credentials, two bearer backends of one realm give one challenge line."""
    middleware, _ = bearer_chain("static-first")

    messages = await run(middleware, http_scope())

    assert messages == refusal(401, "Authentication required", BEARER_CHALLENGE)


async def test_bearer_chain_realms_each_get_a_challenge() -> None:
    """Bearer backends of two realms refusing a token: one ``invalid_token`` challenge each."""
    backends: list[AuthBackend] = [
        BearerTokenBackend(tokens=["files-token"], realm="files"),
        BearerTokenBackend(tokens=["mail-token"], realm="mail"),
    ]
    middleware = AuthenticationMiddleware(Recorder(), backend=backends)

    messages = await run(middleware, http_scope(headers=[("Authorization", "Bearer nope")]))

    files = b'Bearer realm="files", error="invalid_token"'
    mail = b'Bearer realm="mail", error="invalid_token"'
    challenges = [(b"www-authenticate", files), (b"www-authenticate", mail)]
    assert messages == refusal(401, "Invalid credentials", *challenges)


async def test_chain_answers_with_the_first_refusal() -> None:
    """When every backend refuses, the detail is the first refusal's; challenges keep order."""
    first = Custom(AuthenticationError("Account locked", challenge='Session realm="app"'))
    backends: list[AuthBackend] = [first, BearerTokenBackend(tokens=[TOKEN])]
    middleware = AuthenticationMiddleware(Recorder(), backend=backends)

    messages = await run(middleware, http_scope(headers=[("Authorization", "Bearer nope")]))

    session = (b"www-authenticate", b'Session realm="app"')
    assert messages == refusal(401, "Account locked", session, INVALID_TOKEN)


async def test_chain_later_backend_accepts_after_a_refusal() -> None:
    """A refusal is not final: a later backend that accepts the credentials lets them in."""
    app = Recorder()
    backends: list[AuthBackend] = [
        Custom(AuthenticationError("Unknown session")),
        BearerTokenBackend(tokens=[TOKEN]),
    ]
    middleware = AuthenticationMiddleware(app, backend=backends)

    messages = await run(middleware, http_scope(headers=[BEARER]))

    assert messages[0]["status"] == 200
    assert app.scopes[0]["user"] == SimpleUser("token-0")


async def test_chain_403_after_a_refusal_is_decisive() -> None:
    """A later backend's 403 still decides, even after an earlier backend refused with 401."""
    backends: list[AuthBackend] = [
        BearerTokenBackend(tokens=[TOKEN]),
        Custom(PermissionDeniedError("Suspended")),
    ]
    middleware = AuthenticationMiddleware(Recorder(), backend=backends)

    messages = await run(middleware, http_scope(headers=[("Authorization", "Bearer nope")]))

    assert messages == refusal(403, "Suspended")


async def test_chain_400_after_a_refusal_is_decisive() -> None:
    """A malformed request found by a later backend is a 400, even after a 401 refusal."""
    backends: list[AuthBackend] = [BearerTokenBackend(tokens=[TOKEN]), APIKeyBackend(keys=["k"])]
    middleware = AuthenticationMiddleware(Recorder(), backend=backends)
    headers = [("Authorization", "Bearer nope"), ("X-API-Key", "k"), ("X-API-Key", "k")]

    messages = await run(middleware, http_scope(headers=headers))

    assert messages == refusal(400, "Repeated API key header")


async def test_chain_refusal_prefers_the_error_challenge_of_a_realm() -> None:
    """For one scheme and realm, the challenge of the backend that refused is the one sent."""
    plain = Custom(None)
    plain.challenge = 'Bearer realm="api"'  # type: ignore[attr-defined]
    backends: list[AuthBackend] = [plain, BearerTokenBackend(tokens=[TOKEN])]
    middleware = AuthenticationMiddleware(Recorder(), backend=backends)

    messages = await run(middleware, http_scope(headers=[("Authorization", "Bearer nope")]))

    assert messages == refusal(401, "Invalid credentials", INVALID_TOKEN)


# --- Starlette backends ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "detail"),
    [("Session expired", "Session expired"), ("", "Invalid credentials")],
    ids=["message", "no-message"],
)
async def test_starlette_authentication_error_is_a_401(message: str, detail: str) -> None:
    """Starlette's ``AuthenticationError`` from a backend is a refusal: 401 with the challenge."""
    backend = Custom(StarletteAuthenticationError(message))
    backend.challenge = 'Session realm="app"'  # type: ignore[attr-defined]
    middleware = AuthenticationMiddleware(Recorder(), backend=backend)

    messages = await run(middleware, http_scope())

    assert messages == refusal(401, detail, (b"www-authenticate", b'Session realm="app"'))
