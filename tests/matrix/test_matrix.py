"""The interoperability matrix: the whole recommended stack, checked over real HTTP per cell.

Each test is one check; ``pytest_generate_tests`` runs it in every cell it applies to (see
:mod:`tests.matrix.cells`), so a test id reads ``test_<check>[<server>-<framework>]``. Every
request comes from the trusted 127.0.0.1 peer marked HTTPS by ``X-Forwarded-Proto``, as from a
TLS-terminating proxy, except the one that checks that plain HTTP is redirected.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from tests.matrix.cells import CELLS, CHECKS, Cell
from tests.matrix.servers import CellServer
from tests.matrix.stack import (
    FIRST_CHUNK,
    FOREIGN_ORIGIN,
    ITEM_BODY,
    LAST_CHUNK,
    MAX_BODY,
    ORIGIN,
    STREAM_PAUSE,
    TOKEN,
)

pytestmark = pytest.mark.matrix

#: What every request carries: it came over HTTPS to the proxy at 127.0.0.1.
HTTPS = {"X-Forwarded-Proto": "https"}
#: Seconds to wait for a log line or a metric that follows the response.
SETTLE = 3.0


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each check in every cell it applies to; expected failures are strict xfails."""
    if "cell" not in metafunc.fixturenames:
        return
    check = metafunc.function.__name__.removeprefix("test_")
    params = []
    for cell in CELLS:
        if not cell.applies(check):
            continue
        reason = cell.xfail.get(check)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(cell, id=cell.id, marks=marks))
    metafunc.parametrize("cell", params)


@pytest.fixture
def client(server: CellServer, cell: Cell) -> Iterator[httpx.Client]:
    """An HTTP client for the cell's server: HTTP/2 with prior knowledge in the h2c cell."""
    options: dict[str, Any] = {"http2": True, "http1": False} if cell.http2 else {}
    with httpx.Client(
        base_url=server.url, headers=HTTPS, timeout=10.0, trust_env=False, **options
    ) as http:
        yield http


def _get(client: httpx.Client, cell: Cell, path: str, **kwargs: Any) -> httpx.Response:
    response = client.get(path, **kwargs)
    assert response.http_version == ("HTTP/2" if cell.http2 else "HTTP/1.1")
    return response


def _new_id() -> str:
    return uuid.uuid4().hex


# --- CORS ----------------------------------------------------------------------------------


def test_cors_preflight_allowed(client: httpx.Client, cell: Cell) -> None:
    """A preflight from the allowed origin asking for Authorization is answered by CORS."""
    response = client.options(
        "/private",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in response.headers["access-control-allow-headers"]


def test_cors_preflight_refused(client: httpx.Client, cell: Cell) -> None:
    """A preflight from another origin is refused with 400 and no CORS header."""
    response = client.options(
        "/private", headers={"Origin": FOREIGN_ORIGIN, "Access-Control-Request-Method": "GET"}
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


# --- Authentication ------------------------------------------------------------------------


def test_unauthorized(client: httpx.Client, cell: Cell) -> None:
    """A 401 carries the challenge, CORS headers, a request ID and Server-Timing."""
    response = _get(client, cell, "/private", headers={"Origin": ORIGIN})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert "app;dur=" in response.headers["server-timing"]


def test_authorized(client: httpx.Client, cell: Cell) -> None:
    """With the bearer token the request reaches the app, which sees the user."""
    response = _get(client, cell, "/private", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert "user" in response.json()


# --- Compression ---------------------------------------------------------------------------


def _compression(client: httpx.Client, cell: Cell, coding: str) -> None:
    response = _get(client, cell, "/items/1", headers={"Accept-Encoding": coding})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == coding
    assert response.num_bytes_downloaded < len(ITEM_BODY) // 4  # what went on the wire
    assert response.content == ITEM_BODY  # httpx decodes all three (brotli, zstandard)


def test_compression_gzip(client: httpx.Client, cell: Cell) -> None:
    """The gzip coding is negotiated, and the body decodes to the app's."""
    _compression(client, cell, "gzip")


def test_compression_br(client: httpx.Client, cell: Cell) -> None:
    """The br coding is negotiated, and the body decodes to the app's."""
    _compression(client, cell, "br")


def test_compression_zstd(client: httpx.Client, cell: Cell) -> None:
    """The zstd coding is negotiated, and the body decodes to the app's."""
    _compression(client, cell, "zstd")


# --- Request ID and access log -------------------------------------------------------------


def test_request_id_echo(client: httpx.Client, cell: Cell) -> None:
    """An incoming X-Request-ID is echoed on the response."""
    request_id = _new_id()
    response = _get(client, cell, "/items/2", headers={"X-Request-ID": request_id})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == request_id


def test_request_id_generated(client: httpx.Client, cell: Cell) -> None:
    """A request without an ID gets a fresh one."""
    first = _get(client, cell, "/items/3").headers["x-request-id"]
    second = _get(client, cell, "/items/3").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def _events_for(server: CellServer, request_id: str) -> list[dict[str, Any]]:
    return [event for event in server.events() if event.get("request_id") == request_id]


def test_access_log(client: httpx.Client, server: CellServer, cell: Cell) -> None:
    """One access-log event per request, with the request's ID, status and route."""
    request_id = _new_id()
    response = _get(client, cell, "/items/4", headers={"X-Request-ID": request_id})
    assert response.status_code == 200
    deadline = time.monotonic() + SETTLE
    while not _events_for(server, request_id) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)  # a second event, if there were one, would follow at once
    events = _events_for(server, request_id)
    assert len(events) == 1, server.output()[-2000:]
    assert events[0]["event"] == "http_request"
    assert events[0]["status"] == 200
    assert events[0]["path"] == "/items/4"


# --- Streaming -----------------------------------------------------------------------------


def test_streaming(client: httpx.Client, cell: Cell) -> None:
    """The first chunk arrives, compressed, well before the app sends the last one."""
    start = time.monotonic()
    first_at = None
    body = b""
    with client.stream("GET", "/stream", headers={"Accept-Encoding": "gzip"}) as response:
        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip"
        for chunk in response.iter_bytes():
            if chunk and first_at is None:
                first_at = time.monotonic()
            body += chunk
    end = time.monotonic()
    assert body == FIRST_CHUNK + LAST_CHUNK
    assert first_at is not None
    assert end - start >= STREAM_PAUSE * 0.9
    assert end - first_at >= STREAM_PAUSE * 0.6, f"first chunk after {first_at - start:.3f} s"


# --- Security headers, rate limit, metrics -------------------------------------------------


def test_security_headers(client: httpx.Client, cell: Cell) -> None:
    """The security headers are on the app's answers, HSTS included over (proxied) HTTPS."""
    response = _get(client, cell, "/items/5")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_rate_limit_fields(client: httpx.Client, cell: Cell) -> None:
    """Every limited response carries the IETF RateLimit-Policy and RateLimit fields."""
    response = _get(client, cell, "/items/6")
    assert response.headers["ratelimit-policy"] == '"matrix";q=100000;w=60'
    assert re.fullmatch(r'"matrix";r=\d+;t=\d+', response.headers["ratelimit"])


def _request_count(client: httpx.Client, cell: Cell, route: str) -> float:
    text = _get(client, cell, "/metrics").text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if (
                sample.name == "http_server_request_duration_seconds_count"
                and labels.get("http_route") == route
                and labels.get("http_response_status_code") == "200"
            ):
                total += sample.value
    return total


def test_metrics(client: httpx.Client, cell: Cell) -> None:
    """/metrics counts a request under its route template, not its path."""
    before = _request_count(client, cell, cell.item_route)
    assert _get(client, cell, "/items/7").status_code == 200
    deadline = time.monotonic() + SETTLE
    while (after := _request_count(client, cell, cell.item_route)) <= before:
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert after >= before + 1
    assert "/items/7" not in _get(client, cell, "/metrics").text


# --- Edge layers ---------------------------------------------------------------------------


def test_https_redirect(client: httpx.Client, cell: Cell) -> None:
    """A plain-HTTP request (no X-Forwarded-Proto) is redirected to HTTPS."""
    response = _get(client, cell, "/items/8?page=2", headers={"X-Forwarded-Proto": "http"})
    assert response.status_code == 307
    assert response.headers["location"] == "https://127.0.0.1/items/8?page=2"


def test_trusted_host(client: httpx.Client, cell: Cell) -> None:
    """A Host outside the allowlist gets a 400."""
    response = _get(client, cell, "/items/9", headers={"Host": "evil.example"})
    assert response.status_code == 400


def test_body_limit(client: httpx.Client, cell: Cell) -> None:
    """A body over the limit, announced by Content-Length, gets a 413.

    The 413 goes out before the body is read. Over HTTP/2 a server may then end the stream
    while the client is still sending (RFC 9113 §8.1 allows the early response), and when the
    connection closes before the client's last frame, httpx fails the write instead of reading
    the answer: a race of the client's, so the h2c cell tries up to three times.
    """
    attempts = 3 if cell.http2 else 1
    for attempt in range(1, attempts + 1):
        try:
            response = client.post("/items/10", content=b"x" * (MAX_BODY + 1))
            break
        except httpx.TransportError:
            if attempt == attempts:
                raise
    assert response.status_code == 413


# --- WebSockets ----------------------------------------------------------------------------


def _refused(server: CellServer, headers: dict[str, str], origin: str) -> InvalidStatus:
    with (
        pytest.raises(InvalidStatus) as refusal,
        connect(
            f"{server.ws_url}/ws",
            origin=Origin(origin),
            additional_headers={**HTTPS, **headers},
            open_timeout=5,
        ),
    ):
        pass  # pragma: no cover - the handshake is refused
    return refusal.value


def test_websocket_foreign_origin(server: CellServer, cell: Cell) -> None:
    """A handshake from another origin is refused, with the token or without."""
    refusal = _refused(server, {"Authorization": f"Bearer {TOKEN}"}, FOREIGN_ORIGIN)
    assert refusal.response.status_code == 403


def test_websocket_unauthenticated(server: CellServer, cell: Cell) -> None:
    """A handshake without the token is refused: 401 with the challenge where denial works."""
    refusal = _refused(server, {}, ORIGIN)
    if cell.websocket_denial:
        assert refusal.response.status_code == 401
        assert refusal.response.headers["www-authenticate"].startswith("Bearer")
    else:  # close 1008 before accept, which the server turns into a 403
        assert refusal.response.status_code == 403


def test_websocket_authenticated(server: CellServer, cell: Cell) -> None:
    """With the token and the allowed origin, the socket opens and echoes."""
    with connect(
        f"{server.ws_url}/ws",
        origin=Origin(ORIGIN),
        additional_headers={**HTTPS, "Authorization": f"Bearer {TOKEN}"},
        open_timeout=5,
    ) as socket:
        socket.send("ping")
        assert socket.recv(timeout=5) == "ping"


def _open_and_close(server: CellServer, request_id: str) -> str | None:
    """Open an authenticated socket, echo once, close with 1000; the handshake's X-Request-ID."""
    with connect(
        f"{server.ws_url}/ws",
        origin=Origin(ORIGIN),
        additional_headers={
            **HTTPS,
            "Authorization": f"Bearer {TOKEN}",
            "X-Request-ID": request_id,
        },
        open_timeout=5,
    ) as socket:
        socket.send("ping")
        assert socket.recv(timeout=5) == "ping"
        assert socket.response is not None
        handshake: str | None = socket.response.headers.get("x-request-id")
    return handshake


def test_websocket_request_id(server: CellServer, cell: Cell) -> None:
    """The accepted handshake echoes the client's X-Request-ID."""
    request_id = _new_id()
    assert _open_and_close(server, request_id) == request_id


def test_websocket_access_log(server: CellServer, cell: Cell) -> None:
    """One websocket_session event with the request ID, status 101 and the client's close code."""
    request_id = _new_id()
    _open_and_close(server, request_id)
    deadline = time.monotonic() + SETTLE
    while not _events_for(server, request_id) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    events = _events_for(server, request_id)
    assert [(event["event"], event["status"]) for event in events] == [("websocket_session", 101)]
    assert events[0]["close_code"] == 1000


def test_every_check_has_a_test() -> None:
    """The declared checks and this module's tests are the same set."""
    tests = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    assert tests - {"every_check_has_a_test"} == set(CHECKS)
