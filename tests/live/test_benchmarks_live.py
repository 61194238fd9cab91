"""The benchmark harness's end-to-end mode (``benchmarks/e2e.py``) against real uvicorn processes.

The rest of the harness is tested in process in tests/integration/test_benchmarks.py.
"""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from benchmarks import bench_stack, e2e
from benchmarks.checks import expect
from benchmarks.driver import CheckFailedError
from tests.support.servers import in_ci


@pytest.mark.server
def test_e2e_check_failure_stops_before_any_load() -> None:
    """A served stack whose response fails its check aborts the run before wrk is started."""
    request = bench_stack.E2E_REQUESTS[0]
    wants_cors = expect(headers={"access-control-allow-origin": "https://app.example"})
    broken = dataclasses.replace(request, checks={"bare": wants_cors})

    with pytest.raises(CheckFailedError) as caught:
        e2e.run_e2e(("bare",), [broken], e2e.E2ESettings(), wrk="/nonexistent/wrk")

    (failure,) = caught.value.failures
    assert failure.startswith("e2e stack-100b/bare: AssertionError: header access-control")


@pytest.mark.server
@pytest.mark.skipif(
    shutil.which("wrk") is None and not in_ci(),
    reason="wrk is not installed (apt-get install wrk); under CI this test always runs",
)
def test_e2e_run_loads_the_bare_app_for_one_second() -> None:
    """A real 1 s wrk run against the bare app behind uvicorn: requests counted on both sides."""
    wrk = shutil.which("wrk")
    assert wrk is not None, "wrk is required under CI: apt-get install wrk"
    settings = e2e.E2ESettings(seconds=1, warmup=0, rounds=1, connections=2)

    result = e2e.run_e2e(("bare",), bench_stack.E2E_REQUESTS[:1], settings, wrk=wrk)

    ((run_result,),) = result.runs["stack-100b"].values()
    assert run_result.requests > 0
    assert run_result.rate > 0
    assert run_result.non_2xx == 0
    # The checked request and any still in flight when wrk stopped are served but not counted.
    assert result.counts["bare"]["app_calls"] >= run_result.requests + 1
    assert result.counts["bare"]["log_events"] == 0
