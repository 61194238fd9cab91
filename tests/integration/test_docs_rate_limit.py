"""The rate-limit samples (docs/examples/rate_limit_*.py) do what docs/rate-limit.md says."""

from __future__ import annotations

import httpx
import pytest

from asgi_middleware import ASGIApp
from tests.support.samples import app_of, load
from tests.support.structured_fields import parse_list

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("sibling_imports")]


def client(app: ASGIApp, peer: str = "127.0.0.1") -> httpx.AsyncClient:
    """An httpx client calling ``app`` in process, as a connection from ``peer``."""
    transport = httpx.ASGITransport(app=app, client=(peer, 4711))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_basic_sample_admits_ten_then_refuses() -> None:
    """rate_limit_basic: ten at once with both policies counting down, then 429, Retry-After 1."""
    async with client(app_of(load("rate_limit_basic"))) as http:
        responses = [await http.get("/") for _ in range(11)]

    assert [response.status_code for response in responses] == [200] * 10 + [429]
    assert responses[0].headers["ratelimit"] == '"per-second";r=9;t=1, "per-day";r=9999;t=9'
    assert parse_list(responses[0].headers["ratelimit-policy"]) == [
        ("per-second", {"q": 10, "w": 1}),
        ("per-day", {"q": 10_000, "w": 86_400}),
    ]
    assert responses[10].headers["retry-after"] == "1"


async def test_basic_sample_never_limits_health_checks() -> None:
    """rate_limit_basic: /health is exempt, however often it is called."""
    async with client(app_of(load("rate_limit_basic"))) as http:
        statuses = {(await http.get("/health")).status_code for _ in range(30)}

    assert statuses == {200}


async def test_policies_sample_limits_logins_apart() -> None:
    """rate_limit_policies: five POSTs to /login, then 429; GETs there are not counted as logins."""
    async with client(app_of(load("rate_limit_policies"))) as http:
        posts = [(await http.post("/login")).status_code for _ in range(6)]
        page = await http.get("/login")

    assert posts == [200] * 5 + [429]
    assert page.status_code == 200
    assert [name for name, _ in parse_list(page.headers["ratelimit-policy"])] == ["api"]


async def test_policies_sample_counts_reports_per_window() -> None:
    """rate_limit_policies: the reports policy applies under /reports/ only, as a window count."""
    async with client(app_of(load("rate_limit_policies"))) as http:
        report = await http.get("/reports/monthly")
        items = await http.get("/items")

    [api, (name, reports)] = parse_list(report.headers["ratelimit"])
    assert api == ("api", {"r": 19, "t": 1})
    # The window's count is full again two fixed windows after the one it was counted in.
    assert name == "reports"
    assert reports["r"] == 29
    assert 3600 < reports["t"] <= 7200
    assert [name for name, _ in parse_list(items.headers["ratelimit"])] == ["api"]


async def test_policies_sample_keys_on_the_tenant() -> None:
    """rate_limit_policies: one bucket per tenant header, whatever the address; else per client."""
    app = app_of(load("rate_limit_policies"))
    tenant = {"X-Tenant-ID": "acme"}

    async with client(app, "192.0.2.1") as first, client(app, "192.0.2.2") as second:
        for _ in range(3):
            await first.post("/login", headers=tenant)
        for _ in range(2):
            await first.post("/login")
        from_elsewhere = (await second.post("/login", headers=tenant)).headers["ratelimit"]
        other_client = (await second.post("/login")).headers["ratelimit"]

    assert from_elsewhere.endswith('"login";r=1;t=48')
    assert other_client.endswith('"login";r=4;t=12')


async def test_policies_sample_keys_on_the_api_key() -> None:
    """rate_limit_policies: per_api_key counts per key, hashed, not per address."""
    app = load("rate_limit_policies").per_api_key

    async with client(app, "192.0.2.1") as first, client(app, "192.0.2.2") as second:
        await first.get("/items", headers={"X-API-Key": "k1"})
        same_key = await second.get("/items", headers={"X-API-Key": "k1"})
        other_key = await second.get("/items", headers={"X-API-Key": "k2"})

    assert same_key.headers["ratelimit"] == '"per-key";r=998;t=8'
    assert other_key.headers["ratelimit"] == '"per-key";r=999;t=4'


async def test_stack_sample_limits_per_client_and_per_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """rate_limit_stack: the client comes from the proxy; users are limited inside auth."""
    monkeypatch.setenv("API_TOKENS", "alice-token,bob-token")
    app = app_of(load("rate_limit_stack"))
    headers = {
        "Authorization": "Bearer alice-token",
        "X-Forwarded-For": "203.0.113.5",
        "Origin": "https://app.example",
    }

    async with client(app, peer="10.0.0.2") as http:
        response = await http.get("/me", headers=headers)
        anonymous = await http.get("/me", headers={"X-Forwarded-For": "203.0.113.5"})

    assert response.status_code == 200
    assert response.json() == {"user": "token-0", "client": "203.0.113.5"}
    assert response.headers["ratelimit"] == '"per-user";r=999;t=4, "per-client";r=49;t=1'
    assert "ratelimit" in response.headers["access-control-expose-headers"].lower()
    # A request without a token is refused by auth, and still counted per client.
    assert anonymous.status_code == 401
    assert anonymous.headers["ratelimit"] == '"per-client";r=48;t=1'


async def test_stack_sample_without_tokens_lets_nobody_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """rate_limit_stack: without API_TOKENS there is no token to guess."""
    monkeypatch.delenv("API_TOKENS", raising=False)
    app = app_of(load("rate_limit_stack"))

    async with client(app, peer="10.0.0.2") as http:
        response = await http.get("/me", headers={"Authorization": "Bearer alice-token"})

    assert response.status_code == 401


async def test_client_sample_reads_the_fields_and_waits() -> None:
    """rate_limit_client: available() reads r; polite_get waits out a 429 and succeeds."""
    module = load("rate_limit_client")

    async with client(app_of(module)) as http:
        first = await http.get("/")
        second = await http.get("/")
        third = await module.polite_get(http, "/")

    assert [module.available(first), module.available(second)] == [1, 0]
    assert third.status_code == 200


def test_client_sample_ignores_malformed_fields() -> None:
    """rate_limit_client: no field, or one without a number, gives None."""
    module = load("rate_limit_client")

    assert module.available(httpx.Response(200)) is None
    assert module.available(httpx.Response(200, headers={"RateLimit": '"a";r=x'})) is None
    two = httpx.Response(200, headers=[("RateLimit", '"a";r=5;t=1'), ("RateLimit", '"b";r=2')])
    assert module.available(two) == 2


async def test_failure_sample_fails_closed_and_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """rate_limit_failure: a failing store gets 503 and a count per error kind."""
    module = load("rate_limit_failure")

    def broken() -> float:
        raise ConnectionResetError

    # The sample's store fails as a shared store would: at its first step.
    monkeypatch.setattr(module.store, "_clock", broken)
    async with client(app_of(module)) as http:
        statuses = [(await http.get("/")).status_code for _ in range(2)]

    assert statuses == [503, 503]
    assert module.store_errors == {"ConnectionResetError": 2}


async def test_failure_sample_limits_while_the_store_works() -> None:
    """rate_limit_failure: with the store up, the limit applies as usual."""
    async with client(app_of(load("rate_limit_failure"))) as http:
        response = await http.get("/")

    assert response.headers["ratelimit"] == '"api";r=99;t=1'


@pytest.mark.parametrize(
    ("before", "after"), [("before_app", "app"), ("litestar_before", "litestar_after")]
)
async def test_migration_sample_limits_like_the_peer(before: str, after: str) -> None:
    """rate_limit_migration: five a minute before and after; the sixth is refused by both."""
    module = load("rate_limit_migration")
    found = []
    for name in (before, after):
        async with client(app_of(module, name)) as http:
            found.append([(await http.get("/")).status_code for _ in range(6)])

    assert found == [[200] * 5 + [429]] * 2
