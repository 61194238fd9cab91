"""Smoke and behaviour tests for the benchmark harness in ``benchmarks/``, in process.

Its end-to-end mode against real servers: tests/live/test_benchmarks_live.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
from asyncio import _get_running_loop as asyncio_loop
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from benchmarks import bench_access_log, bench_compression, bench_stack, e2e, stacks
from benchmarks.__main__ import main
from benchmarks.checks import expect, parse_response
from benchmarks.common import JSON_16K, JSON_100
from benchmarks.driver import VALIDATION_REQUESTS, CheckFailedError, ScenarioResult, Settings, run
from benchmarks.e2e_report import e2e_to_json, format_e2e, summarize_e2e
from benchmarks.floor import METHOD_VAR
from benchmarks.model import ASGIApp, Message, Scenario, Scope, Variant
from benchmarks.report import format_table, to_json
from benchmarks.scenarios import NO_BODY, SCENARIOS, http_scope, make_app
from benchmarks.wrk import WrkResult, parse_wrk, wrk_command

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
TINY = Settings(repeat=1, number=1, batch_seconds=0.001, seed=0)


class CountingApp:
    """Bare app that answers ``{"status":"ok"}`` and counts how often it was called."""

    def __init__(self) -> None:
        self.calls = 0
        self._app = make_app(b'{"status":"ok"}')

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        self.calls += 1
        await self._app(scope, receive, send)


def unwrapped(app: ASGIApp) -> ASGIApp:
    """Factory of a middleware that forgot to do anything."""
    return app


def scenario(name: str, app: ASGIApp, *variants: Variant) -> Scenario:
    """A GET scenario whose reference is the first variant."""
    return Scenario(
        name=name,
        description="test scenario",
        app=app,
        scope=http_scope("GET", "/", ((b"origin", b"https://app.example"),)),
        request=NO_BODY,
        bare_check=expect(body=b'{"status":"ok"}'),
        reference=variants[0].name,
        variants=variants,
    )


@pytest.mark.timeout(360)
def test_quick_run_reports_every_scenario_and_peer() -> None:
    """``python -m benchmarks --quick`` exits 0 and prints every scenario, bare and each peer."""
    # A 1 MiB stream instead of 32 MiB: the same code paths, in a second instead of twenty.
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "BENCH_STREAM_MIB": "1"}
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        # About a minute on 2 idle cores for the ~35 scenarios; room for a loaded CI machine.
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    names = {scenario.name for scenario in SCENARIOS}
    assert names >= {
        "cors-simple",
        "cors-preflight",
        "cors-no-origin",
        "gzip-json-16k",
        "gzip-small",
        "gzip-json-16k-floor",
        "compress-json-16k-all",
        "gzip-stream-64x1k",
        "gzip-stream-32m",
        "access-log-json-floor",
        "stack-100b",
        "stack-json-16k",
    }
    rows = {line.split()[0] for line in completed.stdout.splitlines() if line.strip()}
    peers = (
        "bare",
        "starlette",
        "starlette-compress",
        "zlib-oneshot",
        "zlib-stream",
        "floor",
        "peers",
    )
    for expected in (*names, *peers, "asgi-middleware", "asgi-middleware-bulk"):
        assert expected in rows or f"{expected}:" in rows, expected


def test_failing_check_stops_the_run_before_any_timing() -> None:
    """A variant whose response fails its check aborts the run before anything is timed."""
    good_app, broken_app = CountingApp(), CountingApp()
    wants_cors = expect(headers={"access-control-allow-origin": "https://app.example"})
    good = scenario("good", good_app, Variant("same", unwrapped, expect(body=b'{"status":"ok"}')))
    broken = scenario("broken", broken_app, Variant("no-op", unwrapped, wants_cors))
    measured: list[ScenarioResult] = []
    settings = Settings(repeat=5, number=1000, batch_seconds=0.001, seed=0)

    with pytest.raises(CheckFailedError) as caught:
        run([good, broken], settings, on_result=measured.append)

    reason = "header access-control-allow-origin: [], expected exactly ['https://app.example']"
    assert caught.value.failures == (
        f"broken/no-op: request 1 failed its check: AssertionError: {reason}",
    )
    assert measured == []
    # Only validation requests reached the apps: the good scenario, checked first, was not timed.
    assert good_app.calls == 2 * VALIDATION_REQUESTS
    assert broken_app.calls <= 2 * VALIDATION_REQUESTS


class LoopRecordingApp(CountingApp):
    """CountingApp that records which event loop each request ran in."""

    def __init__(self) -> None:
        super().__init__()
        self.loops: set[str] = set()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        self.loops.add("trio" if asyncio_loop() is None else "asyncio")
        await super().__call__(scope, receive, send)


def test_trio_scenario_runs_under_trio_and_asyncio_ones_under_asyncio() -> None:
    """``event_loop="trio"`` runs validation and timing in ``trio.run``; the rest in asyncio."""
    ok = expect(body=b'{"status":"ok"}')
    under_trio, under_asyncio = LoopRecordingApp(), LoopRecordingApp()
    trio_scenario = dataclasses.replace(
        scenario("on-trio", under_trio, Variant("same", unwrapped, ok)), event_loop="trio"
    )
    asyncio_scenario = scenario("on-asyncio", under_asyncio, Variant("same", unwrapped, ok))

    results = run([trio_scenario, asyncio_scenario], TINY)

    assert [result.name for result in results] == ["on-asyncio", "on-trio"]
    assert under_trio.loops == {"trio"}
    assert under_asyncio.loops == {"asyncio"}


def test_failing_trio_scenario_stops_the_asyncio_ones_before_any_timing() -> None:
    """A trio scenario that fails its check aborts the run before asyncio's are timed."""
    good_app = CountingApp()
    wants_cors = expect(headers={"access-control-allow-origin": "https://app.example"})
    good = scenario("good", good_app, Variant("same", unwrapped, expect(body=b'{"status":"ok"}')))
    broken = dataclasses.replace(
        scenario("broken", CountingApp(), Variant("no-op", unwrapped, wants_cors)),
        event_loop="trio",
    )
    measured: list[ScenarioResult] = []

    with pytest.raises(CheckFailedError, match="broken/no-op: request 1 failed its check"):
        run(
            [good, broken],
            Settings(repeat=5, number=100, batch_seconds=0.001, seed=0),
            on_result=measured.append,
        )

    assert measured == []
    assert good_app.calls == 2 * VALIDATION_REQUESTS


def test_event_loop_must_be_asyncio_or_trio() -> None:
    """A scenario naming another event loop is refused when it is built."""
    with pytest.raises(ValueError, match=r"event_loop must be one of \('asyncio', 'trio'\)"):
        dataclasses.replace(
            scenario("curio", CountingApp(), Variant("same", unwrapped, expect())),
            event_loop="curio",
        )


def test_main_exits_1_and_names_the_failed_check(capsys: pytest.CaptureFixture[str]) -> None:
    """``main`` returns 1 and lists the failing scenario/variant on stderr."""
    wants_gzip = expect(headers={"content-encoding": "gzip"})
    broken = scenario("broken", CountingApp(), Variant("no-op", unwrapped, wants_gzip))

    assert main(["--quick"], scenarios=[broken]) == 1

    err = capsys.readouterr().err
    assert "nothing was timed" in err
    assert "broken/no-op: request 1 failed its check" in err


def test_crashing_app_counts_as_a_failed_check() -> None:
    """An implementation that raises while serving is reported like a wrong response."""

    def crashing(app: ASGIApp) -> ASGIApp:
        async def crash(scope: Scope, receive: Any, send: Any) -> None:
            msg = "boom"
            raise RuntimeError(msg)

        return crash

    broken = scenario("crash", CountingApp(), Variant("crashes", crashing, expect()))

    with pytest.raises(CheckFailedError, match=r"crash/crashes: request 1 .*RuntimeError: boom"):
        run([broken], TINY)


def test_second_request_is_checked_too() -> None:
    """State leaking from the first validated request into the second fails the check."""

    def first_time_only(app: ASGIApp) -> ASGIApp:
        served = 0

        async def flaky(scope: Scope, receive: Any, send: Any) -> None:
            nonlocal served
            served += 1
            if served == 1:
                await app(scope, receive, send)
                return
            await send({"type": "http.response.start", "status": 500, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        return flaky

    broken = scenario("leak", CountingApp(), Variant("flaky", first_time_only, expect()))

    with pytest.raises(CheckFailedError, match=r"leak/flaky: request 2 .*status 500"):
        run([broken], TINY)


def test_scope_mutation_is_reported_as_a_warning() -> None:
    """A variant that edits the shared scope in place is measured, with a warning."""

    def tagging(app: ASGIApp) -> ASGIApp:
        async def tag(scope: Scope, receive: Any, send: Any) -> None:
            scope["tagged"] = True
            await app(scope, receive, send)

        return tag

    body_ok = expect(body=b'{"status":"ok"}')
    (result,) = run([scenario("tag", CountingApp(), Variant("tagger", tagging, body_ok))], TINY)

    assert result.warnings == ("tagger modifies the request scope in place",)


def test_json_output_holds_every_repetition(tmp_path: Path) -> None:
    """``--json`` writes per-repetition batch times for bare and every variant."""
    path = tmp_path / "out" / "bench.json"

    status = main(
        ["--scenario", "gzip-small", "--repeat", "3", "--number", "2", "--json", str(path)]
    )

    assert status == 0
    data = json.loads(path.read_text(encoding="utf-8"))
    (result,) = data["scenarios"]
    assert result["name"] == "gzip-small"
    assert (result["number"], result["repeat"]) == (2, 3)
    assert [item["name"] for item in result["implementations"]] == [
        "bare",
        "starlette",
        "starlette-compress",
        "asgi-middleware",
    ]
    for item in result["implementations"]:
        assert len(item["batch_ns"]) == 3
        assert all(batch > 0 for batch in item["batch_ns"])
    assert len(result["orders"]) == 3


def test_unknown_scenario_is_rejected() -> None:
    """``--scenario`` with a name that does not exist is a usage error (exit status 2)."""
    with pytest.raises(SystemExit) as caught:
        main(["--scenario", "no-such-scenario"])

    assert caught.value.code == 2


def test_reference_must_name_a_variant() -> None:
    """A scenario whose reference names no variant is refused when it is built."""
    with pytest.raises(ValueError, match="reference 'missing' is not one of"):
        Scenario(
            name="bad",
            description="",
            app=CountingApp(),
            scope=http_scope("GET", "/", ()),
            request=NO_BODY,
            bare_check=expect(),
            reference="missing",
            variants=(Variant("present", unwrapped, expect()),),
        )


def test_stale_content_length_is_rejected() -> None:
    """A ``content-length`` that disagrees with the body fails the response parser."""
    messages: list[Message] = [
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"99")]},
        {"type": "http.response.body", "body": b"short"},
    ]

    with pytest.raises(AssertionError, match="content-length"):
        parse_response(messages)


def test_probe_figures_are_reported_per_implementation(tmp_path: Path) -> None:
    """A scenario's probe runs once per implementation after timing; its figures are printed."""
    probed: list[str] = []

    async def probe(app: ASGIApp, scope: Scope, request: tuple[Message, ...]) -> dict[str, str]:
        probed.append(scope["path"])
        await app(scope, _ScriptedReceiveForProbe(request), _ignore)
        return {"figure": str(len(probed))}

    base = scenario("probed", CountingApp(), Variant("same", unwrapped, expect()))
    [result] = run([dataclasses.replace(base, probe=probe)], TINY)

    assert result.probes == (("bare", (("figure", "1"),)), ("same", (("figure", "2"),)))
    assert "probe same: figure 2" in format_table(result).splitlines()
    assert to_json([result], TINY, {})["scenarios"][0]["probes"] == {
        "bare": {"figure": "1"},
        "same": {"figure": "2"},
    }


def test_compression_stream_probe_reports_memory_and_first_output() -> None:
    """The 32 MiB stream probe sees output after the first chunk and little traced memory."""
    [stream] = [s for s in SCENARIOS if s.name == "gzip-stream-32m"]
    probe = stream.probe
    assert probe is not None

    async def measure() -> Mapping[str, str]:
        return await probe(bench_compression.ours_gzip(stream.app), dict(stream.scope), NO_BODY)

    figures = asyncio.run(measure())

    assert figures["first output after chunk"] == "1"
    assert int(figures["peak traced"].removesuffix(" KiB")) < 450


class _ScriptedReceiveForProbe:
    def __init__(self, request: tuple[Message, ...]) -> None:
        self._messages = [*request, {"type": "http.disconnect"}]

    async def __call__(self) -> Message:
        return self._messages.pop(0) if len(self._messages) > 1 else self._messages[0]


async def _ignore(message: Message) -> None:
    """A send that drops every message."""


def test_fresh_scope_hands_each_request_its_own_scope_dict() -> None:
    """With ``fresh_scope`` a row assigning to its scope gets no warning and never sees the edit."""
    seen: list[bool] = []

    def tagging(app: ASGIApp) -> ASGIApp:
        async def tag(scope: Scope, receive: Any, send: Any) -> None:
            seen.append("tagged" in scope)
            scope["tagged"] = True
            await app(scope, receive, send)

        return tag

    base = scenario("fresh", CountingApp(), Variant("tagger", tagging, expect()))
    (result,) = run([dataclasses.replace(base, fresh_scope=True)], TINY)

    assert result.warnings == ()
    assert len(seen) == VALIDATION_REQUESTS + 2  # validated, then one warm-up and one timed
    assert not any(seen)


# --- The whole stack and the floor ---------------------------------------------------------


STACK_SCENARIOS = ("stack-100b", "stack-json-16k", "access-log-json-floor")


def test_stack_and_floor_scenarios_pass_their_checks_quickly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--quick`` runs the stack and floor scenarios: every row passes its checks and is shown."""
    argv = ["--quick"] + [arg for name in STACK_SCENARIOS for arg in ("--scenario", name)]

    assert main(argv) == 0

    out = capsys.readouterr().out
    rows = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert {f"{name}:" for name in STACK_SCENARIOS} <= rows
    assert {"bare", "floor", "floor+rules", "peers", "asgi-middleware"} <= rows
    assert "ratio = overhead / floor overhead" in out


@pytest.mark.parametrize(
    ("row", "layer", "reason"),
    [
        ("floor", "timing", "server-timing"),
        ("floor", "access_log", "exactly one access-log event"),
        ("floor", "request_id", "X-Request-ID"),
        ("floor", "compression", "content-encoding"),
        ("floor+rules", "access_log", "exactly one access-log event"),
        ("floor+rules", "auth", "x-user"),
        ("floor+rules", "cors", "access-control-allow-origin"),
        ("asgi-middleware", "cors", "access-control-allow-origin"),
        ("asgi-middleware", "compression", "content-encoding"),
        ("asgi-middleware", "auth", "x-user"),
        ("peers", "auth", "x-user"),
        ("peers", "access_log", "exactly one access-log event"),
    ],
)
def test_stack_row_missing_a_layer_fails_its_check(row: str, layer: str, reason: str) -> None:
    """A stack row that skips one of the six jobs fails the 16 KiB scenario's check, alone."""
    broken = bench_stack.build_scenario(
        "stack-json-16k", JSON_16K, stacks.LARGE_PATH, without={row: {layer}}
    )

    with pytest.raises(CheckFailedError) as caught:
        run([broken], TINY)

    (failure,) = caught.value.failures
    assert failure.startswith(f"stack-json-16k/{row}: request 1 failed its check")
    assert reason in failure


def test_stack_without_a_bearer_token_fails_every_row() -> None:
    """Without the token ours and the floor answer 401 and the peers an anonymous user: all fail."""
    good = bench_stack.build_scenario("stack-100b", JSON_100, stacks.SMALL_PATH)
    no_token = [pair for pair in good.scope["headers"] if pair[0] != b"authorization"]
    broken = dataclasses.replace(good, scope={**good.scope, "headers": no_token})

    with pytest.raises(CheckFailedError) as caught:
        run([broken], TINY)

    failures = {failure.split(":")[0]: failure for failure in caught.value.failures}
    assert set(failures) == {
        "stack-100b/floor",
        "stack-100b/floor+rules",
        "stack-100b/peers",
        "stack-100b/asgi-middleware",
    }
    assert "status 401" in failures["stack-100b/floor"]
    assert "status 401" in failures["stack-100b/floor+rules"]
    assert "status 401" in failures["stack-100b/asgi-middleware"]
    assert "x-user" in failures["stack-100b/peers"]


def test_stack_row_leaking_structlog_context_fails_its_check() -> None:
    """A row that leaves a structlog context variable bound after the request fails."""
    good = bench_stack.build_scenario("stack-100b", JSON_100, stacks.SMALL_PATH)
    ours = good.variants[-1]

    def leaking(app: ASGIApp) -> ASGIApp:
        inner = ours.factory(app)

        async def leak(scope: Scope, receive: Any, send: Any) -> None:
            METHOD_VAR.set("GET")  # never reset
            await inner(scope, receive, send)

        return leak

    broken = dataclasses.replace(
        good, variants=(*good.variants[:-1], dataclasses.replace(ours, factory=leaking))
    )

    with pytest.raises(CheckFailedError, match=r"asgi-middleware: .*\['method'\] still bound"):
        run([broken], TINY)


def test_floor_access_log_must_write_our_fields() -> None:
    """An event lacking one of our access log's fields fails ``same_fields``, naming it."""
    ours = bench_access_log.our_event_fields()
    assert {"status", "duration_ms", "bytes_sent", "request_id", "event"} <= ours
    event = dict.fromkeys(ours - {"bytes_sent"}, 0) | {"extra": 1}

    with pytest.raises(AssertionError, match=r"missing \['bytes_sent'\], extra \['extra'\]"):
        bench_access_log.same_fields(event)


# --- End to end ----------------------------------------------------------------------------

WRK_OUTPUT = """\
Running 2s test @ http://127.0.0.1:41234/api/users
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.97ms  463.51us   7.34ms   89.89%
    Req/Sec     4.08k   402.90     4.50k    80.00%
  Latency Distribution
     50%  850.00us
     75%    1.95ms
     90%    2.25ms
     99%    3.97ms
  8136 requests in 2.00s, 36.37MB read
  Socket errors: connect 0, read 2, write 1, timeout 0
  Non-2xx or 3xx responses: 12
Requests/sec:   4064.58
Transfer/sec:     18.17MB
"""


def test_parse_wrk_reads_rate_count_errors_and_latencies() -> None:
    """``parse_wrk`` reads wrk 4's summary, converting every latency unit to milliseconds."""
    result = parse_wrk(WRK_OUTPUT)

    assert (result.requests, result.seconds, result.rate) == (8136, 2.0, 4064.58)
    assert (result.non_2xx, result.socket_errors) == (12, 3)
    assert result.latency_ms == {50: 0.85, 75: 1.95, 90: 2.25, 99: 3.97}


def test_parse_wrk_without_errors_or_latency_reports_zeros() -> None:
    """A run without ``--latency`` and without errors parses with no percentiles and no errors."""
    text = "  400 requests in 1.00m, 1.00MB read\nRequests/sec:      6.67\n"

    result = parse_wrk(text)

    assert (result.requests, result.seconds, result.rate) == (400, 60.0, 6.67)
    assert (result.non_2xx, result.socket_errors, dict(result.latency_ms)) == (0, 0, {})


def test_parse_wrk_rejects_other_output() -> None:
    """Text that is not wrk's summary (a usage message, say) is a ``ValueError``."""
    with pytest.raises(ValueError, match="not wrk output"):
        parse_wrk("Usage: wrk <options> <url>\n")


def test_wrk_command_spells_host_so_wrk_sends_it_once() -> None:
    """``host`` becomes ``Host`` (wrk adds its own otherwise); other headers go as they are."""
    command = wrk_command(
        "wrk",
        "http://127.0.0.1:1/x",
        ((b"host", b"api.example"), (b"origin", b"https://app.example")),
        seconds=3,
        connections=4,
    )

    assert command == [
        "wrk", "-t", "1", "-c", "4", "-d", "3s", "--latency",
        "-H", "Host: api.example", "-H", "origin: https://app.example",
        "http://127.0.0.1:1/x",
    ]  # fmt: skip


def test_e2e_summary_pairs_rounds_against_bare_and_floor() -> None:
    """Ratios to the bare app and to the floor's cost are taken per round, then the median."""

    def runs(*rates: float) -> tuple[WrkResult, ...]:
        return tuple(WrkResult(1, 1.0, rate, latency_ms={99: 2.0}) for rate in rates)

    result = e2e.E2EResult(
        stacks=("bare", "floor", "asgi-middleware"),
        runs={
            "r": {
                "bare": runs(1000, 500),
                "floor": runs(500, 250),
                "asgi-middleware": runs(250, 125),
            }
        },
        counts={"bare": {"app_calls": 3, "log_events": 0}},
        warnings=(),
        settings=e2e.E2ESettings(seconds=1, rounds=2),
        orders={"r": (("bare", "floor", "asgi-middleware"),) * 2},
    )

    bare, floor, ours = summarize_e2e(result, "r")

    assert (bare.rate, bare.vs_bare, bare.cost_us, bare.vs_floor) == (750, 1.0, None, None)
    assert (floor.vs_bare, floor.cost_us, floor.vs_floor) == (0.5, 1500.0, 1.0)
    assert (ours.vs_bare, ours.cost_us, ours.vs_floor) == (0.25, 4500.0, 3.0)
    assert "asgi-middleware" in format_e2e(result, "r", "test")
    assert e2e_to_json(result)["requests"]["r"]["rows"][2]["vs_floor"] == 3.0


def test_e2e_without_wrk_is_skipped_with_install_hint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``--e2e`` without wrk on PATH prints how to install it and exits 0, running nothing."""
    monkeypatch.setenv("PATH", str(tmp_path))

    assert main(["--e2e"]) == 0

    out = capsys.readouterr().out
    assert "SKIPPED: wrk was not found" in out
    assert "apt-get install wrk" in out
