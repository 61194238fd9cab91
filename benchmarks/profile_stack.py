"""Where the whole stack's time goes: each layer's cost in our stack and in the floor's.

``python -m benchmarks.profile_stack`` serves the ``stack-100b`` request (``--large``: the
``stack-json-16k`` one) through our six layers and through the floor's, and through each with one
layer left out or with one layer alone, interleaved and shuffled as the driver does. A layer's cost
"left out" is what leaving it out of the stack saves; "alone" is what it costs around the bare
app. Both are medians of paired differences, so a busy machine blurs them less than raw times.

``--against rules`` puts the floor with the SPEC's rules (``benchmarks.floor_rules``) in the
floor columns. ``--rules`` times instead the rows of ``benchmarks.floor_rules``: the floor, the
floor with every SPEC rule, the same with each rule left out, and our stack. A rule's cost is
what leaving it out of the ruled floor saves, a median of paired differences as above.

``--swap`` swaps one layer at a time between our stack and ``floor+rules``: what our stack saves
when that layer is the ruled floor's, and what the ruled floor's stack costs more with ours.

``--serve STACK`` only serves ``--number`` requests through one stack (``bare``, ``floor``,
``floor+rules``, ``ours``), for a profiler outside Python: the difference between two numbers of
requests under ``valgrind --tool=cachegrind --cache-sim=yes`` is what that many requests cost in
machine instructions and simulated cache misses.

``--opcodes`` counts instead the Python bytecodes each row executes for one request
(``sys.settrace`` with opcode events): an exact, repeatable measure of the interpreted work, for
comparing two versions of a layer on a machine too noisy to time them. Calls into C (zlib, json,
dict copies) count as one bytecode however long they run, so it complements the times, it does not
replace them. ``--detail`` lists our stack's bytecodes per function.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import random
import statistics
import sys
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any, TypeVar

from benchmarks.bench_access_log import Sink, structlog_logger
from benchmarks.common import JSON_16K, JSON_100, NO_BODY, http_scope
from benchmarks.driver import record, time_batch
from benchmarks.floor_rules import RULES
from benchmarks.model import ASGIApp, Message, Scope
from benchmarks.stacks import (
    LARGE_PATH,
    LAYERS,
    REQUEST_HEADERS,
    SMALL_PATH,
    StackApp,
    floor_stack,
    mixed_stack,
    ours_stack,
    rules_stack,
)

Builder = Callable[..., ASGIApp]
#: What the "floor" columns measure: ``--against`` picks one.
_FLOORS: dict[str, Builder] = {"floor": floor_stack, "rules": rules_stack}


def _stacks(body: bytes, floor: Builder) -> dict[tuple[str, str], ASGIApp]:
    """Every row: (stack, variant) -> app, where the variant is "" (whole), "-layer" or "+layer"."""
    app = StackApp(body)
    stacks: dict[tuple[str, str], ASGIApp] = {("bare", ""): app}
    for row, build in (("ours", ours_stack), ("floor", floor)):
        stacks[row, ""] = build(app, structlog_logger(Sink()))
        for layer in LAYERS:
            others = [name for name in LAYERS if name != layer]
            stacks[row, "-" + layer] = build(app, structlog_logger(Sink()), without=(layer,))
            stacks[row, "+" + layer] = build(app, structlog_logger(Sink()), without=others)
    return stacks


def _request(large: bool) -> tuple[bytes, Scope]:  # noqa: FBT001
    body, path = (JSON_16K, LARGE_PATH) if large else (JSON_100, SMALL_PATH)
    return body, http_scope("GET", path, REQUEST_HEADERS)


Row = TypeVar("Row", str, tuple[str, str])


async def _timed(
    stacks: dict[Row, ASGIApp], scope: Scope, repeat: int, number: int, seed: int
) -> dict[Row, list[float]]:
    """Time every row ``repeat`` times, interleaved and shuffled: µs per request, per row."""
    times: dict[Row, list[float]] = {key: [] for key in stacks}
    order = list(stacks)
    rng = random.Random(seed)
    for key in order:  # warm-up
        await time_batch(stacks[key], scope, NO_BODY, number, fresh_scope=True)
    for _ in range(repeat):
        rng.shuffle(order)
        for key in order:
            gc.collect()
            elapsed = await time_batch(stacks[key], scope, NO_BODY, number, fresh_scope=True)
            times[key].append(elapsed / number / 1000)
    return times


def _paired(times: dict[Row, list[float]], first: Row, second: Row) -> float:
    """The median of ``first`` minus ``second``, repetition by repetition (µs per request)."""
    return statistics.median(a - b for a, b in zip(times[first], times[second], strict=True))


async def _time_layers(
    large: bool,  # noqa: FBT001
    repeat: int,
    number: int,
    seed: int,
    floor_builder: Builder,
) -> None:
    body, scope = _request(large)
    stacks = _stacks(body, floor_builder)
    times = await _timed(stacks, scope, repeat, number, seed)

    def cost(row: str, variant: str) -> float:
        # "-layer": the whole stack minus the stack without it; else the row minus bare.
        if variant.startswith("-"):
            first, second = (row, ""), (row, variant)
        else:
            first, second = (row, variant), ("bare", "")
        return _paired(times, first, second)

    print(f"{'µs per request':<14} {'left out of the stack':^26}   {'alone around the app':^26}")
    print(
        f"{'layer':<14} {'ours':>8} {'floor':>8} {'gap':>8}   {'ours':>8} {'floor':>8} {'gap':>8}"
    )
    for layer in LAYERS:
        left = cost("ours", "-" + layer), cost("floor", "-" + layer)
        alone = cost("ours", "+" + layer), cost("floor", "+" + layer)
        print(
            f"{layer:<14} {left[0]:8.2f} {left[1]:8.2f} {left[0] - left[1]:8.2f}   "
            f"{alone[0]:8.2f} {alone[1]:8.2f} {alone[0] - alone[1]:8.2f}"
        )
    ours, floor = cost("ours", ""), cost("floor", "")
    ratio = statistics.median(
        (o - b) / (f - b)
        for o, f, b in zip(times["ours", ""], times["floor", ""], times["bare", ""], strict=True)
    )
    print(f"{'whole stack':<14} {ours:8.2f} {floor:8.2f} {ours - floor:8.2f}   ratio {ratio:.2f}x")
    print(f"{repeat} repetitions x {number} requests per row, interleaved.")


async def _time_rules(large: bool, repeat: int, number: int, seed: int) -> None:  # noqa: FBT001
    body, scope = _request(large)
    app = StackApp(body)
    stacks: dict[str, ASGIApp] = {
        "bare": app,
        "floor": floor_stack(app, structlog_logger(Sink())),
        "floor+rules": rules_stack(app, structlog_logger(Sink())),
        "asgi-middleware": ours_stack(app, structlog_logger(Sink())),
    }
    for rule in RULES:
        kept = [other for other in RULES if other != rule]
        stacks["-" + rule] = rules_stack(app, structlog_logger(Sink()), rules=kept)
    times = await _timed(stacks, scope, repeat, number, seed)

    def paired(first: str, second: str) -> float:
        return _paired(times, first, second)

    floor = paired("floor", "bare")
    print(f"{'µs per request':<14} {'cost':>8} {'x floor':>8}")
    for rule in RULES:
        cost = paired("floor+rules", "-" + rule)
        print(f"{rule:<14} {cost:8.2f} {cost / floor:8.2f}")
    for row in ("floor", "floor+rules", "asgi-middleware"):
        overhead = paired(row, "bare")
        print(f"{row:<14} {overhead:8.2f} {overhead / floor:7.2f}x  (overhead over the bare app)")
    ours, ruled = paired("asgi-middleware", "bare"), paired("floor+rules", "bare")
    print(f"ours / floor+rules: {ours / ruled:.2f}x")
    print(f"{repeat} repetitions x {number} requests per row, interleaved.")


async def _time_swaps(large: bool, repeat: int, number: int, seed: int) -> None:  # noqa: FBT001
    body, scope = _request(large)
    app = StackApp(body)
    every = set(LAYERS)
    stacks: dict[str, ASGIApp] = {
        "bare": app,
        "ours": mixed_stack(app, structlog_logger(Sink()), ours=every),
        "rules": mixed_stack(app, structlog_logger(Sink()), ours=()),
    }
    for layer in LAYERS:
        stacks["ours-" + layer] = mixed_stack(app, structlog_logger(Sink()), ours=every - {layer})
        stacks["rules+" + layer] = mixed_stack(app, structlog_logger(Sink()), ours=(layer,))
    times = await _timed(stacks, scope, repeat, number, seed)

    def paired(first: str, second: str) -> float:
        return _paired(times, first, second)

    print(f"{'µs per request':<14} {'ours: saved by theirs':>22} {'floor+rules: cost of ours':>26}")
    for layer in LAYERS:
        saved = paired("ours", "ours-" + layer)
        added = paired("rules+" + layer, "rules")
        print(f"{layer:<14} {saved:22.2f} {added:26.2f}")
    print(f"whole: ours {paired('ours', 'bare'):.2f}, floor+rules {paired('rules', 'bare'):.2f}")
    print(f"{repeat} repetitions x {number} requests per row, interleaved.")


def _exchange() -> tuple[Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]]:
    """The cheapest receive and send for one request, as the driver's."""
    messages = [*NO_BODY, {"type": "http.disconnect"}]

    async def receive() -> Message:
        return dict(messages.pop(0)) if len(messages) > 1 else dict(messages[0])

    async def send(message: Message) -> None:
        pass

    return receive, send


def _count_opcodes(app: ASGIApp, scope: Scope) -> collections.Counter[str]:
    """Bytecodes executed to serve one request, per function (``module:function``)."""
    counts: collections.Counter[str] = collections.Counter()

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            code = frame.f_code
            module = "/".join(code.co_filename.rsplit("/", 2)[-2:])
            counts[f"{module}:{code.co_name}"] += 1
        return tracer

    async def serve() -> None:
        receive, send = _exchange()
        # Whatever traced before (coverage, a debugger) traces again afterwards.
        previous = sys.gettrace()
        sys.settrace(tracer)
        try:
            await app(dict(scope), receive, send)
        finally:
            sys.settrace(previous)

    asyncio.run(serve())
    return counts


def _opcodes(large: bool, detail: bool, floor_builder: Builder) -> None:  # noqa: FBT001
    body, scope = _request(large)
    stacks = _stacks(body, floor_builder)
    for app in stacks.values():  # warm-up: first-call caches and lazy imports
        for _ in range(3):
            asyncio.run(record(app, dict(scope), NO_BODY))
    # The bare app's own bytecodes (and the harness's) are in every row: counted once, left out.
    bare = sum(_count_opcodes(stacks["bare", ""], scope).values())
    total = {key: sum(_count_opcodes(app, scope).values()) - bare for key, app in stacks.items()}
    print(f"{'bytecodes':<14} {'left out of the stack':^26}   {'alone around the app':^26}")
    print(
        f"{'layer':<14} {'ours':>8} {'floor':>8} {'gap':>8}   {'ours':>8} {'floor':>8} {'gap':>8}"
    )
    for layer in LAYERS:
        left = [total[row, ""] - total[row, "-" + layer] for row in ("ours", "floor")]
        alone = [total[row, "+" + layer] for row in ("ours", "floor")]
        print(
            f"{layer:<14} {left[0]:8d} {left[1]:8d} {left[0] - left[1]:8d}   "
            f"{alone[0]:8d} {alone[1]:8d} {alone[0] - alone[1]:8d}"
        )
    ours, floor = total["ours", ""], total["floor", ""]
    print(f"{'whole stack':<14} {ours:8d} {floor:8d} {ours - floor:8d}   ratio {ours / floor:.2f}x")
    print(f"over the bare app's {bare} bytecodes per request")
    if detail:
        print("\nour stack, per function:")
        for name, count in _count_opcodes(stacks["ours", ""], scope).most_common():
            print(f"{count:8d}  {name}")


#: The stacks ``--serve`` can run: ``bare`` is the app alone.
_SERVED: dict[str, Builder | None] = {
    "bare": None,
    "floor": floor_stack,
    "floor+rules": rules_stack,
    "ours": ours_stack,
}


async def _serve(stack: str, large: bool, number: int) -> None:  # noqa: FBT001
    body, scope = _request(large)
    app = StackApp(body)
    build = _SERVED[stack]
    served = app if build is None else build(app, structlog_logger(Sink()))
    await time_batch(served, scope, NO_BODY, number, fresh_scope=True)
    print(f"served {app.calls} requests through {stack}")


def main(argv: list[str] | None = None) -> None:
    """Parse the options and print the per-layer table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_stack", description=__doc__)
    parser.add_argument("--large", action="store_true", help="the 16 KiB gzipped body")
    parser.add_argument("--repeat", type=int, default=31, help="repetitions (default 31)")
    parser.add_argument("--number", type=int, default=1000, help="requests per batch")
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the run order")
    parser.add_argument(
        "--against",
        choices=sorted(_FLOORS),
        default="floor",
        help="the floor columns: the plain floor (default) or the floor with the SPEC's rules",
    )
    parser.add_argument("--rules", action="store_true", help="what each SPEC rule costs")
    parser.add_argument(
        "--swap", action="store_true", help="each layer swapped between ours and floor+rules"
    )
    parser.add_argument("--opcodes", action="store_true", help="count bytecodes, do not time")
    parser.add_argument("--detail", action="store_true", help="with --opcodes: per function")
    parser.add_argument(
        "--serve",
        choices=sorted(_SERVED),
        help="only serve --number requests through one stack, for an outside profiler",
    )
    options = parser.parse_args(argv)
    if options.serve is not None:
        asyncio.run(_serve(options.serve, options.large, options.number))
    elif options.opcodes:
        _opcodes(options.large, options.detail, _FLOORS[options.against])
    elif options.rules:
        asyncio.run(_time_rules(options.large, options.repeat, options.number, options.seed))
    elif options.swap:
        asyncio.run(_time_swaps(options.large, options.repeat, options.number, options.seed))
    else:
        asyncio.run(
            _time_layers(
                options.large,
                options.repeat,
                options.number,
                options.seed,
                _FLOORS[options.against],
            )
        )


if __name__ == "__main__":
    main()
