"""The kit's own responses: complete small replies and WebSocket refusals (``_kit.responses``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asgi_middleware._kit.responses import (
    MAX_CLOSE_REASON,
    POLICY_VIOLATION,
    content_headers,
    deny_websocket,
    respond,
)
from tests.support.asgi import websocket_scope

pytestmark = pytest.mark.anyio

TEXT = b"text/plain; charset=utf-8"


class Recorder:
    """A ``send`` that keeps every message it is given."""

    def __init__(self) -> None:
        self.sent: list[Mapping[str, Any]] = []

    async def __call__(self, message: Mapping[str, Any]) -> None:
        """Record ``message``."""
        self.sent.append(message)


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        pytest.param(b"OK", TEXT, [(b"content-type", TEXT), (b"content-length", b"2")], id="typed"),
        pytest.param(b"", None, [(b"content-length", b"0")], id="empty-untyped"),
        pytest.param(
            "é".encode() * 600,
            b"application/json",
            [(b"content-type", b"application/json"), (b"content-length", b"1200")],
            id="length-in-bytes",
        ),
    ],
)
def test_content_headers_describe_the_body(
    body: bytes, content_type: bytes | None, expected: list[tuple[bytes, bytes]]
) -> None:
    """``content_headers`` gives Content-Type when asked and always the body's byte length."""
    assert content_headers(body, content_type) == expected


def test_content_headers_returns_a_new_list_each_time() -> None:
    """Each call returns its own list, which the caller may extend."""
    first = content_headers(b"x", TEXT)
    first.append((b"vary", b"Origin"))
    assert content_headers(b"x", TEXT) == [(b"content-type", TEXT), (b"content-length", b"1")]


async def test_respond_sends_a_complete_http_response() -> None:
    """``respond`` sends the start with the headers as given, then the whole body, final."""
    send = Recorder()
    headers = [*content_headers(b"denied", TEXT), (b"www-authenticate", b"Basic")]
    await respond(send, 401, headers, b"denied")
    assert send.sent == [
        {"type": "http.response.start", "status": 401, "headers": headers},
        {"type": "http.response.body", "body": b"denied", "more_body": False},
    ]


async def test_respond_without_a_body_sends_an_empty_final_body() -> None:
    """A reply without a body (a 204) still ends with one final body message."""
    send = Recorder()
    await respond(send, 204, [])
    assert send.sent == [
        {"type": "http.response.start", "status": 204, "headers": []},
        {"type": "http.response.body", "body": b"", "more_body": False},
    ]


async def test_deny_websocket_answers_through_the_extension() -> None:
    """With the denial-response extension the refusal is the HTTP response, no close."""
    send = Recorder()
    scope = websocket_scope(extensions={"websocket.http.response": {}})
    headers = content_headers(b"no", TEXT)
    await deny_websocket(scope, send, 401, headers, b"no", reason="Authentication required")
    assert send.sent == [
        {"type": "websocket.http.response.start", "status": 401, "headers": headers},
        {"type": "websocket.http.response.body", "body": b"no", "more_body": False},
    ]


@pytest.mark.parametrize(
    "extensions",
    [None, {}, {"websocket.http.response.x": {}}],
    ids=["none", "empty", "other"],
)
async def test_deny_websocket_closes_1008_without_the_extension(
    extensions: dict[str, Any] | None,
) -> None:
    """Without the extension the handshake is closed with 1008 and the reason."""
    send = Recorder()
    scope = websocket_scope(extensions=extensions)
    await deny_websocket(scope, send, 403, [], b"no", reason="Insufficient scope")
    assert send.sent == [{"type": "websocket.close", "code": 1008, "reason": "Insufficient scope"}]


async def test_deny_websocket_without_a_reason_closes_with_an_empty_one() -> None:
    """The reason defaults to empty, as CORS refuses."""
    send = Recorder()
    await deny_websocket(websocket_scope(), send, 403, [], b"no")
    assert send.sent == [{"type": "websocket.close", "code": POLICY_VIOLATION, "reason": ""}]


@given(reason=st.text(max_size=200))
async def test_deny_websocket_cuts_the_reason_to_123_bytes_on_a_character(reason: str) -> None:
    """The reason is the longest prefix of whole characters that fits 123 bytes of UTF-8."""
    reason = reason.encode("utf-8", "replace").decode("utf-8")  # no lone surrogates
    send = Recorder()
    await deny_websocket(websocket_scope(), send, 403, [], b"", reason=reason)
    sent = send.sent[0]["reason"]
    assert len(sent.encode()) <= MAX_CLOSE_REASON
    assert reason.startswith(sent)
    rest = reason[len(sent) :]
    assert not rest or len((sent + rest[0]).encode()) > MAX_CLOSE_REASON


async def test_deny_websocket_never_splits_a_character_of_a_long_reason() -> None:
    """200 bytes of two-byte characters become 61 of them: 122 bytes, not half of the 62nd."""
    send = Recorder()
    await deny_websocket(websocket_scope(), send, 403, [], b"", reason="é" * 100)
    assert send.sent == [{"type": "websocket.close", "code": 1008, "reason": "é" * 61}]
