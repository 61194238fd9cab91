"""wrk, the HTTP load generator of the end-to-end run: its command line and its summary."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["WrkResult", "parse_wrk", "wrk_command"]

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)\s*$", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),", re.MULTILINE)
_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)\s*$", re.MULTILINE)
_SOCKET_ERRORS = re.compile(
    r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$", re.MULTILINE
)
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class WrkResult:
    """What one ``wrk`` run reported.

    Args:
        requests: Responses completed during the run.
        seconds: The run's measured length.
        rate: ``Requests/sec`` as wrk printed it.
        non_2xx: Responses with another status than 2xx or 3xx.
        socket_errors: Connect, read, write and timeout errors, summed.
        latency_ms: Latency percentiles in milliseconds (``{50: ..., 99: ...}``), when wrk ran
            with ``--latency``.
    """

    requests: int
    seconds: float
    rate: float
    non_2xx: int = 0
    socket_errors: int = 0
    latency_ms: Mapping[int, float] = field(default_factory=dict)


def parse_wrk(text: str) -> WrkResult:
    """Read the summary wrk 4 prints.

    Args:
        text: wrk's standard output.

    Returns:
        The figures.

    Raises:
        ValueError: If the output has no ``Requests/sec`` or no request count.
    """
    rate = _RATE.search(text)
    total = _TOTAL.search(text)
    if rate is None or total is None:
        msg = f"not wrk output (no 'Requests/sec' or 'N requests in'): {text[:200]!r}"
        raise ValueError(msg)
    non_2xx = _NON_2XX.search(text)
    errors = _SOCKET_ERRORS.search(text)
    return WrkResult(
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * _UNITS[total.group(3)] / 1e3,
        rate=float(rate.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(count) for count in errors.groups()) if errors else 0,
        latency_ms={
            int(match.group(1)): float(match.group(2)) * _UNITS[match.group(3)]
            for match in _PERCENTILE.finditer(text)
        },
    )


def wrk_command(
    wrk: str,
    url: str,
    headers: Sequence[tuple[bytes, bytes]],
    *,
    seconds: int,
    connections: int,
    threads: int = 1,
) -> list[str]:
    """Build the ``wrk`` command line for one run.

    Args:
        wrk: Path of the wrk executable.
        url: The URL to load.
        headers: Request headers, sent on every request.
        seconds: Length of the run (wrk takes whole seconds).
        connections: Connections kept open.
        threads: wrk's threads; one leaves the other core to the server on a 2-core machine.

    Returns:
        The arguments.
    """
    command = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    for name, value in headers:
        # wrk adds "Host" unless given one spelt exactly so: "host" would make two, and a 400.
        text = "Host" if name.lower() == b"host" else name.decode("latin-1")
        command += ["-H", f"{text}: {value.decode('latin-1')}"]
    return [*command, url]
