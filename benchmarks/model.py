"""What a benchmark is made of: ASGI type aliases, `Variant` and `Scenario`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

# Local, deliberately loose aliases: Starlette's classes, our own middleware and plain functions
# all fit them without casts, and the harness never depends on `asgi_middleware` internals.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]
Factory = Callable[[ASGIApp], ASGIApp]
Check = Callable[[list[Message]], None]
Probe = Callable[[ASGIApp, Scope, tuple[Message, ...]], Awaitable[Mapping[str, str]]]
"""Serves one extra, untimed request and returns named figures to print under the table."""

BARE = "bare"
"""Name of the row that times the scenario's app without any middleware."""


EVENT_LOOPS = ("asyncio", "trio")
"""The event loops a scenario can run in."""


def unwrapped(app: ASGIApp) -> ASGIApp:
    """Return ``app`` itself: the factory of the ``bare`` row.

    Args:
        app: The scenario's bare application.

    Returns:
        The same application, unwrapped.
    """
    return app


@dataclass(frozen=True, slots=True)
class Variant:
    """One implementation timed in a scenario.

    Args:
        name: Row label, unique within the scenario (``bare`` is reserved).
        factory: Wraps the scenario's bare app, e.g. ``lambda app: CORSMiddleware(app, ...)``.
            Called once per run; the returned app serves every request.
        check: Inspects the messages sent for one request and raises `AssertionError` or
            `ValueError` with a readable message if the response is not what this
            implementation is supposed to produce.
        note: Short text shown in the table's note column (e.g. ``baseline, not middleware``).
    """

    name: str
    factory: Factory
    check: Check
    note: str = ""


@dataclass(frozen=True, slots=True)
class Scenario:
    """One request shape, answered by a bare app, timed bare and behind each variant.

    Args:
        name: Identifier used by ``--scenario`` and in the report.
        description: One line saying what the request exercises.
        app: The bare ASGI application. It must build fresh message dicts and header lists for
            every response, because some middleware edit them in place.
        scope: The HTTP scope, built once and shared by every request of the run.
        request: Messages ``receive`` returns in order, before ``http.disconnect``.
        bare_check: Check for the bare app's own response.
        reference: Name of the variant whose overhead the others are compared with.
        variants: The wrapped implementations, in display order.
        probe: Optional. After timing, called once per implementation with its app, a copy of
            the scope and the request; the figures it returns (peak traced memory, time to
            first output, ...) are printed under the table, one line per implementation.
        fresh_scope: Hand every request a shallow copy of ``scope``, as a server builds a new
            scope per request, instead of the shared dict. For scenarios with a row that
            assigns to the scope it is given (asgi-correlation-id replaces ``scope["headers"]``);
            every row, ``bare`` included, pays the copy, so overheads are unaffected.
        event_loop: ``"asyncio"`` (the default) or ``"trio"``: the event loop every request of
            the scenario runs in, validation and probe included.

    Raises:
        ValueError: If names clash, ``bare`` is used as a variant name, ``reference`` names
            no variant, or ``event_loop`` is neither ``"asyncio"`` nor ``"trio"``.
    """

    name: str
    description: str
    app: ASGIApp
    scope: Scope
    request: tuple[Message, ...]
    bare_check: Check
    reference: str
    variants: tuple[Variant, ...]
    probe: Probe | None = None
    fresh_scope: bool = False
    event_loop: str = "asyncio"

    def __post_init__(self) -> None:
        if self.event_loop not in EVENT_LOOPS:
            msg = f"scenario {self.name!r}: event_loop must be one of {EVENT_LOOPS!r}"
            raise ValueError(msg)
        names = [variant.name for variant in self.variants]
        if BARE in names:
            msg = f"scenario {self.name!r}: {BARE!r} is reserved for the unwrapped app"
            raise ValueError(msg)
        if len(set(names)) != len(names):
            msg = f"scenario {self.name!r}: duplicate variant names in {names!r}"
            raise ValueError(msg)
        if self.reference not in names:
            msg = f"scenario {self.name!r}: reference {self.reference!r} is not one of {names!r}"
            raise ValueError(msg)

    def implementations(self) -> tuple[Variant, ...]:
        """Return the bare row followed by the variants, in display order.

        Returns:
            ``bare`` (wrapping nothing, checked with ``bare_check``) and then every variant.
        """
        return (Variant(BARE, unwrapped, self.bare_check), *self.variants)
