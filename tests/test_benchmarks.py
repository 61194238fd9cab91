"""Smoke and behaviour tests for the benchmark harness in ``benchmarks/``."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from benchmarks import bench_compression
from benchmarks.__main__ import main
from benchmarks.checks import expect, parse_response
from benchmarks.driver import VALIDATION_REQUESTS, CheckFailedError, ScenarioResult, Settings, run
from benchmarks.model import ASGIApp, Message, Scenario, Scope, Variant
from benchmarks.report import format_table, to_json
from benchmarks.scenarios import NO_BODY, SCENARIOS, http_scope, make_app

REPO_ROOT = Path(__file__).resolve().parent.parent
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
        timeout=120,
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
    }
    rows = {line.split()[0] for line in completed.stdout.splitlines() if line.strip()}
    peers = ("bare", "starlette", "starlette-compress", "zlib-oneshot", "zlib-stream")
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
