"""End to end with the rate limit: the bare app, the memory store and the Redis store under uvicorn.

``python -m benchmarks.e2e_rate_limit [--seconds S] [--rounds R] [--connections C]`` starts its
own ``redis-server`` (persistence off, 127.0.0.1, a free port), serves three stacks with
uvicorn (one worker each, access log off) and loads each with ``wrk`` in interleaved rounds,
through the same runner as ``python -m benchmarks --e2e``:

* ``bare``: the app alone, a 15-byte JSON answer;
* ``memory``: ``RateLimitMiddleware`` with one GCRA policy and the default ``MemoryStore``;
* ``redis``: the same policy with ``RedisStore``, one ``EVALSHA`` per request.

The limit is 6,000,000 a minute, so every request is admitted and carries the rate-limit
fields. Without ``wrk``, uvicorn or ``redis-server`` it prints how to install them and exits 0.
``python -m benchmarks.e2e_rate_limit STACK --port N`` is how the runner starts each server.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
from collections.abc import Sequence
from typing import Any

from asgi_middleware.rate_limit import RateLimit, RateLimitMiddleware, RedisStore
from benchmarks import bench_rate_limit_redis, e2e
from benchmarks.bench_rate_limit import QUOTA, WINDOW
from benchmarks.checks import expect
from benchmarks.common import OK_APP, OK_BODY, http_scope
from benchmarks.e2e_report import format_e2e
from benchmarks.model import ASGIApp

STACKS = ("bare", "memory", "redis")
PATH = "/api/items"
_URL = "BENCH_REDIS_URL"


def stack(name: str) -> tuple[ASGIApp, list[int]]:
    """The app of one stack, and a one-item list counting the requests it served."""
    served = [0]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            served[0] += 1
        await OK_APP(scope, receive, send)

    limits = [RateLimit("api", QUOTA, WINDOW)]
    if name == "memory":
        return RateLimitMiddleware(app, limits=limits), served
    if name == "redis":
        store = RedisStore(os.environ[_URL])
        return RateLimitMiddleware(app, limits=limits, store=store), served
    return app, served


def serve(name: str, port: int) -> int:
    """Serve one stack until interrupted; then print how many requests reached its app."""
    import uvicorn  # noqa: PLC0415 - the servers only

    app, served = stack(name)
    uvicorn.run(
        app, host=e2e.HOST, port=port, access_log=False, lifespan="off", log_level="warning"
    )
    # The runner compares the access-log events with the requests; these stacks log nothing.
    print(json.dumps({"app_calls": served[0], "log_events": 0}), flush=True)
    return 0


def _missing() -> str | None:
    if shutil.which("wrk") is None:
        return e2e.WRK_MISSING
    if importlib.util.find_spec("uvicorn") is None:
        return e2e.UVICORN_MISSING
    if bench_rate_limit_redis.SERVER is None:
        return bench_rate_limit_redis.REDIS_MISSING
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison, or serve one stack (``STACK --port N``)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in STACKS:
        parser = argparse.ArgumentParser(prog="python -m benchmarks.e2e_rate_limit")
        parser.add_argument("stack", choices=STACKS)
        parser.add_argument("--port", type=int, required=True)
        served = parser.parse_args(arguments)
        return serve(served.stack, served.port)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.e2e_rate_limit")
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="wrk runs per stack, interleaved")
    parser.add_argument("--connections", type=int, default=8, help="connections wrk keeps open")
    options = parser.parse_args(arguments)
    missing = _missing()
    if missing is not None:
        print(f"SKIPPED: {missing}")
        return 0
    assert bench_rate_limit_redis.SERVER is not None
    os.environ[_URL] = bench_rate_limit_redis.SERVER.start()  # the servers inherit it
    settings = e2e.E2ESettings(
        seconds=options.seconds, rounds=options.rounds, connections=options.connections
    )
    fields = expect(body=OK_BODY, headers={"ratelimit-policy": f'"api";q={QUOTA};w={WINDOW}'})
    request = e2e.E2ERequest(
        name="rate-limit",
        description=f"GET {PATH} through uvicorn, admitted by a limit of {QUOTA:,} a minute",
        path=PATH,
        headers=tuple(http_scope("GET", PATH, ())["headers"]),  # the in-process request's
        checks={"bare": expect(body=OK_BODY, absent=("ratelimit",)), "memory": fields,
                "redis": fields},
    )  # fmt: skip
    print(f"end to end: {e2e.server_description()}; redis-server {os.environ[_URL]}", flush=True)
    result = e2e.run_e2e(
        STACKS,
        [request],
        settings,
        wrk=shutil.which("wrk") or "wrk",
        progress=lambda line: print(line, flush=True),
        module="benchmarks.e2e_rate_limit",
    )
    print(f"\n{format_e2e(result, request.name, request.description)}")
    counts = ", ".join(
        f"{name} {found.get('app_calls', 0):,}" for name, found in result.counts.items()
    )
    print(f"requests served per server: {counts}")
    for warning in result.warnings:
        if "access-log events" not in warning:  # these apps write no access log
            print(f"warning: {warning}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
