"""Shared fixtures: the anyio backends, the live-server and browser fixtures, and the CI guard."""

from __future__ import annotations

import os

import pytest

# The kit's fixtures, found by name in every tier (never imported into a test module).
pytest_plugins = [
    "tests.support.logs",
    "tests.support.samples",
    "tests.support.servers",
    "tests.support.redis_servers",  # after servers, which it imports
]

#: Under CI every test must run: a skip there means a tier silently stopped being tested.
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run every ``@pytest.mark.anyio`` test under asyncio and under trio."""
    backend: str = request.param
    return backend


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Under CI, report the skipped tests as the reason the run fails."""
    skipped = terminalreporter.stats.get("skipped", [])
    if IN_CI and skipped:
        terminalreporter.write_line(
            f"CI=true: {len(skipped)} test(s) skipped; every test must run in CI.", red=True
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI, fail the run when any test was skipped."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if IN_CI and reporter is not None and reporter.stats.get("skipped") and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
