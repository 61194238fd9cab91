"""Draw the Metrics page's chart from a real scrape of a demo-like app under load.

Serves a small shop API (three routes of different speeds, a few 5xx, some 404s) behind
``RequestIDMiddleware``, ``MetricsMiddleware`` and ``CompressionMiddleware`` with uvicorn on
127.0.0.1, loads it with httpx, scrapes its ``/metrics`` every interval and draws the Grafana
dashboard's three panels (request rate, error ratio, latency percentiles by route) as an SVG,
computed from the scrapes the way Prometheus computes ``rate()`` and ``histogram_quantile()``.
No plotting library: the SVG is written here.

    .venv/bin/python scripts/metrics_chart.py                      # 30 s -> docs/metrics-chart.svg
    .venv/bin/python scripts/metrics_chart.py --seconds 2 --output /tmp/chart.svg
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import socket
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
import uvicorn
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from asgi_middleware import CompressionMiddleware, RequestIDMiddleware, compose  # noqa: E402
from asgi_middleware.metrics import (  # noqa: E402
    MetricsMiddleware,
    PrometheusExporter,
    capture_route,
    metrics_app,
)

DURATION = "http_server_request_duration_seconds"
COLORS = ("#3b6ea8", "#d9822b", "#2a9d5c", "#b5443a", "#7a5ea8", "#6b6b6b")
#: Share of reports failing with a 503, and the load mix: cumulative shares of orders, searches
#: and reports (the rest are bots probing for /wp-login.php).
REPORT_FAILURES = 0.08
ORDERS, SEARCHES, REPORTS = 0.55, 0.85, 0.97
WIDTH, PANEL_HEIGHT, MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP = 960, 230, 70, 190, 34


# --- The app under load ------------------------------------------------------------------------


async def order(request: Request) -> JSONResponse:
    """Fast: a few milliseconds."""
    await asyncio.sleep(random.uniform(0.001, 0.006))  # noqa: S311 - load shape, not security
    return JSONResponse({"id": request.path_params["order_id"], "items": list(range(20))})


async def search(_: Request) -> JSONResponse:
    """Medium: tens of milliseconds, a long tail."""
    await asyncio.sleep(random.lognormvariate(-3.5, 0.6))
    return JSONResponse({"results": [{"n": n} for n in range(50)]})


async def report(_: Request) -> PlainTextResponse:
    """Slow, and failing now and then."""
    await asyncio.sleep(random.uniform(0.05, 0.25))  # noqa: S311 - as above
    if random.random() < REPORT_FAILURES:  # noqa: S311 - as above
        return PlainTextResponse("report backend unavailable", status_code=503)
    return PlainTextResponse("report " * 200)


def shop(registry: CollectorRegistry) -> object:
    """The demo-like stack: request ID, metrics, compression, the app (and its /metrics)."""
    api = Starlette(
        routes=[
            Route("/api/orders/{order_id:int}", order),
            Route("/api/search", search),
            Route("/api/reports/{report_id}", report),
            Route("/metrics", metrics_app(registry)),
        ]
    )
    exporter = PrometheusExporter(registry=registry)
    return compose(
        capture_route(api),
        RequestIDMiddleware,
        (lambda app: MetricsMiddleware(app, exporters=exporter)),
        CompressionMiddleware,
    )


def serve(app: object) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Start uvicorn on 127.0.0.1 and a free port in a thread; return it and its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            msg = "uvicorn did not start"
            raise RuntimeError(msg)
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"


# --- Load and scrapes ---------------------------------------------------------------------------


@dataclass
class Scrape:
    """One scrape: when, request counts by (route, status), bucket counts by (route, le)."""

    at: float
    counts: dict[tuple[str, str], float] = field(default_factory=dict)
    buckets: dict[tuple[str, float], float] = field(default_factory=dict)


def parse(at: float, text: str) -> Scrape:
    """The duration histogram's counts and buckets of one exposition, summed by route."""
    scrape = Scrape(at)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            route = sample.labels.get("http_route", "")
            if sample.name == f"{DURATION}_count":
                key = (route, sample.labels["http_response_status_code"])
                scrape.counts[key] = scrape.counts.get(key, 0) + sample.value
            elif sample.name == f"{DURATION}_bucket":
                bucket = (route, float(sample.labels["le"]))
                scrape.buckets[bucket] = scrape.buckets.get(bucket, 0) + sample.value
    return scrape


def pick_path(rng: random.Random) -> str:
    """A request of the load mix: mostly orders, some searches and reports, a few misses."""
    roll = rng.random()
    if roll < ORDERS:
        return f"/api/orders/{rng.randrange(1, 10_000)}"
    if roll < SEARCHES:
        return "/api/search"
    if roll < REPORTS:
        return f"/api/reports/{rng.choice(['q1', 'q2', 'q3', 'q4'])}"
    return f"/wp-login.php?{rng.randrange(1000)}"


async def load(
    url: str, seconds: float, interval: float, concurrency: int, seed: int
) -> list[Scrape]:
    """Send the load mix for ``seconds`` and scrape every ``interval``; return the scrapes."""
    rng = random.Random(seed)  # noqa: S311 - load shape, not security
    scrapes: list[Scrape] = []
    begin = time.monotonic()
    stop = begin + seconds
    limits = httpx.Limits(max_connections=concurrency + 1)
    async with httpx.AsyncClient(
        base_url=url, timeout=10, limits=limits, trust_env=False
    ) as client:

        async def worker(index: int) -> None:
            # The load ramps up: worker i starts after i/concurrency of the first third.
            await asyncio.sleep(seconds / 3 * index / concurrency)
            while time.monotonic() < stop:
                await client.get(pick_path(rng), headers={"accept-encoding": "gzip"})

        async def scraper() -> None:
            while True:
                response = await client.get("/metrics")
                scrapes.append(parse(time.monotonic() - begin, response.text))
                if time.monotonic() >= stop:
                    return
                await asyncio.sleep(interval)

        await asyncio.gather(scraper(), *(worker(index) for index in range(concurrency)))
    return scrapes


# --- What the panels show -----------------------------------------------------------------------


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """Prometheus' ``histogram_quantile`` over cumulative ``(le, count)`` pairs."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound  # pragma: no cover - the +Inf bucket holds every observation


def series(scrapes: Sequence[Scrape]) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """Per panel, per line, the points between consecutive scrapes."""
    panels: dict[str, dict[str, list[tuple[float, float]]]] = {
        "rate": {},
        "errors": {},
        "latency": {},
    }
    for before, after in pairwise(scrapes):
        elapsed = after.at - before.at
        routes = sorted({route for route, _ in after.counts})
        for route in routes:
            delta = {
                status: after.counts[key] - before.counts.get(key, 0)
                for key in after.counts
                if key[0] == route
                for status in (key[1],)
            }
            total = sum(delta.values())
            if total <= 0:
                continue
            panels["rate"].setdefault(route, []).append((after.at, total / elapsed))
            errors = sum(value for status, value in delta.items() if status.startswith("5"))
            panels["errors"].setdefault(route, []).append((after.at, errors / total))
            buckets = [
                (bound, after.buckets[key] - before.buckets.get(key, 0))
                for key in after.buckets
                if key[0] == route
                for bound in (key[1],)
            ]
            for q in (0.5, 0.95, 0.99):
                value = quantile(q, buckets)
                if value is not None:
                    line = f"p{round(q * 100)} {route}"
                    panels["latency"].setdefault(line, []).append((after.at, value))
    return panels


# --- SVG ------------------------------------------------------------------------------------------


def panel_svg(
    title: str, lines: dict[str, list[tuple[float, float]]], top: float, unit: str, span: float
) -> list[str]:
    """One panel: frame, axes with ticks, a polyline per line, a legend."""
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = PANEL_HEIGHT - MARGIN_TOP - 30
    y0 = top + MARGIN_TOP
    peak = max((value for points in lines.values() for _, value in points), default=1.0) or 1.0
    peak *= 1.1
    out = [
        '<g class="panel">',
        f'<text x="{MARGIN_LEFT}" y="{top + 20}" class="title">{escape(title)}</text>',
        f'<rect x="{MARGIN_LEFT}" y="{y0}" width="{plot_w}" height="{plot_h}" class="frame"/>',
    ]
    for step in range(5):
        value = peak * step / 4
        y = y0 + plot_h - plot_h * step / 4
        label = (
            f"{value * 100:.0f}%"
            if unit == "%"
            else f"{value * 1000:.0f} ms"
            if unit == "s"
            else f"{value:.0f}/s"
        )
        right = MARGIN_LEFT + plot_w
        out.append(
            f'<line x1="{MARGIN_LEFT}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
        )
        tick = f'x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end"'
        out.append(f"<text {tick}>{label}</text>")
    for second in range(0, math.floor(span) + 1, max(1, math.ceil(span / 6))):
        x = MARGIN_LEFT + plot_w * second / span
        tick = f'x="{x:.1f}" y="{y0 + plot_h + 16}" class="tick" text-anchor="middle"'
        out.append(f"<text {tick}>{second}s</text>")
    routes = sorted({name.split(" ", 1)[-1] for name in lines})
    for name in sorted(lines):
        route = name.split(" ", 1)[-1]
        color = COLORS[routes.index(route) % len(COLORS)]
        dash = {"p50": "4 3", "p99": "1 3"}.get(name.split(" ", 1)[0], "")
        points = " ".join(
            f"{MARGIN_LEFT + plot_w * at / span:.1f},{y0 + plot_h - plot_h * value / peak:.1f}"
            for at, value in lines[name]
        )
        style = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<polyline points="{points}" stroke="{color}"{style} class="line"/>')
    # One legend entry per route: the title says which line style is which percentile.
    for index, route in enumerate(routes):
        color = COLORS[index % len(COLORS)]
        ly = y0 + 10 + index * 15
        x = WIDTH - MARGIN_RIGHT + 12
        out.append(
            f'<line x1="{x}" x2="{x + 18}" y1="{ly}" y2="{ly}" stroke="{color}" class="line"/>'
        )
        out.append(f'<text x="{x + 23}" y="{ly + 4}" class="legend">{escape(route)}</text>')
    out.append("</g>")
    return out


def svg(scrapes: Sequence[Scrape]) -> str:
    """The three panels, stacked."""
    panels = series(scrapes)
    span = max((scrape.at for scrape in scrapes), default=1.0) or 1.0
    titles = (
        ("Request rate by route", panels["rate"], "/s"),
        ("Error ratio by route (5xx)", panels["errors"], "%"),
        ("Latency by route: p50 (dashed), p95, p99 (dotted)", panels["latency"], "s"),
    )
    height = PANEL_HEIGHT * len(titles)
    out = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">'
        ),
        (
            "<style>.title{font-size:14px;font-weight:bold}.tick,.legend{font-size:11px;fill:#444}"
            ".frame{fill:#fbfbfb;stroke:#ccc}.grid{stroke:#e6e6e6}"
            ".line{fill:none;stroke-width:1.6}</style>"
        ),
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
    ]
    for index, (title, lines, unit) in enumerate(titles):
        out += panel_svg(title, lines, index * PANEL_HEIGHT, unit, span)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the load, scrape, draw; print where the chart went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the load (30)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between scrapes (1)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument("--seed", type=int, default=15, help="seed of the load mix (15)")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "metrics-chart.svg")
    args = parser.parse_args(argv)
    registry = CollectorRegistry()
    server, thread, url = serve(shop(registry))
    try:
        scrapes = asyncio.run(load(url, args.seconds, args.interval, args.concurrency, args.seed))
    finally:
        server.should_exit = True
        thread.join(10)
    args.output.write_text(svg(scrapes), encoding="utf-8")
    sys.stdout.write(f"{len(scrapes)} scrapes of {url}/metrics drawn to {args.output}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
