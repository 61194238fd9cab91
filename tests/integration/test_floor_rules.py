"""The benchmark's floor with the SPEC's rules (``benchmarks/floor_rules.py``), and timeout floors.

Each rule is switched on and off on one request, and the answer differs as the rule says: a rule
that did nothing would make its row in ``--rules`` a measure of nothing. The timeout floors
that stop their timer at the response's start (``+stop`` rows) are shown to keep a started
response alive past the deadline, under asyncio and under trio.
"""

from __future__ import annotations

import asyncio
import gzip
import sys
import time
from collections.abc import Collection
from types import FrameType
from typing import Any

import anyio
import pytest
from structlog.testing import LogCapture

from benchmarks import bench_timeout, floor_rules, profile_stack, stacks
from benchmarks.floor_rules import (
    RULES,
    RulesAccessLog,
    RulesAuth,
    RulesCORS,
    RulesGZip,
    RulesRequestID,
    RulesTiming,
)
from tests.support.asgi import Exchange, body_of, headers_of, http_scope, run, start_of

pytestmark = pytest.mark.anyio

ORIGIN = "https://app.example"
TOKEN = "s3cr3t-token"  # noqa: S105 - a test token
BIG = b'{"items": "' + b"x" * 2000 + b'"}'


def answer(content: bytes = b"ok", headers: Collection[tuple[bytes, bytes]] = ()) -> Any:
    """An app answering ``content`` with ``headers`` after the usual two."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        fields = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(content))]
        await send({"type": "http.response.start", "status": 200, "headers": [*fields, *headers]})
        await send({"type": "http.response.body", "body": content})

    return app


def without(rule: str) -> frozenset[str]:
    """The rules but ``rule``."""
    return frozenset(RULES) - {rule}


def test_unknown_rule_is_refused() -> None:
    """A rule name the floor does not know is refused at construction."""
    with pytest.raises(ValueError, match=r"rules must be among .*'no-such'"):
        RulesTiming(answer(), ["no-such"])


@pytest.mark.parametrize(("rules", "allowed"), [(RULES, True), (without("any-case"), False)])
async def test_any_case_finds_a_mixed_case_origin(rules: Collection[str], allowed: bool) -> None:
    """``any-case``: an ``Origin`` field spelled in mixed case is found."""
    app = RulesCORS(answer(), ORIGIN, rules)
    messages = await run(app, http_scope(headers=[(b"Origin", ORIGIN)]))
    assert allowed == ((b"access-control-allow-origin", ORIGIN.encode()) in headers_of(messages))


@pytest.mark.parametrize(("rules", "status"), [(RULES, 401), (without("single"), 200)])
async def test_single_refuses_a_repeated_authorization(rules: Collection[str], status: int) -> None:
    """``single``: two ``Authorization`` fields are refused, not the first one taken."""
    app = RulesAuth(answer(), {TOKEN: "ada"}, ("read",), rules)
    bearer = f"Bearer {TOKEN}"
    messages = await run(
        app, http_scope(headers=[("authorization", bearer), ("authorization", "Bearer other")])
    )
    assert start_of(messages)["status"] == status


@pytest.mark.parametrize(
    ("rules", "vary"),
    [(RULES, [b"Accept-Encoding, Origin"]), (without("owned"), [b"Accept-Encoding", b"Origin"])],
)
async def test_owned_merges_vary_into_one_field(rules: Collection[str], vary: list[bytes]) -> None:
    """``owned``: the app's ``Vary`` and CORS's become one field."""
    app = RulesCORS(answer(headers=[(b"Vary", b"Accept-Encoding")]), ORIGIN, rules)
    messages = await run(app, http_scope(headers=[("origin", ORIGIN)]), validate=False)
    assert [value for name, value in headers_of(messages) if name.lower() == b"vary"] == vary


async def test_owned_replaces_the_apps_request_id() -> None:
    """``owned``: the app's own ``X-Request-ID`` is replaced, not doubled."""
    stale = [(b"X-Request-ID", b"from-the-app")]
    ruled = await run(RulesRequestID(answer(headers=stale), RULES), http_scope())
    plain = await run(
        RulesRequestID(answer(headers=stale), without("owned")), http_scope(), validate=False
    )
    assert [n for n, _ in headers_of(ruled) if n.lower() == b"x-request-id"] == [b"x-request-id"]
    assert len([n for n, _ in headers_of(plain) if n.lower() == b"x-request-id"]) == 2


@pytest.mark.parametrize("rules", [RULES, without("id-places")])
async def test_id_places_puts_the_id_in_state_and_headers(rules: Collection[str]) -> None:
    """``id-places``: the ID is in the state, the request header and the context variable."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["state"] = scope["state"].get("request_id")
        seen["header"] = dict(scope["headers"]).get(b"x-request-id")
        seen["var"] = floor_rules._REQUEST_ID.get()
        await answer()(scope, receive, send)

    messages = await run(RulesRequestID(app, rules), http_scope())
    sent = dict(headers_of(messages))[b"x-request-id"]
    placed = "id-places" in rules
    assert seen == (
        {"state": sent.decode(), "header": sent, "var": sent.decode()}
        if placed
        else {"state": None, "header": None, "var": None}
    )


@pytest.mark.parametrize(
    ("rules", "query"),
    [(RULES, "page=2&token=[REDACTED]"), (without("log-safety"), "page=2&token=abc")],
)
async def test_log_safety_redacts_the_query(
    rules: Collection[str], query: str, capture: LogCapture, logger: Any
) -> None:
    """``log-safety``: a secret query parameter is redacted in the event."""
    app = RulesAccessLog(answer(), logger, rules)
    await run(app, http_scope(query_string=b"page=2&token=abc"))
    (event,) = capture.entries
    assert event["query"] == query


async def test_app_metrics_reach_the_header() -> None:
    """``app-metrics``: a metric the app adds is in ``Server-Timing``."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        metrics = floor_rules._APP_METRICS.get()
        if metrics is not None:
            metrics.append(b"db;dur=1.5")
        await answer()(scope, receive, send)

    ruled = dict(headers_of(await run(RulesTiming(app, RULES), http_scope())))
    plain = dict(headers_of(await run(RulesTiming(app, without("app-metrics")), http_scope())))
    assert ruled[b"server-timing"].endswith(b", db;dur=1.5")
    assert b"db;" not in plain[b"server-timing"]


@pytest.mark.parametrize(("rules", "status"), [(RULES, 200), (without("auth"), 401)])
async def test_auth_matches_the_scheme_in_any_case(rules: Collection[str], status: int) -> None:
    """``auth``: ``bearer`` in lower case, two spaces, is accepted."""
    app = RulesAuth(answer(), {TOKEN: "ada"}, ("read",), rules)
    messages = await run(app, http_scope(headers=[("authorization", f"bearer  {TOKEN}")]))
    assert start_of(messages)["status"] == status


@pytest.mark.parametrize(("rules", "status"), [(RULES, 200), (without("auth"), 401)])
async def test_auth_lets_preflights_through(rules: Collection[str], status: int) -> None:
    """``auth``: an ``OPTIONS`` request passes without credentials."""
    app = RulesAuth(answer(), {TOKEN: "ada"}, ("read",), rules)
    assert start_of(await run(app, http_scope("OPTIONS")))["status"] == status


@pytest.mark.parametrize(
    ("accept", "rules", "coded"),
    [
        ("gzip;q=0", RULES, False),
        ("gzip;q=0", without("negotiation"), True),
        ("br;q=1, *;q=0.5", RULES, True),
        ("gzip;q=x", RULES, False),
    ],
)
async def test_negotiation_reads_q_values(accept: str, rules: Collection[str], coded: bool) -> None:
    """``negotiation``: q-values decide, ``q=0`` refuses, ``*`` stands for gzip."""
    app = RulesGZip(answer(BIG), rules)
    messages = await run(app, http_scope(headers=[("accept-encoding", accept)]))
    assert coded == (b"content-encoding" in dict(headers_of(messages)))


@pytest.mark.parametrize(
    "headers",
    [
        [(b"Cache-Control", b"public, No-Transform")],
        [(b"Content-Range", b"bytes 0-9/2000")],
        [(b"content-type", b"image/png")],
    ],
)
async def test_skip_checks_leave_the_response_alone(headers: list[tuple[bytes, bytes]]) -> None:
    """``skip-checks``: no-transform, a range, an image type: sent as they are."""
    scope = http_scope(headers=[("accept-encoding", "gzip")])
    ruled = await run(RulesGZip(answer(BIG, headers), RULES), scope, validate=False)
    plain = await run(
        RulesGZip(answer(BIG, headers), without("skip-checks")), scope, validate=False
    )
    assert body_of(ruled) == BIG
    assert gzip.decompress(body_of(plain)) == BIG


@pytest.mark.parametrize("status", [204, 206, 101])
async def test_skip_checks_leave_statuses_alone(status: int) -> None:
    """``skip-checks``: 204, 206 and 1xx answers are never compressed."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": BIG})

    scope = http_scope(headers=[("accept-encoding", "gzip")])
    messages = await run(RulesGZip(app, RULES), scope, validate=False)
    assert body_of(messages) == BIG


async def test_owned_compression_merges_vary_and_replaces_the_length() -> None:
    """Compressing: ``Vary`` merged, one ``Content-Length``, the compressed one."""
    app = RulesGZip(answer(BIG, [(b"vary", b"Cookie")]), RULES)
    messages = await run(app, http_scope(headers=[("accept-encoding", "gzip")]))
    fields = headers_of(messages)
    assert (b"vary", b"Cookie, Accept-Encoding") in fields
    lengths = [value for name, value in fields if name == b"content-length"]
    assert lengths == [b"%d" % len(body_of(messages))]


def test_profile_rules_times_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    """``profile_stack --rules`` prints a row per rule and ours over the ruled floor."""
    profile_stack.main(["--rules", "--repeat", "1", "--number", "2"])
    out = capsys.readouterr().out
    rows = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert set(RULES) <= rows
    assert "ours / floor+rules:" in out


def test_profile_swap_times_each_layer_both_ways(capsys: pytest.CaptureFixture[str]) -> None:
    """``profile_stack --swap`` prints a row per layer and both stacks' totals."""
    profile_stack.main(["--swap", "--repeat", "1", "--number", "2"])
    out = capsys.readouterr().out
    rows = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert set(stacks.LAYERS) <= rows
    assert "whole: ours" in out


def test_mixed_stack_takes_each_named_layer_from_ours() -> None:
    """A mixed stack's layers are ours exactly where named, the ruled floor's elsewhere."""
    app = stacks.mixed_stack(answer(), None, ours=("cors",))
    assert type(app).__name__ == "CORSMiddleware"
    assert type(app.app).__name__ == "RulesRequestID"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="without must name layers"):
        stacks.mixed_stack(answer(), None, ours=("nope",))


@pytest.mark.parametrize("stack", ["bare", "floor", "floor+rules", "ours"])
def test_profile_serve_runs_one_stack(stack: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``profile_stack --serve`` sends the requests through the stack named, and says so."""
    profile_stack.main(["--serve", stack, "--number", "3"])
    assert capsys.readouterr().out == f"served 3 requests through {stack}\n"


def test_opcode_count_gives_the_tracer_back(capsys: pytest.CaptureFixture[str]) -> None:
    """Counting bytecodes with ``sys.settrace`` puts back the tracer that was there (coverage's)."""

    def tracer(frame: FrameType, event: str, arg: object) -> None:
        """Trace nothing: a tracer to find again afterwards."""

    before = sys.gettrace()
    sys.settrace(tracer)
    try:
        profile_stack.main(["--opcodes"])
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(before)
    assert "whole stack" in capsys.readouterr().out


def test_profile_against_rules_counts_the_ruled_floor(capsys: pytest.CaptureFixture[str]) -> None:
    """``--against rules`` counts the ruled floor: more bytecodes than the plain one."""
    profile_stack.main(["--opcodes", "--against", "rules"])
    ruled = capsys.readouterr().out
    profile_stack.main(["--opcodes"])
    plain = capsys.readouterr().out

    def floor_total(out: str) -> int:
        (line,) = [line for line in out.splitlines() if line.startswith("whole stack")]
        return int(line.split()[3])

    assert floor_total(ruled) > floor_total(plain)


# --- The timeout floors that stop their timer when the response starts --------------------


def slow_stream(delay: float) -> Any:
    """An app that starts at once, then sends its body after ``delay`` seconds."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await anyio.sleep(delay)
        await send({"type": "http.response.body", "body": b"late but whole"})

    return app


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_loop_timer_stop_floor_keeps_a_started_response() -> None:
    """The ``+stop`` floor lets the body through; the plain floor cancels the app mid-stream."""
    messages = await run(bench_timeout.LoopTimerStopFloor(slow_stream(0.2), 0.05), http_scope())
    assert body_of(messages) == b"late but whole"

    exchange = Exchange("http", None)
    plain = bench_timeout.LoopTimerFloor(slow_stream(0.2), 0.05)
    task = asyncio.ensure_future(plain(http_scope(), exchange.receive, exchange.send))
    await asyncio.wait([task])
    assert task.cancelled()
    assert body_of(exchange.sent) == b""


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_trio_scope_stop_floor_keeps_a_started_response() -> None:
    """Under trio the same: the plain floor's scope ends the app at the deadline, body unsent."""
    messages = await run(bench_timeout.TrioScopeStopFloor(slow_stream(0.2), 0.05), http_scope())
    assert body_of(messages) == b"late but whole"

    cut = await run(bench_timeout.TrioScopeFloor(slow_stream(0.2), 0.05), http_scope())
    assert start_of(cut)["status"] == 200
    assert body_of(cut) == b""


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_trio_scope_stop_floor_cancels_a_late_start() -> None:
    """A start sent after the deadline, by an app back from a thread, never reaches the server."""

    async def from_a_thread(scope: Any, receive: Any, send: Any) -> None:
        await anyio.to_thread.run_sync(time.sleep, 0.2)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"too late"})

    messages = await run(bench_timeout.TrioScopeStopFloor(from_a_thread, 0.05), http_scope())
    assert messages == []
