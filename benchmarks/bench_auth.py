"""auth scenarios; filled in when the middleware lands."""

from __future__ import annotations

from benchmarks.model import Scenario

SCENARIOS: tuple[Scenario, ...] = ()
