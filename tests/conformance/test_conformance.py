"""SPEC §2 conformance: every registered middleware against every check."""

from __future__ import annotations

import pytest

from tests.conformance.checks import CHECKS, Check, check_scope_without_headers
from tests.conformance.registry import CASES, Case

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
@pytest.mark.parametrize(
    "check", CHECKS, ids=[check.__name__.removeprefix("check_") for check in CHECKS]
)
async def test_conformance(case: Case, check: Check) -> None:
    """The middleware keeps the rule the check names (see the check's docstring)."""
    if check is check_scope_without_headers:
        await check_scope_without_headers(
            case.factory, case.request_headers, status=case.without_headers_status
        )
    else:
        await check(case.factory, case.request_headers)
