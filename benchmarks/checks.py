"""Response checks: parse the recorded messages and compare them with what the variant promises.

Checks raise `AssertionError` explicitly (never the ``assert`` statement), so they still run under
``python -O``.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from benchmarks.model import Check, Message


@dataclass(frozen=True, slots=True)
class Response:
    """A response reassembled from ASGI messages.

    Args:
        status: Status code of ``http.response.start``.
        headers: ``(name, value)`` pairs with lower-case names, decoded as latin-1, in order.
        body: All ``http.response.body`` chunks joined.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def get_all(self, name: str) -> list[str]:
        """Return every value of a header, in order.

        Args:
            name: Header name, any case.

        Returns:
            The values, possibly empty.
        """
        wanted = name.lower()
        return [value for key, value in self.headers if key == wanted]

    def tokens(self, name: str) -> list[str]:
        """Return the comma-separated tokens of every value of a header, lower-cased.

        Args:
            name: Header name, any case.

        Returns:
            The non-empty tokens, in order.
        """
        return [
            token.strip().lower()
            for value in self.get_all(name)
            for token in value.split(",")
            if token.strip()
        ]


def _fail(message: str) -> AssertionError:
    return AssertionError(message)


def parse_response(messages: Sequence[Message]) -> Response:
    """Reassemble one HTTP response and check that the message sequence is well-formed.

    Args:
        messages: What the app sent, in order.

    Returns:
        The parsed response.

    Raises:
        AssertionError: If the sequence is not one ``http.response.start`` followed by body
            messages ending with ``more_body`` false, or ``content-length`` disagrees with the body.
    """
    if not messages or messages[0].get("type") != "http.response.start":
        types = [message.get("type") for message in messages]
        msg = f"expected http.response.start first, got message types {types!r}"
        raise _fail(msg)
    start = messages[0]
    headers = tuple(
        (bytes(name).decode("latin-1").lower(), bytes(value).decode("latin-1"))
        # Servers must accept a start message without "headers".
        for name, value in start.get("headers", ())
    )
    chunks: list[bytes] = []
    finished = False
    for message in messages[1:]:
        if finished:
            msg = f"message after the final body message: {message.get('type')!r}"
            raise _fail(msg)
        if message.get("type") != "http.response.body":
            msg = f"unexpected message {message.get('type')!r} in the response"
            raise _fail(msg)
        chunks.append(bytes(message.get("body", b"")))
        finished = not message.get("more_body", False)
    if not finished:
        msg = "response never finished (no http.response.body with more_body false)"
        raise _fail(msg)
    response = Response(int(start["status"]), headers, b"".join(chunks))
    lengths = response.get_all("content-length")
    if lengths and lengths != [str(len(response.body))]:
        msg = f"content-length {lengths!r} but the body has {len(response.body)} bytes"
        raise _fail(msg)
    return response


def expect(
    *,
    status: int = 200,
    body: bytes | None = None,
    gzip_of: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    tokens: Mapping[str, Sequence[str]] | None = None,
    absent: Sequence[str] = (),
) -> Check:
    """Build a check from the properties a response must have.

    Args:
        status: Required status code.
        body: Required body, byte for byte.
        gzip_of: The body must be gzip data that decompresses to exactly this.
        headers: Headers that must appear exactly once with exactly this value (name any case).
        tokens: Headers whose comma-separated tokens must include these (case-insensitive).
        absent: Headers that must not appear at all.

    Returns:
        A check for `benchmarks.model.Variant.check`.
    """
    required = dict(headers or {})
    required_tokens = {name: tuple(values) for name, values in (tokens or {}).items()}

    def check(messages: list[Message]) -> None:
        response = parse_response(messages)
        if response.status != status:
            msg = f"status {response.status}, expected {status}"
            raise _fail(msg)
        for name, value in required.items():
            found = response.get_all(name)
            if found != [value]:
                msg = f"header {name}: {found!r}, expected exactly [{value!r}]"
                raise _fail(msg)
        for name, wanted in required_tokens.items():
            have = response.tokens(name)
            missing = [token for token in wanted if token.lower() not in have]
            if missing:
                msg = f"header {name} lacks {missing!r}: {response.get_all(name)!r}"
                raise _fail(msg)
        for name in absent:
            found = response.get_all(name)
            if found:
                msg = f"header {name} should be absent, got {found!r}"
                raise _fail(msg)
        if body is not None and response.body != body:
            msg = f"body differs: {len(response.body)} bytes, expected {len(body)} unchanged"
            raise _fail(msg)
        if gzip_of is not None:
            try:
                plain = gzip.decompress(response.body)
            except (OSError, EOFError, zlib.error) as error:
                msg = f"body is not valid gzip ({error}); first bytes {response.body[:16]!r}"
                raise _fail(msg) from error
            if plain != gzip_of:
                msg = f"gzip body decompresses to {len(plain)} bytes, not the {len(gzip_of)} sent"
                raise _fail(msg)

    return check
