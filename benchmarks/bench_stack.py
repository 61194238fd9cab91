"""The whole recommended stack: ours built with ``compose``, the six peers, and the floor.

The three stacks are built in `benchmarks.stacks`. The request is a credentialed cross-origin GET
with a valid bearer token and ``Accept-Encoding: gzip``; the app names the authenticated user in
``x-user``, so a row whose authentication failed (a 401, or an anonymous user) fails its check. The
floor is the reference: the ratio says how much each stack costs over the hand-written one. The
same stacks and checks serve the end-to-end run (`benchmarks.e2e`, `benchmarks.serve`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping

from benchmarks.bench_access_log import Sink, same_fields, structlog_logger
from benchmarks.bench_auth import USER
from benchmarks.bench_compression import MINIMUM_SIZE
from benchmarks.bench_request_id import HEADER
from benchmarks.bench_timing import NoOpClient
from benchmarks.checks import Response, expect, parse_response
from benchmarks.common import JSON_16K, JSON_100, NO_BODY, ORIGIN, http_scope
from benchmarks.e2e import E2ERequest
from benchmarks.floor import METHOD_VAR, PATH_VAR, REQUEST_ID_VAR
from benchmarks.model import Check, Message, Scenario, Variant
from benchmarks.stacks import (
    LARGE_PATH,
    PEERS_NOTE,
    REQUEST_HEADERS,
    SMALL_PATH,
    StackApp,
    floor_stack,
    ours_stack,
    peer_stack,
    rules_stack,
)

_UUID4_HEX = re.compile(r"[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}")
_SERVER_TIMING = re.compile(r"app;dur=\d+\.\d{3}")
_CONTEXT_VARS = (("method", METHOD_VAR), ("path", PATH_VAR), ("request_id", REQUEST_ID_VAR))


def response_check(body: bytes, *, server_timing: bool) -> Callable[[list[Message]], Response]:
    """Check what any stack row must send: every job's response headers, the user, the body.

    Args:
        body: The app's body; gzipped on the way if it reaches the compression minimum.
        server_timing: Whether ``Server-Timing`` is required (timing-asgi sends none: it
            reports to a metrics client).

    Returns:
        A check that returns the parsed response.
    """
    gzipped = len(body) >= MINIMUM_SIZE
    required = {
        "access-control-allow-origin": ORIGIN,
        "access-control-allow-credentials": "true",
        "x-user": USER,
    }
    if gzipped:
        required["content-encoding"] = "gzip"
    basics = expect(
        body=None if gzipped else body,
        gzip_of=body if gzipped else None,
        headers=required,
        tokens={
            "access-control-expose-headers": ("x-total",),
            "vary": ("origin", "accept-encoding") if gzipped else ("origin",),
        },
        absent=() if gzipped else ("content-encoding",),
    )

    def check(messages: list[Message]) -> Response:
        basics(messages)
        response = parse_response(messages)
        ids = response.get_all(HEADER)
        if len(ids) != 1 or not _UUID4_HEX.fullmatch(ids[0]):
            msg = f"expected one {HEADER}, a generated UUID4 in hex, got {ids!r}"
            raise AssertionError(msg)
        timings = response.get_all("server-timing")
        if server_timing and (len(timings) != 1 or not _SERVER_TIMING.fullmatch(timings[0])):
            msg = f"expected one server-timing 'app;dur=...', got {timings!r}"
            raise AssertionError(msg)
        return response

    return check


def _one_event(sink: Sink) -> str:
    emitted, sink.checked = sink.count - sink.checked, sink.count
    if emitted != 1:
        msg = f"expected exactly one access-log event for the request, got {emitted}"
        raise AssertionError(msg)
    return sink.last


def full_check(app: StackApp, sink: Sink, path: str) -> Check:
    """Check a row of ours or the floor: the response, the event, the structlog context.

    Args:
        app: The scenario's app, which notes the context it ran in.
        sink: The row's access-log output.
        path: The request path.

    Returns:
        The check.
    """
    respond = response_check(app.body, server_timing=True)

    def check(messages: list[Message]) -> None:
        response = respond(messages)
        request_id = response.get_all(HEADER)[0]
        event = json.loads(_one_event(sink))
        same_fields(event)
        wanted = {
            "status": 200,
            "method": "GET",
            "path": path,
            "request_id": request_id,
            "bytes_sent": len(response.body),  # the bytes sent: compressed, if they were
        }
        found = {key: event.get(key) for key in wanted}
        if found != wanted:
            msg = f"access-log event has {found!r}, expected {wanted!r}"
            raise AssertionError(msg)
        if app.context != ("GET", path, request_id):
            msg = f"the app saw structlog context (method, path, request_id) = {app.context!r}"
            raise AssertionError(msg)
        # Checks run between requests, each leaving the context unbound (`_then_unbind`):
        # anything bound now leaked out of this request.
        bound = [key for key, variable in _CONTEXT_VARS if variable.get() is not ...]
        if bound:
            msg = f"structlog context {bound!r} still bound after the request"
            raise AssertionError(msg)

    return check


def _then_unbind(check: Check) -> Check:
    """Run ``check``, then unbind the three structlog keys in the harness's context.

    Requests are validated one after the other in one context, and a row of another scenario
    may leave these keys bound (the structlog recipe binds them and never resets): after every
    check of a stack scenario they are unbound, so `full_check` blames only the row it checks.
    """

    def checked(messages: list[Message]) -> None:
        try:
            check(messages)
        finally:
            for _, variable in _CONTEXT_VARS:
                variable.set(...)

    return checked


def peer_check(body: bytes, sink: Sink, client: NoOpClient) -> Check:
    """Check the peers' row: the response, one asgi-logger line, two timing-asgi metrics.

    Args:
        body: The app's body.
        sink: asgi-logger's output.
        client: timing-asgi's metrics client.

    Returns:
        The check.
    """
    respond = response_check(body, server_timing=False)
    reported = [0]

    def check(messages: list[Message]) -> None:
        respond(messages)
        line = _one_event(sink)
        if "200 OK" not in line:
            msg = f"asgi-logger's line lacks the status: {line}"
            raise AssertionError(msg)
        calls, reported[0] = client.calls - reported[0], client.calls
        if calls != 2 or "http_status:200" not in client.last[2]:  # wall time and CPU time
            msg = f"expected timing-asgi's 2 metrics tagged 200, got {calls}: {client.last!r}"
            raise AssertionError(msg)

    return check


def bare_check(body: bytes) -> Check:
    """Check the bare app's answer: its body, and none of the six jobs' traces."""
    return expect(
        body=body,
        absent=(
            "access-control-allow-origin",
            HEADER,
            "server-timing",
            "x-user",
            "content-encoding",
        ),
    )


def build_scenario(
    name: str, body: bytes, path: str, *, without: Mapping[str, Collection[str]] | None = None
) -> Scenario:
    """Build a stack scenario.

    Args:
        name: Scenario name.
        body: The app's response body.
        path: The request path.
        without: Per row name, layers to leave out of that row: a broken row for tests.

    Returns:
        The scenario, with ``floor`` as its reference.
    """
    omit = dict(without or {})
    app = StackApp(body)
    floor_sink, rules_sink, peer_sink, our_sink = Sink(), Sink(), Sink(), Sink()
    client = NoOpClient()
    coding = "gzipped" if len(body) >= MINIMUM_SIZE else "not compressed"
    return Scenario(
        name=name,
        description=(
            f"the six-layer stack, {len(body):,}-byte JSON {coding}: CORS GET, bearer token, "
            "generated request ID"
        ),
        app=app,
        scope=http_scope("GET", path, REQUEST_HEADERS),
        request=NO_BODY,
        bare_check=_then_unbind(bare_check(body)),
        reference="floor",
        variants=(
            Variant(
                "floor",
                lambda inner: floor_stack(
                    inner, structlog_logger(floor_sink), without=omit.get("floor", ())
                ),
                _then_unbind(full_check(app, floor_sink, path)),
                "hand-written, same jobs",
            ),
            Variant(
                "floor+rules",
                lambda inner: rules_stack(
                    inner, structlog_logger(rules_sink), without=omit.get("floor+rules", ())
                ),
                _then_unbind(full_check(app, rules_sink, path)),
                "the floor following the SPEC's rules (benchmarks/floor_rules.py)",
            ),
            Variant(
                "peers",
                lambda inner: peer_stack(inner, peer_sink, client, without=omit.get("peers", ())),
                _then_unbind(peer_check(body, peer_sink, client)),
                PEERS_NOTE,
            ),
            Variant(
                "asgi-middleware",
                lambda inner: ours_stack(
                    inner, structlog_logger(our_sink), without=omit.get("asgi-middleware", ())
                ),
                _then_unbind(full_check(app, our_sink, path)),
                "compose(), recommended order",
            ),
        ),
        # asgi-correlation-id assigns scope["headers"] when it generates an ID; a shared scope
        # would make every later request arrive with one.
        fresh_scope=True,
    )


SCENARIOS: tuple[Scenario, ...] = (
    build_scenario("stack-100b", JSON_100, SMALL_PATH),
    build_scenario("stack-json-16k", JSON_16K, LARGE_PATH),
)

# --- End-to-end: the same stacks behind a real server ------------------------------------------


def _e2e_checks(body: bytes) -> dict[str, Check]:
    # Over HTTP only the response can be checked; each server's counts of requests and
    # access-log events are compared when it stops.
    full = response_check(body, server_timing=True)
    peers = response_check(body, server_timing=False)

    def ours_or_floor(messages: list[Message]) -> None:
        full(messages)

    def peer(messages: list[Message]) -> None:
        peers(messages)

    return {
        "bare": bare_check(body),
        "floor": ours_or_floor,
        "floor+rules": ours_or_floor,
        "peers": peer,
        "asgi-middleware": ours_or_floor,
    }


def _e2e_request(name: str, path: str, body: bytes) -> E2ERequest:
    coding = "gzipped" if len(body) >= MINIMUM_SIZE else "not compressed"
    return E2ERequest(
        name=name,
        description=f"GET {path} through uvicorn, {len(body):,}-byte JSON {coding}",
        path=path,
        # The in-process scenario's request headers, browser ones included.
        headers=tuple(http_scope("GET", path, REQUEST_HEADERS)["headers"]),
        checks=_e2e_checks(body),
    )


E2E_REQUESTS: tuple[E2ERequest, ...] = (
    _e2e_request("stack-100b", SMALL_PATH, JSON_100),
    _e2e_request("stack-json-16k", LARGE_PATH, JSON_16K),
)
"""The requests the end-to-end run loads every stack in `benchmarks.stacks.STACKS` with."""
