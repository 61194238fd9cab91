"""The conformance checks themselves: a good middleware passes, each broken one fails its check."""

from __future__ import annotations

from typing import Any

import pytest

from asgi_middleware import ASGIApp
from tests.conformance import broken, checks
from tests.conformance.checks import CHECKS, Check
from tests.conformance.reference import ReferenceMiddleware

pytestmark = pytest.mark.anyio

#: Which check catches which broken middleware.
CAUGHT_BY: list[tuple[type[Any], Check]] = [
    (broken.WrapsLifespan, checks.check_lifespan_passes_through),
    (broken.RejectsUnknownScopes, checks.check_unknown_scope_type_passes_through),
    (broken.AssumesHeaders, checks.check_start_without_headers),
    (broken.AssumesScopeHeaders, checks.check_scope_without_headers),
    (broken.AssumesListHeaders, checks.check_tuple_headers),
    (broken.AddsUpperCaseNames, checks.check_mixed_case_header_names),
    (broken.MutatesStart, checks.check_inputs_never_mutated),
    (broken.MutatesScope, checks.check_inputs_never_mutated),
    (broken.DropsUnknownMessages, checks.check_extension_messages_forwarded),
    (broken.CopiesMessages, checks.check_pathsend_forwarded),
    (broken.CopiesMessages, checks.check_zerocopysend_forwarded_when_offered),
    (broken.CopiesMessages, checks.check_websocket_messages_forwarded),
    (broken.DropsDisconnect, checks.check_disconnect_passes_through_receive),
    (broken.SwallowsExceptions, checks.check_exception_propagates),
    (broken.BuffersBody, checks.check_streaming_not_buffered),
    (broken.LeaksContextVar, checks.check_no_contextvar_leak),
    (broken.ChangesWebSocketFrames, checks.check_websocket_messages_forwarded),
    (broken.RefusesWebSockets, checks.check_websocket_messages_forwarded),
]


def _ids(pair: tuple[type[Any], Check]) -> str:
    return f"{pair[0].__name__}-{pair[1].__name__.removeprefix('check_')}"


@pytest.mark.parametrize("pair", CAUGHT_BY, ids=[_ids(pair) for pair in CAUGHT_BY])
async def test_check_catches_broken_middleware(pair: tuple[type[Any], Check]) -> None:
    """The check fails for a middleware that breaks its rule."""
    cls, check = pair
    with pytest.raises((AssertionError, KeyError, TypeError, RuntimeError)):
        await check(cls, ())


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__.removeprefix("check_") for c in CHECKS])
async def test_reference_middleware_passes(check: Check) -> None:
    """The reference middleware, the shape STYLE.md describes, passes every check."""

    def factory(app: ASGIApp) -> ASGIApp:
        return ReferenceMiddleware(app)

    await check(factory, ())


def test_every_check_has_a_broken_counterpart() -> None:
    """No check is left without a middleware that makes it fail."""
    assert {check for _, check in CAUGHT_BY} == set(CHECKS)
