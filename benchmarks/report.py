"""Turn measurements into figures: per-request medians, paired overheads, ratios; text and JSON."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.driver import ScenarioResult, Settings
from benchmarks.model import BARE

_DASH = "\u2013"  # en dash, for ranges
_TIMES = "\u00d7"  # multiplication sign

PEERS = ("starlette", "starlette-compress", "asgi-correlation-id", "structlog", "asgi-middleware")
"""Distributions whose versions the report names, so numbers can be traced to code."""


@dataclass(frozen=True, slots=True)
class Row:
    """Summary of one implementation in one scenario (times in nanoseconds per request).

    Args:
        name: Implementation name.
        note: Shown in the note column.
        median: Median over repetitions.
        low: Fastest repetition.
        high: Slowest repetition.
        overhead: Median over repetitions of (this batch - the same repetition's bare batch);
            ``None`` for ``bare``.
        ratio: Median over repetitions of (this overhead / the reference's overhead in the same
            repetition); ``None`` for ``bare``, or if the reference's overhead was never positive.
        ratio_iqr: First and third quartile of those per-repetition ratios, or ``None``.
    """

    name: str
    note: str
    median: float
    low: float
    high: float
    overhead: float | None
    ratio: float | None
    ratio_iqr: tuple[float, float] | None


def _quartiles(values: Sequence[float]) -> tuple[float, float]:
    if len(values) < 2:  # quantiles() needs two points
        return (values[0], values[0])
    first, _, third = statistics.quantiles(values, n=4)
    return (first, third)


def summarize(result: ScenarioResult) -> list[Row]:
    """Compute the table rows of one scenario.

    Everything is paired by repetition. A repetition's batches ran moments apart, so subtracting
    that repetition's bare time cancels slow drift, and dividing by that repetition's reference
    overhead also cancels the machine's speed of the moment (a 2-core VM can change pace by 2x
    for seconds at a time). Medians then discard the repetitions a neighbour disturbed.

    Args:
        result: Measurements of the scenario.

    Returns:
        One row per implementation, ``bare`` first.
    """
    bare = result.timing(BARE).per_request_ns
    overheads = {
        timing.name: [mine - base for mine, base in zip(timing.per_request_ns, bare, strict=True)]
        for timing in result.timings
        if timing.name != BARE
    }
    reference = overheads[result.reference]
    rows = []
    for timing in result.timings:
        times = timing.per_request_ns
        mine = overheads.get(timing.name)
        ratios = [o / r for o, r in zip(mine or (), reference, strict=False) if r > 0]
        notes = ["reference"] if timing.name == result.reference else []
        notes += [timing.note] if timing.note else []
        rows.append(
            Row(
                name=timing.name,
                note=", ".join(notes),
                median=statistics.median(times),
                low=min(times),
                high=max(times),
                overhead=None if mine is None else statistics.median(mine),
                ratio=statistics.median(ratios) if ratios else None,
                ratio_iqr=_quartiles(ratios) if ratios else None,
            )
        )
    return rows


def _us(nanoseconds: float) -> str:
    return f"{nanoseconds / 1000:.2f}"


def _ratio_cells(row: Row, reference: str) -> tuple[str, str]:
    if row.ratio is None or row.ratio_iqr is None:
        return ("—", "—")
    if row.name == reference:
        return (f"{row.ratio:.2f}x", "—")
    low, high = row.ratio_iqr
    return (f"{row.ratio:.2f}x", f"{low:.2f}{_DASH}{high:.2f}")


def format_table(result: ScenarioResult) -> str:
    """Render one scenario as an aligned plain-text table with a title and footer.

    Args:
        result: Measurements of the scenario.

    Returns:
        The text, without a trailing newline.
    """
    header = (
        "implementation",
        "median µs/req",
        f"min{_DASH}max µs/req",
        "overhead µs",
        "ratio",
        "ratio IQR",
        "note",
    )
    body = [
        (
            row.name,
            _us(row.median),
            f"{_us(row.low)}{_DASH}{_us(row.high)}",
            "—" if row.overhead is None else _us(row.overhead),
            *_ratio_cells(row, result.reference),
            row.note,
        )
        for row in summarize(result)
    ]
    warnings = list(result.warnings)
    if all(line[4] == "—" for line in body):
        # The reference's overhead was lost in the noise; a ratio against it means nothing.
        warnings.append(f"{result.reference}'s overhead was never positive, so no ratios")
    widths = [max(len(line[column]) for line in (header, *body)) for column in range(len(header))]

    def render(line: Sequence[str]) -> str:
        # Name left, numbers right, free-text note last and unpadded.
        cells = [line[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(line[1:-1], widths[1:-1], strict=True)]
        cells.append(line[-1])
        return "  ".join(cells).rstrip()

    lines = [f"{result.name}: {result.description}", render(header)]
    lines += [render(line) for line in body]
    lines.append(
        f"{result.repeat} repetitions {_TIMES} {result.number:,} requests per implementation, "
        f"interleaved; ratio = overhead / {result.reference} overhead"
    )
    lines += [
        f"probe {name}: " + ", ".join(f"{figure} {value}" for figure, value in figures)
        for name, figures in result.probes
    ]
    lines += [f"warning: {warning}" for warning in warnings]
    return "\n".join(lines)


def load_average() -> float | None:
    """Return the one-minute load average, or ``None`` where the platform has none.

    Returns:
        Runnable processes averaged over the last minute; near the CPU count means contention.
    """
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows has no getloadavg
        return None


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    """Describe the interpreter, machine and peer versions the numbers were taken on.

    Returns:
        A JSON-serialisable mapping.
    """
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": load_average(),
        "executable": sys.executable,
        "versions": {name: _version(name) for name in PEERS},
    }


def format_environment(env: dict[str, Any], settings: Settings) -> str:
    """Render the report's opening lines.

    Args:
        env: Output of `environment`.
        settings: The run's settings.

    Returns:
        The text, without a trailing newline.
    """
    versions = ", ".join(
        f"{name} {version}" for name, version in env["versions"].items() if version
    )
    cpus = f"{env['cpus']} CPUs"
    if env["load_average"] is not None:
        cpus += f", load average {env['load_average']:.2f}"
    number = "calibrated per scenario" if settings.number is None else f"{settings.number:,}"
    return "\n".join(
        (
            f"Python {env['python']} ({env['implementation']}) on {env['platform']}, {cpus}",
            f"versions: {versions}",
            f"repetitions {settings.repeat}, requests per batch {number}, seed {settings.seed}",
        )
    )


def to_json(
    results: Sequence[ScenarioResult], settings: Settings, env: dict[str, Any]
) -> dict[str, Any]:
    """Collect every raw number of the run in a JSON-serialisable mapping.

    Args:
        results: The measured scenarios.
        settings: The run's settings.
        env: Output of `environment`.

    Returns:
        The mapping; times are in nanoseconds.
    """
    scenarios = []
    for result in results:
        rows = {row.name: row for row in summarize(result)}
        scenarios.append(
            {
                "name": result.name,
                "description": result.description,
                "reference": result.reference,
                "number": result.number,
                "repeat": result.repeat,
                "orders": [list(order) for order in result.orders],
                "warnings": list(result.warnings),
                "probes": {name: dict(figures) for name, figures in result.probes},
                "implementations": [
                    {
                        "name": timing.name,
                        "note": timing.note,
                        "batch_ns": list(timing.batch_ns),
                        "per_request_ns": list(timing.per_request_ns),
                        "median_ns": rows[timing.name].median,
                        "overhead_ns": rows[timing.name].overhead,
                        "ratio": rows[timing.name].ratio,
                        "ratio_iqr": rows[timing.name].ratio_iqr,
                    }
                    for timing in result.timings
                ],
            }
        )
    return {
        "environment": env,
        "settings": {
            "repeat": settings.repeat,
            "number": settings.number,
            "batch_seconds": settings.batch_seconds,
            "seed": settings.seed,
        },
        "scenarios": scenarios,
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON, creating parent directories.

    Args:
        path: Destination file.
        data: Output of `to_json`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
