"""Unit tests of the Basic, Bearer and API-key backends, their parsers and secret handling."""

from __future__ import annotations

import base64
import hmac
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asgi_middleware.auth import (
    APIKeyBackend,
    AuthCredentials,
    AuthenticationError,
    AuthResult,
    BaseUser,
    BasicAuthBackend,
    BearerTokenBackend,
    InvalidRequestError,
    SimpleUser,
    UnauthenticatedUser,
    _parse,
    _secrets,
)
from tests.support.asgi import http_scope

pytestmark = pytest.mark.anyio

ALICE = AuthResult(AuthCredentials(["read"]), SimpleUser("alice"))


def authz(value: str | bytes) -> dict[str, Any]:
    """An HTTP scope with one Authorization header."""
    return http_scope(headers=[("Authorization", value)])


def basic_value(user: str, password: str) -> str:
    """``Basic`` credentials for a UTF-8 user and password."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# --- Models ---------------------------------------------------------------------------------------


def test_simple_user_has_starlette_interface() -> None:
    """SimpleUser is authenticated and shows its username as display name and identity."""
    user = SimpleUser("ada", {"sub": "ada", "n": 1})

    assert (user.is_authenticated, user.display_name, user.identity) == (True, "ada", "ada")
    assert user.claims == {"sub": "ada", "n": 1}
    assert repr(user) == "SimpleUser('ada')"
    assert isinstance(user, BaseUser)


def test_simple_user_claims_are_read_only_copies() -> None:
    """The claims mapping is a read-only copy of what was given."""
    claims = {"sub": "ada"}
    user = SimpleUser("ada", claims)
    claims["sub"] = "eve"

    assert user.claims["sub"] == "ada"
    with pytest.raises(TypeError):
        user.claims["sub"] = "eve"  # type: ignore[index]


def test_simple_user_equality() -> None:
    """Users compare by name and claims, and not with other types."""
    assert SimpleUser("a") == SimpleUser("a")
    assert SimpleUser("a") != SimpleUser("a", {"x": 1})
    assert SimpleUser("a") != "a"
    assert hash(SimpleUser("a")) == hash(SimpleUser("a", {"x": 1}))


def test_unauthenticated_user() -> None:
    """The anonymous user is not authenticated and has empty names."""
    user = UnauthenticatedUser()

    assert (user.is_authenticated, user.display_name, user.identity) == (False, "", "")
    assert repr(user) == "UnauthenticatedUser()"


def test_credentials() -> None:
    """AuthCredentials keeps its scopes as a tuple, compares and hashes by them."""
    credentials = AuthCredentials(["a", "b"])

    assert credentials.scopes == ("a", "b")
    assert credentials == AuthCredentials(("a", "b"))
    assert credentials != ("a", "b")
    assert hash(credentials) == hash(AuthCredentials(["a", "b"]))
    assert repr(credentials) == "AuthCredentials(['a', 'b'])"


def test_credentials_refuse_a_bare_string() -> None:
    """A str of scopes would become one scope per character: refused."""
    with pytest.raises(TypeError, match="scopes must be a list or tuple of str"):
        AuthCredentials("read")


# --- Bearer ---------------------------------------------------------------------------------------


async def test_bearer_mapping_gives_the_configured_result() -> None:
    """A token mapping returns the pair configured for that token."""
    backend = BearerTokenBackend(tokens={"tok-a": ALICE})

    assert await backend.authenticate(authz("Bearer tok-a")) == ALICE


async def test_bearer_mapping_to_user_names() -> None:
    """A token mapped to a name gives that user the ``scopes`` option; pairs still work."""
    backend = BearerTokenBackend(tokens={"tok-a": "alice", "tok-b": ALICE}, scopes=["a", "b"])

    named = await backend.authenticate(authz("Bearer tok-a"))
    paired = await backend.authenticate(authz("Bearer tok-b"))

    assert named == (AuthCredentials(["a", "b"]), SimpleUser("alice"))
    assert paired == ALICE


async def test_bearer_list_numbers_users_and_grants_scopes() -> None:
    """A token list gives each token ``token-<index>`` and the configured scopes."""
    backend = BearerTokenBackend(tokens=["one", "two"], scopes=["a", "b"])

    result = await backend.authenticate(authz("Bearer two"))

    assert result == (AuthCredentials(["a", "b"]), SimpleUser("token-1"))


async def test_bearer_no_header_is_none() -> None:
    """Without Authorization the backend declines, so a chain can go on."""
    assert await BearerTokenBackend(tokens=["t"]).authenticate(http_scope()) is None


async def test_bearer_other_scheme_is_none() -> None:
    """Another scheme is not this backend's."""
    assert await BearerTokenBackend(tokens=["t"]).authenticate(authz("Token t")) is None


@pytest.mark.parametrize("verify_kind", ["sync", "async"])
async def test_bearer_verify_callable(verify_kind: str) -> None:
    """``verify`` may be sync or async; its pair passes, its ``None`` is a 401."""
    seen: list[str] = []

    def check(token: str) -> AuthResult | None:
        seen.append(token)
        return ALICE if token == "good" else None  # noqa: S105 - a test token

    async def acheck(token: str) -> AuthResult | None:
        return check(token)

    backend = BearerTokenBackend(verify=check if verify_kind == "sync" else acheck)

    assert await backend.authenticate(authz("Bearer good")) == ALICE
    with pytest.raises(AuthenticationError):
        await backend.authenticate(authz("Bearer bad"))
    assert seen == ["good", "bad"]


async def test_verify_returning_a_plain_tuple_is_wrapped() -> None:
    """A plain ``(credentials, user)`` tuple from verify is accepted as an AuthResult."""
    backend = BearerTokenBackend(verify=lambda _token: (ALICE.credentials, ALICE.user))

    assert await backend.authenticate(authz("Bearer x")) == ALICE


async def test_verify_returning_a_user_alone_is_a_type_error() -> None:
    """A verify callable returning something else is a bug, raised as TypeError."""
    backend = BearerTokenBackend(verify=lambda _token: SimpleUser("x"))  # type: ignore[arg-type,return-value]

    with pytest.raises(TypeError, match="verify must give None or a"):
        await backend.authenticate(authz("Bearer x"))


def test_static_lookup_confirms_with_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dict hit is confirmed by compare_digest on the presented and the stored bytes."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    secrets = _secrets.Secrets("tokens", ["abc", "xyz"], (), label="t", check=lambda *_: None)

    assert secrets.lookup(b"abc") is not None
    assert secrets.lookup(b"abd") is None
    assert calls == [(b"abc", b"abc")]


def test_static_lookup_refuses_a_hit_whose_compare_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """The result is given only if compare_digest agrees, not on the dict lookup alone."""
    secrets = _secrets.Secrets("tokens", ["abc"], (), label="t", check=lambda *_: None)
    monkeypatch.setattr(hmac, "compare_digest", lambda _a, _b: False)

    assert secrets.lookup(b"abc") is None


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({}, TypeError, "exactly one of tokens and verify must be given, got neither"),
        ({"tokens": ["a"], "verify": print}, TypeError, "got both"),
        ({"tokens": []}, ValueError, r"tokens must not be empty"),
        ({"tokens": "abc"}, TypeError, "tokens must be a list or tuple of str"),
        ({"tokens": ["a b"]}, ValueError, r"tokens\[0\] must be an RFC 6750 b64token"),
        ({"tokens": ["ok", "é"]}, ValueError, r"tokens\[1\] must be an RFC 6750 b64token"),
        ({"tokens": ["ok", "ok"]}, ValueError, r"tokens\[1\] must not repeat an earlier entry"),
        ({"tokens": {1: ALICE}}, TypeError, "tokens keys must be str"),
        (
            {"tokens": {"a": SimpleUser("x")}},
            TypeError,
            r"tokens\[0\] must map to a user name \(str\) or a \(credentials, user\) pair, got S",
        ),
        (
            {"tokens": {"a": None}},
            TypeError,
            r"tokens\[0\] must map to a user name .* got NoneType",
        ),
        ({"tokens": {"ok": 7}}, TypeError, r"tokens\[0\] must map to a user name .* got int"),
        ({"tokens": {"ok": ""}}, ValueError, r"tokens\[0\] must map to a non-empty user name"),
        ({"verify": 3}, TypeError, "verify must be callable"),
        ({"tokens": ["a"], "scopes": "read"}, TypeError, "scopes must be a list"),
        ({"tokens": ["a"], "scopes": ['a"b']}, ValueError, r"scopes\[0\] must be a scope token"),
        ({"tokens": ["a"], "realm": 'a"b'}, ValueError, "realm must be a non-empty str without"),
        ({"tokens": ["a"], "realm": ""}, ValueError, "realm must be a non-empty str without"),
        ({"tokens": ["a"], "realm": "a\nb"}, ValueError, "realm must be a header value"),
    ],
)
def test_bearer_bad_options(options: dict[str, Any], error: type[Exception], message: str) -> None:
    """Bad Bearer options raise at construction; secrets never appear in the message."""
    with pytest.raises(error, match=message) as info:
        BearerTokenBackend(**options)

    assert "ok" not in str(info.value).replace("token", "")


def test_bearer_insufficient_scope_challenge_without_scopes() -> None:
    """With no scopes to name, the 403 challenge has no ``scope`` parameter."""
    backend = BearerTokenBackend(tokens=["a"], realm="files")

    assert backend.insufficient_scope([]) == 'Bearer realm="files", error="insufficient_scope"'


# --- Basic ----------------------------------------------------------------------------------------


async def test_basic_static_user() -> None:
    """A configured user with the right password authenticates under their name."""
    backend = BasicAuthBackend(users={"ada": "pw", "bob": "pw2"}, scopes=["x"])

    result = await backend.authenticate(authz(basic_value("bob", "pw2")))

    assert result == (AuthCredentials(["x"]), SimpleUser("bob"))


async def test_basic_password_may_contain_colons_and_unicode() -> None:
    """The password is everything after the first colon, decoded as UTF-8 (RFC 7617 §2.1)."""
    backend = BasicAuthBackend(users={"zoë": "p:a:ß"})

    result = await backend.authenticate(authz(basic_value("zoë", "p:a:ß")))

    assert result is not None
    assert result[1].display_name == "zoë"


@pytest.mark.parametrize(("user", "password"), [("ada", "x"), ("eve", "pw"), ("", "")])
async def test_basic_wrong_parts_are_401(user: str, password: str) -> None:
    """A wrong user or password, or both empty, is a 401."""
    backend = BasicAuthBackend(users={"ada": "pw"})

    with pytest.raises(AuthenticationError):
        await backend.authenticate(authz(basic_value(user, password)))


def test_basic_compares_both_parts_of_every_user(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every user's name and password are compared, even after a match or a wrong name."""
    calls: list[int] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append(len(a))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    users = _secrets.UserPasswords("users", {"a": "1", "b": "2", "c": "3"}, ())

    assert users.lookup("a", "1") is not None
    assert users.lookup("x", "9") is None
    assert calls == [32] * 12


async def test_basic_verify_gets_user_and_password() -> None:
    """``verify(username, password)`` decides for Basic."""

    def verify(_user: str, password: str) -> AuthResult | None:
        return ALICE if password == "ok" else None  # noqa: S105 - a test password

    backend = BasicAuthBackend(verify=verify)

    assert await backend.authenticate(authz(basic_value("alice", "ok"))) == ALICE
    with pytest.raises(AuthenticationError):
        await backend.authenticate(authz(basic_value("alice", "no")))


async def test_basic_declines_other_schemes() -> None:
    """Basic declines a request without Authorization or with another scheme."""
    backend = BasicAuthBackend(users={"a": "b"})

    assert await backend.authenticate(http_scope()) is None
    assert await backend.authenticate(authz("Bearer abc")) is None


def test_basic_challenge() -> None:
    """The challenge names the realm and announces UTF-8 (RFC 7617 §2.1)."""
    assert BasicAuthBackend(users={"a": "b"}, realm="Admin area").challenge == (
        'Basic realm="Admin area", charset="UTF-8"'
    )


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({}, TypeError, "exactly one of users and verify"),
        ({"users": [("a", "b")]}, TypeError, "users must be a mapping"),
        ({"users": {}}, ValueError, "users must not be empty"),
        ({"users": {"a": 1}}, TypeError, "users must map str usernames"),
        ({"users": {"a:b": "c"}}, ValueError, "usernames must be non-empty and without ':'"),
        ({"users": {"": "c"}}, ValueError, "usernames must be non-empty"),
    ],
)
def test_basic_bad_options(options: dict[str, Any], error: type[Exception], message: str) -> None:
    """Bad Basic options raise at construction."""
    with pytest.raises(error, match=message):
        BasicAuthBackend(**options)


# --- API keys -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "name", "scope"),
    [
        ("header", "X-API-Key", http_scope(headers=[("x-api-key", "k1")])),
        ("header", "x-api-key", http_scope(headers=[("X-Api-Key", " k1 ")])),
        ("query", "api_key", http_scope(query_string=b"a=1&api_key=k1&b")),
        ("query", "api.key", http_scope(query_string=b"api%2Ekey=%6B1+")),
        ("cookie", "key", http_scope(headers=[("Cookie", "a=b; key=k1; c=d")])),
        ("cookie", "key", http_scope(headers=[("cookie", "a=b"), ("cookie", "key=k1")])),
    ],
)
async def test_api_key_locations(location: Any, name: str, scope: dict[str, Any]) -> None:
    """The key is read from its header, query parameter or cookie."""
    backend = APIKeyBackend(keys=["k1"], name=name, location=location)

    result = await backend.authenticate(scope)

    assert result is not None
    assert result[1].identity == "key-0"


@pytest.mark.parametrize("location", ["header", "query", "cookie"])
async def test_api_key_absent_is_none(location: Any) -> None:
    """Without the key the backend declines."""
    backend = APIKeyBackend(keys=["k1"], name="key", location=location)
    scope = http_scope(headers=[("x-other", "1"), ("cookie", "other=1")], query_string=b"other=1")

    assert await backend.authenticate(scope) is None


@pytest.mark.parametrize(
    ("scope", "error"),
    [
        (http_scope(headers=[("x-api-key", "k2")]), AuthenticationError),
        (http_scope(headers=[("x-api-key", "")]), AuthenticationError),
        (http_scope(headers=[("x-api-key", "k" * 9000)]), AuthenticationError),
        (http_scope(headers=[("x-api-key", "k1"), ("X-API-KEY", "k1")]), InvalidRequestError),
    ],
    ids=["wrong", "empty", "huge", "repeated"],
)
async def test_api_key_header_refusals(scope: dict[str, Any], error: type[Exception]) -> None:
    """Wrong, empty or huge keys are 401; a repeated key header is 400."""
    backend = APIKeyBackend(keys=["k1"])

    with pytest.raises(error):
        await backend.authenticate(scope)


async def test_api_key_repeated_query_parameter_is_400() -> None:
    """A key parameter given twice is ambiguous: 400."""
    backend = APIKeyBackend(keys=["k1"], name="key", location="query")

    with pytest.raises(InvalidRequestError):
        await backend.authenticate(http_scope(query_string=b"key=k1&key=k2"))


async def test_api_key_verify_gets_latin1_text() -> None:
    """``verify`` receives the key; bytes outside ASCII arrive as latin-1 characters."""
    seen: list[str] = []

    async def verify(key: str) -> AuthResult | None:
        seen.append(key)
        return ALICE

    backend = APIKeyBackend(verify=verify)

    assert await backend.authenticate(http_scope(headers=[("x-api-key", b"k\xe9")])) == ALICE
    assert seen == ["k\xe9"]


async def test_api_key_mapping() -> None:
    """A key mapping returns the pair configured for the key."""
    backend = APIKeyBackend(keys={"k1": ALICE})

    assert await backend.authenticate(http_scope(headers=[("x-api-key", "k1")])) == ALICE


async def test_api_key_mapping_to_user_names() -> None:
    """A key mapped to a name gives that user the ``scopes`` option."""
    backend = APIKeyBackend(keys={"k1": "partner"}, scopes=["items:read"])

    result = await backend.authenticate(http_scope(headers=[("x-api-key", "k1")]))

    assert result == (AuthCredentials(["items:read"]), SimpleUser("partner"))


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {"keys": {"k": ["alice"]}},
            TypeError,
            r"keys\[0\] must map to a user name \(str\) or a \(credentials, user\) pair, got list",
        ),
        ({"keys": {"k": ""}}, ValueError, r"keys\[0\] must map to a non-empty user name"),
        ({"keys": ["k"], "location": "body"}, ValueError, 'location must be "header", "query"'),
        ({"keys": ["k"], "name": "a b"}, ValueError, "name must be an HTTP token"),
        ({"keys": [" k"]}, ValueError, r"keys\[0\] must be non-empty visible ASCII"),
        ({"keys": [""]}, ValueError, r"keys\[0\] must be non-empty"),
        ({"keys": ["k\n"]}, ValueError, r"keys\[0\] must be non-empty visible ASCII"),
        ({"keys": ["é"]}, ValueError, r"keys\[0\] must be non-empty visible ASCII"),
    ],
)
def test_api_key_bad_options(options: dict[str, Any], error: type[Exception], message: str) -> None:
    """Bad API-key options raise at construction."""
    with pytest.raises(error, match=message):
        APIKeyBackend(**options)


def test_api_key_challenge_says_where() -> None:
    """The API-key challenge names the realm, the location and the name."""
    backend = APIKeyBackend(keys=["k"], name="token", location="query", realm="partners")

    assert backend.challenge == 'APIKey realm="partners", in="query", name="token"'


# --- Parsers (property-based) ---------------------------------------------------------------------

SAFE_NAME = st.binary(min_size=1, max_size=10).filter(lambda b: b"=" not in b and b"&" not in b)


@given(SAFE_NAME, st.binary(max_size=30), st.lists(st.binary(max_size=20), max_size=4))
def test_query_value_round_trips(name: bytes, value: bytes, noise: list[bytes]) -> None:
    """A percent-encoded parameter is found and decoded among other parameters."""
    others = [b"x" + quote_from_bytes(item).encode() + b"=1" for item in noise]
    encoded = quote_from_bytes(name).encode() + b"=" + quote_from_bytes(value).encode()
    query = b"&".join([*others, encoded])

    assert _parse.query_value(query, name) == value


@given(st.binary(max_size=200))
def test_query_value_never_raises_anything_else(query: bytes) -> None:
    """Any query string gives a value, ``None`` or the 400 error, nothing else."""
    try:
        result = _parse.query_value(query, b"key")
    except InvalidRequestError:
        return
    assert result is None or isinstance(result, bytes)


@given(st.binary(max_size=200))
def test_cookie_value_never_raises(header: bytes) -> None:
    """Any Cookie header gives a value or ``None``."""
    result = _parse.cookie_value(http_scope(headers=[("cookie", header)]), b"key")

    assert result is None or isinstance(result, bytes)


@given(st.binary(max_size=100))
def test_basic_credentials_round_trip_or_401(raw: bytes) -> None:
    """Encoded bytes decode to (user, password) exactly when they are UTF-8 with a colon."""
    token = base64.b64encode(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or ":" not in text:
        with pytest.raises(AuthenticationError):
            _parse.basic_credentials(token)
    else:
        assert _parse.basic_credentials(token) == tuple(text.split(":", 1))


@given(st.binary(max_size=100))
def test_split_scheme_lowercases_and_strips(value: bytes) -> None:
    """The scheme comes back lower case without spaces, the rest without outer blanks."""
    scheme, rest = _parse.split_scheme(value)

    assert scheme == scheme.lower()
    assert b" " not in scheme
    assert rest == rest.strip(b" \t")
