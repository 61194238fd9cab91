"""Summaries of the end-to-end run: requests per second, ratios to the bare app, text and JSON."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.e2e import E2EResult
from benchmarks.wrk import WrkResult

BARE = "bare"
FLOOR = "floor"
_DASH = "\u2013"
_TIMES = "\u00d7"


@dataclass(frozen=True, slots=True)
class E2ERow:
    """One stack's figures for one request shape; medians over the rounds.

    Args:
        name: Stack name.
        rate: Requests per second.
        low: Slowest round's requests per second.
        high: Fastest round's requests per second.
        vs_bare: This stack's rate / the bare app's rate in the same round.
        cost_us: Microseconds per request over the bare app, ``1e6/rate - 1e6/bare rate`` in the
            same round: with the one server worker saturated, the server time the stack adds.
            ``None`` for ``bare``.
        vs_floor: ``cost_us`` / the floor's ``cost_us`` in the same round; ``None`` for ``bare``,
            without a floor row, or if the floor's cost was never positive.
        p99_ms: 99th percentile latency wrk measured, or ``None``.
    """

    name: str
    rate: float
    low: float
    high: float
    vs_bare: float
    cost_us: float | None
    vs_floor: float | None
    p99_ms: float | None


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _median_or_none(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def summarize_e2e(result: E2EResult, request: str) -> list[E2ERow]:
    """Compute the rows of one request shape, paired by round like the in-process report.

    Args:
        result: The run.
        request: Name of the request shape.

    Returns:
        One row per stack, in display order.
    """
    runs = result.runs[request]
    bare = [run.rate for run in runs[BARE]]
    costs = {
        name: [1e6 / run.rate - 1e6 / base for run, base in zip(per, bare, strict=True)]
        for name, per in runs.items()
        if name != BARE
    }
    floor = costs.get(FLOOR, [])
    rows = []
    for name in result.stacks:
        rates = [run.rate for run in runs[name]]
        mine = costs.get(name)
        ratios = [cost / base for cost, base in zip(mine or (), floor, strict=False) if base > 0]
        p99 = [run.latency_ms[99] for run in runs[name] if 99 in run.latency_ms]
        rows.append(
            E2ERow(
                name=name,
                rate=statistics.median(rates),
                low=min(rates),
                high=max(rates),
                vs_bare=statistics.median(r / b for r, b in zip(rates, bare, strict=True)),
                cost_us=None if mine is None else statistics.median(mine),
                vs_floor=_median_or_none(ratios),
                p99_ms=_median_or_none(p99),
            )
        )
    return rows


def format_e2e(result: E2EResult, request: str, description: str) -> str:
    """Render one request shape as an aligned table with a title and a footer.

    Args:
        result: The run.
        request: Name of the request shape.
        description: The title's description.

    Returns:
        The text, without a trailing newline.
    """
    settings = result.settings
    header = (
        "stack",
        "median req/s",
        f"min{_DASH}max req/s",
        "vs bare",
        "µs/req over bare",
        "vs floor",
        "p99 ms",
    )
    body = [
        (
            row.name,
            f"{row.rate:,.0f}",
            f"{row.low:,.0f}{_DASH}{row.high:,.0f}",
            f"{row.vs_bare:.2f}x",
            "—" if row.cost_us is None else f"{row.cost_us:.1f}",
            "—" if row.vs_floor is None else f"{row.vs_floor:.2f}x",
            "—" if row.p99_ms is None else f"{row.p99_ms:.2f}",
        )
        for row in summarize_e2e(result, request)
    ]
    widths = [max(len(line[col]) for line in (header, *body)) for col in range(len(header))]
    lines = [f"e2e {request}: {description}"]
    for line in (header, *body):
        cells = [line[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells))
    lines.append(
        f"{_plural(settings.rounds, 'round')} {_TIMES} {settings.seconds} s per stack, "
        f"interleaved; wrk {_plural(settings.threads, 'thread')}, "
        f"{_plural(settings.connections, 'connection')}; vs bare = req/s / bare req/s; "
        "vs floor = (µs/req over bare) / the floor's; both per round"
    )
    return "\n".join(lines)


def format_e2e_footer(result: E2EResult) -> str:
    """Render what the servers counted and any warnings.

    Args:
        result: The run.

    Returns:
        The text, without a trailing newline.
    """
    counts = ", ".join(
        f"{stack} {found.get('app_calls', 0):,}/{found.get('log_events', 0):,}"
        for stack in result.stacks
        if (found := result.counts.get(stack))
    )
    lines = [f"requests served / access-log events written, per server: {counts}"]
    lines += [f"warning: {warning}" for warning in result.warnings]
    return "\n".join(lines)


def _run_json(run: WrkResult) -> dict[str, Any]:
    data = asdict(run)
    data["latency_ms"] = {str(key): value for key, value in run.latency_ms.items()}
    return data


def e2e_to_json(result: E2EResult) -> dict[str, Any]:
    """Collect every wrk figure and summary of the run in a JSON-serialisable mapping.

    Args:
        result: The run.

    Returns:
        The mapping.
    """
    return {
        "settings": asdict(result.settings),
        "stacks": list(result.stacks),
        "counts": {stack: dict(found) for stack, found in result.counts.items()},
        "warnings": list(result.warnings),
        "requests": {
            name: {
                "orders": [list(order) for order in result.orders[name]],
                "runs": {stack: [_run_json(run) for run in runs] for stack, runs in per.items()},
                "rows": [asdict(row) for row in summarize_e2e(result, name)],
            }
            for name, per in result.runs.items()
        },
    }
