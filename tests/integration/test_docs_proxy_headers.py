"""The proxy-headers recipes (docs/examples/proxy_headers_*.py) do what docs/proxy-headers.md says.

Each test sends exactly the headers that proxy sends, from the address it connects from,
including what a client wrote to try to spoof its address.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.samples import app_of, load

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("sibling_imports")]


async def get(
    sample: str, path: str, headers: list[tuple[str, str]], *, peer: str, host: str
) -> Any:
    """GET ``path`` from ``peer`` through a sample's app; return the JSON answer."""
    transport = httpx.ASGITransport(app=app_of(load(sample)), client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
        response = await client.get(path, headers=headers)
    return response.json()


async def test_nginx() -> None:
    """Behind nginx: it appends the peer to the spoofed list, overwrites proto and host."""
    headers = [
        ("X-Forwarded-For", "6.6.6.6, 203.0.113.9"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "shop.example"),
    ]
    seen = await get(
        "proxy_headers_nginx", "/who", headers, peer="127.0.0.1", host="127.0.0.1:8000"
    )
    assert seen == {"client": "203.0.113.9", "url": "https://shop.example/who"}


async def test_nginx_ignores_direct_clients() -> None:
    """A client that reaches the app around nginx cannot set its address."""
    headers = [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-Proto", "https")]
    seen = await get("proxy_headers_nginx", "/who", headers, peer="198.51.100.3", host="app:8000")
    assert seen == {"client": "198.51.100.3", "url": "http://app:8000/who"}


async def test_traefik_with_strip_prefix() -> None:
    """Traefik's five headers: the app's links carry host, port and prefix."""
    headers = [
        ("X-Forwarded-For", "203.0.113.9"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "shop.example"),
        ("X-Forwarded-Port", "443"),
        ("X-Forwarded-Prefix", "/shop"),
        ("X-Real-Ip", "203.0.113.9"),
    ]
    seen = await get("proxy_headers_traefik", "/who", headers, peer="172.18.0.2", host="app:8000")
    assert seen == {
        "client": "203.0.113.9",
        "url": "https://shop.example/shop/who",
        "link": "https://shop.example/shop/who",
    }


async def test_alb() -> None:
    """The ALB appends to the client's spoofed list; proto and port are its own."""
    headers = [
        ("X-Forwarded-For", "6.6.6.6, 203.0.113.9"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Port", "443"),
        ("X-Amzn-Trace-Id", "Root=1-67891233-abcdef012345678912345678"),
    ]
    seen = await get("proxy_headers_alb", "/who", headers, peer="10.0.3.17", host="shop.example")
    assert seen == {"client": "203.0.113.9", "url": "https://shop.example/who"}


@pytest.mark.parametrize(
    ("peer", "client"), [("173.245.48.5", "203.0.113.9"), ("6.6.6.6", "6.6.6.6")]
)
async def test_cloudflare(peer: str, client: str) -> None:
    """Cloudflare's ranges are believed; a direct client's spoofed headers are not."""
    headers = [
        ("X-Forwarded-For", "6.6.6.6, 203.0.113.9"),
        ("X-Forwarded-Proto", "https"),
        ("CF-Connecting-IP", "203.0.113.9"),
    ]
    seen = await get("proxy_headers_cloudflare", "/who", headers, peer=peer, host="shop.example")
    assert seen["client"] == client
