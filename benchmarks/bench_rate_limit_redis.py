"""Rate-limit scenario with the Redis store: an admitted request, next to one bare round trip.

The scenario starts its own ``redis-server`` (persistence off, 127.0.0.1, a free port) the first
time one of its rows is built, and stops it when the process exits. Without ``redis-server`` on
``PATH`` (or ``REDIS_SERVER``) the scenario is left out, and a line on stderr says how to
install it.

Both rows limit the client ``203.0.113.7`` to 6,000,000 a minute (every request is admitted)
through one ``redis.asyncio.Redis`` client, shared by the two rows:

* ``floor``: **the reference.** One bare ``EVALSHA`` of the store's own script, with the
  arguments prepared once, and the two rate-limit fields from its reply: the round trip, which
  no Redis-backed limiter can avoid, and the least work around it.
* ``asgi-middleware``: ``RateLimitMiddleware`` with ``RedisStore`` on that client: key function,
  policy selection, arguments, the call under ``store_timeout``, the reply parsed into
  decisions, the fields. The target is an overhead within 1.3x the floor's.
"""

from __future__ import annotations

import atexit
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

import redis.asyncio

from asgi_middleware.rate_limit import RateLimit, RateLimitMiddleware, RedisStore
from asgi_middleware.rate_limit.redis_store import SCRIPT, SCRIPT_SHA
from benchmarks.bench_rate_limit import POLICY, QUOTA, WINDOW, fields_check
from benchmarks.checks import expect
from benchmarks.common import NO_BODY, OK_APP, OK_BODY, http_scope
from benchmarks.model import ASGIApp, Message, Scenario, Scope, Variant

PATH = "/api/items"
HOST = "127.0.0.1"
REDIS_MISSING = (
    "redis-server was not found on PATH, so the rate-limit-redis scenario was left out. "
    "Install it with `sudo apt-get install redis-server` (Debian, Ubuntu) or "
    "`brew install redis` (macOS), or set REDIS_SERVER to its path."
)


class RedisServer:
    """A ``redis-server`` for this process, started on first use and stopped at exit."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._client: redis.asyncio.Redis | None = None

    def start(self) -> str:
        """Start the server (once) and return its URL once it answers."""
        if self._process is not None:
            return self.url
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            port = probe.getsockname()[1]
        directory = tempfile.mkdtemp(prefix="bench-redis-")
        self._process = subprocess.Popen(  # noqa: S603 - redis-server from PATH, our arguments
            [self.binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly",
             "no", "--dir", directory, "--daemonize", "no"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        atexit.register(self.stop, directory)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection((HOST, port), timeout=0.5).close()
                break
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    msg = f"redis-server did not start on port {port}"
                    raise RuntimeError(msg) from None
                time.sleep(0.02)
        self.url = f"redis://{HOST}:{port}/0"
        return self.url

    def client(self) -> redis.asyncio.Redis:
        """The one client both rows use (made on first use, inside the harness's loop)."""
        if self._client is None:
            self._client = redis.asyncio.Redis.from_url(self.start())
        return self._client

    def stop(self, directory: str) -> None:
        """Stop the server and remove its directory."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


_BINARY = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
SERVER = RedisServer(_BINARY) if _BINARY else None


def _server() -> RedisServer:
    if SERVER is None:  # the scenario is only listed with a server binary
        raise RuntimeError(REDIS_MISSING)
    return SERVER


def ours(app: ASGIApp) -> ASGIApp:
    """Our middleware and RedisStore on the shared client: one GCRA policy, the default key."""
    store = RedisStore(_server().client())
    return RateLimitMiddleware(app, limits=[RateLimit("api", QUOTA, WINDOW)], store=store)


class FloorRedis:
    """The floor: one prepared ``EVALSHA`` of the store's script, and the two fields.

    The key, the arguments and the policy field are fixed at construction; no options, no
    timeout, no failure policy, no refusal path worth the name.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.client = _server().client()
        interval = repr(RateLimit("api", QUOTA, WINDOW).interval).encode("ascii")
        self.arguments: tuple[Any, ...] = (
            b"1", b"rl:{ip-203.0.113.7}:api", b"1", b"g", interval, b"%d" % QUOTA
        )  # fmt: skip

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """One round trip, then the app with the fields."""
        try:
            reply = await self.client.evalsha(SCRIPT_SHA, *self.arguments)
        except redis.exceptions.NoScriptError:  # the first call: cache the script
            reply = await self.client.eval(SCRIPT, *self.arguments)
        if reply[1] != 1:  # never at this quota
            await send({"type": "http.response.start", "status": 429, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        fields = [
            (b"ratelimit-policy", POLICY),
            (b"ratelimit", b'"api";r=%d;t=%d' % (reply[2], math.ceil(float(reply[3])))),
        ]

        def send_wrapper(message: Message) -> Any:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], *fields]}
            return send(message)

        await self.app(scope, receive, send_wrapper)


SCENARIOS: tuple[Scenario, ...] = ()
if SERVER is not None:
    SCENARIOS = (
        Scenario(
            name="rate-limit-redis",
            description="GET admitted by a Redis limit of 6,000,000 a minute: one EVALSHA each",
            app=OK_APP,
            scope=http_scope("GET", PATH, ()),
            request=NO_BODY,
            bare_check=expect(body=OK_BODY, absent=("ratelimit",)),
            reference="floor",
            variants=(
                Variant("floor", FloorRedis, fields_check, "one bare EVALSHA, same client"),
                Variant("asgi-middleware", ours, fields_check, "GCRA, RedisStore"),
            ),
        ),
    )
else:
    print(REDIS_MISSING, file=sys.stderr)
