"""Validate every implementation, then time them interleaved in one event loop.

The flow of `run`:

1. Build each implementation's app once (``variant.factory(scenario.app)``) and send it
   `VALIDATION_REQUESTS` requests with a recording ``send``; the variant's ``check`` runs on each
   response. Every failure in every scenario is collected, and `CheckFailedError` is raised before
   anything is timed, so a misconfigured no-op middleware can never post a flattering number.
2. Per scenario: pick the batch size (``--number`` or calibrated so the slowest implementation's
   batch lasts about ``batch_seconds``), run one warm-up batch per implementation, then for each
   repetition time one batch per implementation in a freshly shuffled order.

Scenarios run in the event loop they name (asyncio or trio), one loop per kind for the whole run.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from benchmarks.model import EVENT_LOOPS, ASGIApp, Message, Scenario, Scope, Variant

_T = TypeVar("_T")

VALIDATION_REQUESTS = 2
"""Requests checked per implementation; the second catches state leaking out of the first."""

_CALIBRATION_LIMIT = 1 << 20
_CALIBRATION_BATCHES = 3


@dataclass(frozen=True, slots=True)
class Settings:
    """How much to measure.

    Args:
        repeat: Timed batches per implementation (repetitions); the report shows their median.
        number: Requests per batch, or ``None`` to calibrate per scenario.
        batch_seconds: Calibration target: the slowest implementation's batch lasts about this long.
        seed: Seed of the `random.Random` that shuffles the order of each repetition.
    """

    repeat: int
    number: int | None
    batch_seconds: float
    seed: int

    def __post_init__(self) -> None:
        if self.repeat < 1:
            msg = f"repeat must be at least 1, got {self.repeat!r}"
            raise ValueError(msg)
        if self.number is not None and self.number < 1:
            msg = f"number must be at least 1, got {self.number!r}"
            raise ValueError(msg)
        if not self.batch_seconds > 0:
            msg = f"batch_seconds must be positive, got {self.batch_seconds!r}"
            raise ValueError(msg)


class CheckFailedError(Exception):
    """One or more implementations produced a wrong response; nothing was timed.

    Args:
        failures: One line per failed check, ``scenario/implementation: reason``.
    """

    def __init__(self, failures: Sequence[str]) -> None:
        self.failures = tuple(failures)
        super().__init__("\n".join(self.failures))


@dataclass(frozen=True, slots=True)
class Timing:
    """Raw measurements of one implementation in one scenario.

    Args:
        name: Implementation name (``bare`` or a variant name).
        note: The variant's note.
        batch_ns: Wall time of each timed batch, in repetition order.
        number: Requests per batch.
    """

    name: str
    note: str
    batch_ns: tuple[int, ...]
    number: int

    @property
    def per_request_ns(self) -> tuple[float, ...]:
        """Nanoseconds per request for each repetition, in repetition order."""
        return tuple(batch / self.number for batch in self.batch_ns)


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """Everything measured for one scenario.

    Args:
        name: Scenario name.
        description: Scenario description.
        reference: Name of the reference variant.
        number: Requests per batch.
        repeat: Repetitions.
        timings: One entry per implementation, ``bare`` first, in display order.
        orders: The shuffled run order of each repetition.
        warnings: Oddities seen during validation that do not invalidate the numbers.
        probes: What the scenario's probe reported, ``(implementation, ((figure, value), ...))``
            in display order; empty when the scenario has no probe.
    """

    name: str
    description: str
    reference: str
    number: int
    repeat: int
    timings: tuple[Timing, ...]
    orders: tuple[tuple[str, ...], ...]
    warnings: tuple[str, ...]
    probes: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    def timing(self, name: str) -> Timing:
        """Return the measurements of one implementation.

        Args:
            name: Implementation name.

        Returns:
            Its `Timing`.

        Raises:
            KeyError: If the scenario has no such implementation.
        """
        for timing in self.timings:
            if timing.name == name:
                return timing
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class _Prepared:
    scenario: Scenario
    apps: tuple[tuple[Variant, ASGIApp], ...]
    failures: tuple[str, ...]
    warnings: tuple[str, ...]


class _ScriptedReceive:
    """``receive`` for one request: the scripted messages, then ``http.disconnect`` forever."""

    __slots__ = ("_index", "_request")

    def __init__(self, request: tuple[Message, ...]) -> None:
        self._request = request
        self._index = 0

    async def __call__(self) -> Message:
        index = self._index
        if index < len(self._request):
            self._index = index + 1
            # A copy, so a middleware that edits a received message cannot change the next request.
            return dict(self._request[index])
        return {"type": "http.disconnect"}


async def _discard(message: Message) -> None:
    """``send`` used while timing: the cheapest possible server."""


async def record(app: ASGIApp, scope: Scope, request: tuple[Message, ...]) -> list[Message]:
    """Serve one request and return what the app sent.

    Args:
        app: The application to call.
        scope: The request scope.
        request: Messages for ``receive``.

    Returns:
        Deep copies of the sent messages, taken at send time.
    """
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(copy.deepcopy(message))

    await app(scope, _ScriptedReceive(request), send)
    return sent


async def time_batch(
    app: ASGIApp,
    scope: Scope,
    request: tuple[Message, ...],
    number: int,
    *,
    fresh_scope: bool = False,
) -> int:
    """Time ``number`` sequential requests inside this coroutine.

    The clock is read twice per batch, so its cost is paid once per batch, not per request, and
    the requests run back to back in this coroutine with no trip through the event loop unless
    the app itself yields. The garbage collector stays enabled: collecting what a middleware
    allocates is part of its cost.

    Args:
        app: The application to call.
        scope: The request scope, shared by all requests.
        request: Messages for ``receive``.
        number: Requests in the batch.
        fresh_scope: Give each request ``dict(scope)`` instead of ``scope`` itself.

    Returns:
        Elapsed nanoseconds.
    """
    send = _discard
    receive = _ScriptedReceive
    if fresh_scope:
        # A separate loop, so the shared-scope loop below stays exactly as lean as before.
        start = time.perf_counter_ns()
        for _ in range(number):
            await app(dict(scope), receive(request), send)
        return time.perf_counter_ns() - start
    start = time.perf_counter_ns()
    for _ in range(number):
        await app(scope, receive(request), send)
    return time.perf_counter_ns() - start


def _describe(error: BaseException) -> str:
    text = str(error).strip() or "(no message)"
    return f"{type(error).__name__}: {text}"


async def _prepare(scenario: Scenario) -> _Prepared:
    apps: list[tuple[Variant, ASGIApp]] = []
    failures: list[str] = []
    warnings: list[str] = []
    for variant in scenario.implementations():
        label = f"{scenario.name}/{variant.name}"
        try:
            app = variant.factory(scenario.app)
        except Exception as error:  # noqa: BLE001 - reported with the other failures below
            failures.append(f"{label}: factory raised {_describe(error)}")
            continue
        for attempt in range(1, VALIDATION_REQUESTS + 1):
            scope = copy.deepcopy(scenario.scope)
            # With fresh_scope the app gets a shallow copy, as when timed: only edits of the
            # shared values inside it (the header list, say) then reach `scope`.
            served = dict(scope) if scenario.fresh_scope else scope
            try:
                variant.check(await record(app, served, scenario.request))
            except Exception as error:  # noqa: BLE001 - a crash is as disqualifying as a wrong answer
                failures.append(f"{label}: request {attempt} failed its check: {_describe(error)}")
                break
            if scope != scenario.scope and attempt == 1:
                # Timed requests share one scope object, so in-place edits carry over.
                warnings.append(f"{variant.name} modifies the request scope in place")
        apps.append((variant, app))
    return _Prepared(scenario, tuple(apps), tuple(failures), tuple(warnings))


def _round_down_nicely(value: float) -> int:
    """Round down to 1, 2 or 5 times a power of ten, so batch sizes read well in the footer."""
    if value < 1:
        return 1
    # Digit count rather than math.log10, which is inexact near powers of ten.
    power: int = 10 ** (len(str(int(value))) - 1)
    for mantissa in (5, 2):
        if mantissa * power <= value:
            return mantissa * power
    return power


def _batch(scenario: Scenario, app: ASGIApp, number: int) -> Awaitable[int]:
    return time_batch(
        app, scenario.scope, scenario.request, number, fresh_scope=scenario.fresh_scope
    )


async def _calibrate(prepared: _Prepared, target_ns: float) -> int:
    # Doubling batches double as a first warm-up; stop at a quarter of the target to save time.
    scenario = prepared.scenario
    slowest = 0.0
    for _, app in prepared.apps:
        number = 1
        while True:
            gc.collect()
            elapsed = await _batch(scenario, app, number)
            if elapsed * 4 >= target_ns or number >= _CALIBRATION_LIMIT:
                break
            number *= 2
        # The fastest of a few batches: one slowed down by a neighbour would shrink every batch.
        for _ in range(_CALIBRATION_BATCHES - 1):
            gc.collect()
            elapsed = min(elapsed, await _batch(scenario, app, number))
        slowest = max(slowest, elapsed / number)
    return _round_down_nicely(target_ns / max(slowest, 1.0))


async def _measure(prepared: _Prepared, settings: Settings, rng: random.Random) -> ScenarioResult:
    scenario = prepared.scenario
    if settings.number is None:
        number = await _calibrate(prepared, settings.batch_seconds * 1e9)
    else:
        number = settings.number
    entries = list(prepared.apps)
    rng.shuffle(entries)
    for _, app in entries:
        gc.collect()
        await _batch(scenario, app, number)

    batches: dict[str, list[int]] = {variant.name: [] for variant, _ in prepared.apps}
    orders: list[tuple[str, ...]] = []
    for _ in range(settings.repeat):
        # A fresh order each repetition spreads drift (thermal, other processes) over all rows.
        rng.shuffle(entries)
        orders.append(tuple(variant.name for variant, _ in entries))
        for variant, app in entries:
            gc.collect()
            elapsed = await _batch(scenario, app, number)
            batches[variant.name].append(elapsed)

    timings = tuple(
        Timing(variant.name, variant.note, tuple(batches[variant.name]), number)
        for variant, _ in prepared.apps
    )
    probes: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    if scenario.probe is not None:
        # After the timed batches, so the probe's instrumentation never slows a measurement.
        for variant, app in prepared.apps:
            gc.collect()
            figures = await scenario.probe(app, copy.deepcopy(scenario.scope), scenario.request)
            probes.append((variant.name, tuple(figures.items())))
    return ScenarioResult(
        name=scenario.name,
        description=scenario.description,
        reference=scenario.reference,
        number=number,
        repeat=settings.repeat,
        timings=timings,
        orders=tuple(orders),
        warnings=prepared.warnings,
        probes=tuple(probes),
    )


async def _validate(scenarios: Sequence[Scenario]) -> list[str]:
    return [failure for scenario in scenarios for failure in (await _prepare(scenario)).failures]


async def _run(
    scenarios: Sequence[Scenario],
    settings: Settings,
    rng: random.Random,
    on_result: Callable[[ScenarioResult], None] | None,
    failures_elsewhere: Sequence[str],
) -> list[ScenarioResult]:
    # Prepared and timed in one loop: a scenario's app may hold loop-bound resources (Redis).
    prepared = [await _prepare(scenario) for scenario in scenarios]
    failures = [*failures_elsewhere, *(failure for item in prepared for failure in item.failures)]
    if failures:
        raise CheckFailedError(failures)
    results: list[ScenarioResult] = []
    for item in prepared:
        result = await _measure(item, settings, rng)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def _in_loop(event_loop: str, func: Callable[..., Awaitable[_T]], *args: object) -> _T:
    """Run ``func(*args)`` to completion in a new event loop of the kind named."""
    if event_loop == "trio":
        import trio  # noqa: PLC0415 - only scenarios that ask for trio need it installed

        result: _T = trio.run(func, *args)
        return result
    return asyncio.run(func(*args))  # type: ignore[arg-type]


def run(
    scenarios: Sequence[Scenario],
    settings: Settings,
    *,
    on_result: Callable[[ScenarioResult], None] | None = None,
) -> list[ScenarioResult]:
    """Validate every implementation of every scenario, then time them all.

    The scenarios of each event loop (``Scenario.event_loop``) run in one loop of that kind,
    asyncio's first, so loop start-up never lands in a measurement; every scenario is
    validated, in its own loop, before any is timed.

    Args:
        scenarios: What to run, in order (asyncio's, then trio's).
        settings: Repetitions, batch size, seed.
        on_result: Called with each scenario's result as soon as it is measured.

    Returns:
        One result per scenario, in the order they ran.

    Raises:
        CheckFailedError: If any implementation's response failed its check (or its factory or
            app raised); raised before any timing starts.
        ValueError: If scenario names are not unique.
    """
    names = [scenario.name for scenario in scenarios]
    if len(set(names)) != len(names):
        msg = f"scenario names must be unique, got {names!r}"
        raise ValueError(msg)
    by_loop = {
        event_loop: [scenario for scenario in scenarios if scenario.event_loop == event_loop]
        for event_loop in EVENT_LOOPS
    }
    rng = random.Random(settings.seed)
    # trio's scenarios are validated first, in a loop of their own, so that nothing is timed
    # before every scenario of every loop has passed its checks; they are prepared again below.
    failures = _in_loop("trio", _validate, by_loop["trio"]) if by_loop["trio"] else []
    results = _in_loop("asyncio", _run, by_loop["asyncio"], settings, rng, on_result, failures)
    if by_loop["trio"]:
        results += _in_loop("trio", _run, by_loop["trio"], settings, rng, on_result, ())
    return results
