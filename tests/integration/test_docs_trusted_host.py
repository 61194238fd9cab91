"""The trusted-host samples (docs/examples/trusted_host_*.py) do what docs/trusted-host.md says."""

from __future__ import annotations

import pytest

from tests.support.asgi import asgi_client
from tests.support.samples import app_of, load

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("sibling_imports")]


@pytest.mark.parametrize(
    ("host", "path", "status", "text"),
    [
        ("www.example.com", "/", 200, "Hello from www.example.com"),
        ("v1.api.example.com", "/", 200, "Hello from v1.api.example.com"),
        ("eu.v1.api.example.com", "/", 200, "Hello from eu.v1.api.example.com"),
        ("localhost:8000", "/", 200, "Hello from localhost"),
        ("127.0.0.1:9000", "/", 200, "Hello from 127.0.0.1"),
        ("[::1]:8000", "/", 200, "Hello from ::1"),
        ("localhost:9000", "/", 400, "Invalid host header"),
        ("api.example.com", "/", 400, "Invalid host header"),
        ("evil.example", "/", 400, "Invalid host header"),
    ],
)
async def test_basic_sample_serves_the_listed_hosts_only(
    host: str, path: str, status: int, text: str
) -> None:
    """trusted_host_basic: each commented entry allows what its comment says."""
    async with asgi_client(app_of(load("trusted_host_basic"))) as client:
        response = await client.get(path, headers={"Host": host})

    assert (response.status_code, response.text) == (status, text)


async def test_basic_sample_redirects_to_the_www_host() -> None:
    """trusted_host_basic: ``example.com`` is sent to ``www.example.com``, path and query kept."""
    async with asgi_client(app_of(load("trusted_host_basic"))) as client:
        response = await client.get("/x?y=1", headers={"Host": "example.com"})

    assert response.status_code == 307
    assert response.headers["location"] == "http://www.example.com/x?y=1"


@pytest.mark.parametrize(
    ("host", "status"), [("example.com", 200), ("a.example.com", 200), ("evil.example", 400)]
)
async def test_migration_sample_answers_as_starlettes(host: str, status: int) -> None:
    """trusted_host_migration: before and after give the same answers; only the import changed."""
    module = load("trusted_host_migration")
    statuses = []
    for name in ("before_app", "app"):
        async with asgi_client(app_of(module, name)) as client:
            statuses.append((await client.get("/", headers={"Host": host})).status_code)

    # The app has no routes: an allowed host reaches it and gets its 404.
    assert statuses == [404 if status == 200 else status] * 2
