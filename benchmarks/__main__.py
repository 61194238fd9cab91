"""Command line: ``python -m benchmarks [--quick] [--scenario NAME ...] [--repeat R] [--number N]``.

``--e2e`` runs the end-to-end comparison (uvicorn and wrk) instead of the in-process scenarios, or
after the ones ``--scenario`` names. See ``python -m benchmarks --help`` and
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib import util
from pathlib import Path
from typing import Any

from benchmarks import bench_stack, e2e, stacks
from benchmarks import scenarios as _scenarios
from benchmarks.driver import VALIDATION_REQUESTS, CheckFailedError, ScenarioResult, Settings, run
from benchmarks.e2e_report import e2e_to_json, format_e2e, format_e2e_footer
from benchmarks.model import Scenario
from benchmarks.report import (
    environment,
    format_environment,
    format_table,
    load_average,
    to_json,
    write_json,
)

# Defaults: one to two minutes on 2 cores for the initial five scenarios. An odd number of
# repetitions makes the median an actual measurement.
DEFAULT_REPEAT = 101
DEFAULT_BATCH_SECONDS = 0.12
# --quick: seconds in total; good for smoke tests and CI, not for numbers.
QUICK_REPEAT = 3
QUICK_BATCH_SECONDS = 0.002
DEFAULT_SEED = 20240601
# End to end: seconds of wrk per stack and round; --quick is one round of 1 s, no warm-up.
E2E_SECONDS = 5
E2E_ROUNDS = 3
E2E_CONNECTIONS = 8


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"expected a positive integer, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def build_parser(names: Sequence[str]) -> argparse.ArgumentParser:
    """Build the argument parser.

    Args:
        names: Scenario names accepted by ``--scenario``.

    Returns:
        The parser.
    """
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Per-request overhead of ASGI middleware over the bare app, timed in-process "
        "and interleaved; ratios are against each scenario's reference implementation.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"tiny counts ({QUICK_REPEAT} repetitions of ~{QUICK_BATCH_SECONDS * 1000:g} ms "
        "batches): checks that everything runs, the numbers mean little",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=list(names),
        metavar="NAME",
        help=f"run only this scenario (repeatable); one of: {', '.join(names)}",
    )
    parser.add_argument(
        "--repeat",
        type=_positive_int,
        metavar="R",
        help=f"timed batches per implementation (default {DEFAULT_REPEAT}, --quick {QUICK_REPEAT})",
    )
    parser.add_argument(
        "--number",
        type=_positive_int,
        metavar="N",
        help="requests per batch in every scenario (default: calibrated so the slowest "
        f"implementation's batch takes about {DEFAULT_BATCH_SECONDS:g} s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"seed for the shuffled run order (default {DEFAULT_SEED})",
    )
    parser.add_argument(
        "--json", type=Path, metavar="PATH", help="also write every raw number to PATH as JSON"
    )
    group = parser.add_argument_group(
        "end to end", "each stack served by uvicorn on 127.0.0.1 and loaded by wrk"
    )
    group.add_argument(
        "--e2e",
        action="store_true",
        help="run the end-to-end comparison of the whole stacks (needs wrk and uvicorn); the "
        "in-process scenarios run only if --scenario names them",
    )
    group.add_argument(
        "--e2e-seconds",
        type=_positive_int,
        metavar="S",
        help=f"length of each wrk run (default {E2E_SECONDS}, --quick 1)",
    )
    group.add_argument(
        "--e2e-rounds",
        type=_positive_int,
        metavar="R",
        help=f"wrk runs per stack, interleaved (default {E2E_ROUNDS}, --quick 1)",
    )
    group.add_argument(
        "--e2e-connections",
        type=_positive_int,
        metavar="C",
        help=f"connections wrk keeps open (default {E2E_CONNECTIONS})",
    )
    return parser


def _e2e_settings(args: argparse.Namespace) -> e2e.E2ESettings:
    return e2e.E2ESettings(
        seconds=args.e2e_seconds or (1 if args.quick else E2E_SECONDS),
        warmup=0 if args.quick else 1,
        rounds=args.e2e_rounds or (1 if args.quick else E2E_ROUNDS),
        connections=args.e2e_connections or E2E_CONNECTIONS,
        seed=args.seed,
    )


def _report_failures(failures: Sequence[str], what: str) -> None:
    print(f"\nFAILED: {len(failures)} response check(s) failed; {what}.", file=sys.stderr)
    for failure in failures:
        print(f"  {failure}", file=sys.stderr)


def _run_e2e(args: argparse.Namespace) -> tuple[int, dict[str, Any] | None]:
    """Run the end-to-end comparison; a missing wrk or uvicorn skips it with a message."""
    wrk = shutil.which("wrk")
    if wrk is None or util.find_spec("uvicorn") is None:
        print(f"\nSKIPPED: {e2e.WRK_MISSING if wrk is None else e2e.UVICORN_MISSING}")
        return 0, None
    settings = _e2e_settings(args)
    print(f"\nend to end: {e2e.server_description()}; {wrk}", flush=True)
    try:
        result = e2e.run_e2e(
            stacks.STACKS,
            bench_stack.E2E_REQUESTS,
            settings,
            wrk=wrk,
            progress=lambda line: print(line, flush=True),
        )
    except CheckFailedError as error:
        _report_failures(error.failures, "no stack was loaded, or its numbers are discarded")
        return 1, None
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        # A server that would not start, or wrk failing: the run has no numbers to show.
        print(f"\nFAILED: the end-to-end run stopped: {error}", file=sys.stderr)
        return 1, None
    for request in bench_stack.E2E_REQUESTS:
        print(f"\n{format_e2e(result, request.name, request.description)}", flush=True)
    print(format_e2e_footer(result))
    return 0, e2e_to_json(result)


def main(argv: Sequence[str] | None = None, *, scenarios: Sequence[Scenario] | None = None) -> int:
    """Run the benchmarks and print one table per scenario.

    Args:
        argv: Command-line arguments without the program name; ``sys.argv[1:]`` if ``None``.
        scenarios: Scenarios to choose from; `benchmarks.scenarios.SCENARIOS` if ``None``.

    Returns:
        0 on success (a skipped end-to-end run included), 1 if a check failed (in which case
        nothing of that part was timed).
    """
    available = tuple(_scenarios.SCENARIOS if scenarios is None else scenarios)
    args = build_parser([scenario.name for scenario in available]).parse_args(argv)
    # --e2e alone skips the in-process scenarios; with --scenario, those run first.
    selected = [item for item in available if not args.scenario or item.name in args.scenario]
    if args.e2e and not args.scenario:
        selected = []
    settings = Settings(
        repeat=args.repeat or (QUICK_REPEAT if args.quick else DEFAULT_REPEAT),
        number=args.number,
        batch_seconds=QUICK_BATCH_SECONDS if args.quick else DEFAULT_BATCH_SECONDS,
        seed=args.seed,
    )
    env = environment()
    opening = format_environment(env, settings)
    if not selected:  # the last line describes the in-process settings
        opening = opening.rpartition("\n")[0]
    print(opening, flush=True)

    def show(result: ScenarioResult) -> None:
        print(f"\n{format_table(result)}", flush=True)

    started = time.perf_counter()
    results: list[ScenarioResult] = []
    if selected:
        try:
            results = run(selected, settings, on_result=show)
        except CheckFailedError as error:
            _report_failures(error.failures, "nothing was timed")
            return 1
        count = sum(len(scenario.implementations()) for scenario in selected)
        print(
            f"\nAll {count} implementations passed their checks ({VALIDATION_REQUESTS} requests "
            f"each) before timing."
        )
    status, end_to_end = _run_e2e(args) if args.e2e else (0, None)
    print(f"\nTotal {time.perf_counter() - started:.1f} s.")
    load = load_average()
    if load is not None:
        # Contention is the main source of noise; say how much there was.
        print(f"Load average at the end: {load:.2f} on {env['cpus']} CPUs.")
    if args.json is not None:
        data = to_json(results, settings, env)
        if end_to_end is not None:
            data["e2e"] = end_to_end
        write_json(args.json, data)
        print(f"Raw numbers written to {args.json}")
    return status


if __name__ == "__main__":
    sys.exit(main())
