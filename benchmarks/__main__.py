"""Command line: ``python -m benchmarks [--quick] [--scenario NAME ...] [--repeat R] [--number N]``.

See ``python -m benchmarks --help`` and ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import scenarios as _scenarios
from benchmarks.driver import VALIDATION_REQUESTS, CheckFailedError, ScenarioResult, Settings, run
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
    return parser


def main(argv: Sequence[str] | None = None, *, scenarios: Sequence[Scenario] | None = None) -> int:
    """Run the benchmarks and print one table per scenario.

    Args:
        argv: Command-line arguments without the program name; ``sys.argv[1:]`` if ``None``.
        scenarios: Scenarios to choose from; `benchmarks.scenarios.SCENARIOS` if ``None``.

    Returns:
        0 on success, 1 if a check failed (in which case nothing was timed).
    """
    available = tuple(_scenarios.SCENARIOS if scenarios is None else scenarios)
    args = build_parser([scenario.name for scenario in available]).parse_args(argv)
    selected = [item for item in available if not args.scenario or item.name in args.scenario]
    settings = Settings(
        repeat=args.repeat or (QUICK_REPEAT if args.quick else DEFAULT_REPEAT),
        number=args.number,
        batch_seconds=QUICK_BATCH_SECONDS if args.quick else DEFAULT_BATCH_SECONDS,
        seed=args.seed,
    )
    env = environment()
    print(format_environment(env, settings), flush=True)

    def show(result: ScenarioResult) -> None:
        print(f"\n{format_table(result)}", flush=True)

    started = time.perf_counter()
    try:
        results = run(selected, settings, on_result=show)
    except CheckFailedError as error:
        print(
            f"\nFAILED: {len(error.failures)} response check(s) failed; nothing was timed.",
            file=sys.stderr,
        )
        for failure in error.failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    count = sum(len(scenario.implementations()) for scenario in selected)
    print(
        f"\nAll {count} implementations passed their checks ({VALIDATION_REQUESTS} requests "
        f"each) before timing; total {time.perf_counter() - started:.1f} s."
    )
    load = load_average()
    if load is not None:
        # Contention is the main source of noise; say how much there was.
        print(f"Load average at the end: {load:.2f} on {env['cpus']} CPUs.")
    if args.json is not None:
        write_json(args.json, to_json(results, settings, env))
        print(f"Raw numbers written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
