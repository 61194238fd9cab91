"""The matrix's table: built right from JUnit XML, and the one in the docs covers every cell."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.matrix.cells import CELLS, CHECKS, WEBSOCKET_CHECKS, Cell
from tests.matrix.report import HEADER, main, read_results, render

DOCS_TABLE = Path(__file__).resolve().parent.parent.parent / "docs" / "matrix-table.md"

_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="tests.matrix.test_matrix" name="test_metrics[uvicorn-raw_asgi]"/>
<testcase classname="tests.matrix.test_matrix" name="test_streaming[uvicorn-raw_asgi]"/>
<testcase classname="tests.matrix.test_matrix" name="test_metrics[daphne-quart_app]">
  <skipped type="pytest.xfail" message="upstream bug, see link"/>
</testcase>
<testcase classname="tests.matrix.test_matrix" name="test_streaming[daphne-quart_app]"/>
<testcase classname="tests.matrix.test_matrix" name="test_metrics[granian-django_app]">
  <failure message="assert 0 == 1">trace</failure>
</testcase>
<testcase classname="tests.matrix.test_matrix" name="test_streaming[granian-django_app]">
  <error message="fixture failed">trace</error>
</testcase>
<testcase classname="tests.matrix.test_report" name="test_something_else"/>
</testsuite></testsuites>
"""


def _table_rows(text: str) -> list[str]:
    return re.findall(r"^\| `([^`]+)` \|", text, flags=re.MULTILINE)


@pytest.fixture
def junit(tmp_path: Path) -> Path:
    """A small JUnit XML file: a passing cell, one with an xfail, one with failures."""
    path = tmp_path / "matrix.xml"
    path.write_text(_JUNIT, encoding="utf-8")
    return path


def test_docs_table_has_every_cell() -> None:
    """docs/matrix-table.md has one row per declared cell, in order, and no other."""
    text = DOCS_TABLE.read_text(encoding="utf-8")
    assert text.startswith(HEADER)
    assert _table_rows(text) == [cell.id for cell in CELLS]


def test_docs_table_has_no_failure() -> None:
    """The published run had no failing check: every mark is a pass or an explained xfail."""
    text = DOCS_TABLE.read_text(encoding="utf-8")
    assert "❌" not in text
    assert "not run" not in text


def test_read_results(junit: Path) -> None:
    """Each outcome lands in its cell: passed, xfailed with its reason, failed (errors too)."""
    results = read_results(junit)
    assert set(results) == {"uvicorn-raw_asgi", "daphne-quart_app", "granian-django_app"}
    assert sorted(results["uvicorn-raw_asgi"].passed) == ["metrics", "streaming"]
    assert results["daphne-quart_app"].xfailed == {"metrics": "upstream bug, see link"}
    assert sorted(results["granian-django_app"].failed) == ["metrics", "streaming"]


def test_render_marks_and_footnotes(junit: Path) -> None:
    """One mark per cell, xfail reasons as numbered footnotes, failures named."""
    table = render(read_results(junit))
    assert "| uvicorn | ✅ |" in table
    assert "⚠️ [1]" in table
    assert "❌" in table
    assert "| `daphne-quart_app` | 1 | `metrics` [1] | - |" in table
    assert "| `granian-django_app` | 0 | - | `metrics`, `streaming` |" in table
    assert "[1] upstream bug, see link" in table
    assert "| `uvicorn-channels_app` | 0 | - | - |" in table  # declared, not in this run
    assert _table_rows(table) == [cell.id for cell in CELLS]


def test_render_subset_leaves_other_pairs_empty() -> None:
    """Pairs outside the matrix are empty; a declared cell without results is 'not run'."""
    cells = (Cell("uvicorn", "raw_asgi"), Cell("daphne", "raw_asgi"))
    table = render({}, cells)
    assert "| uvicorn | not run |" in table
    assert "| granian |  |" in table


def test_main_exit_status(junit: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The script writes the table it prints, and exits 1 because a check failed."""
    output = tmp_path / "table.md"
    assert main([str(junit), "--output", str(output)]) == 1
    assert capsys.readouterr().out == output.read_text(encoding="utf-8")


def test_main_exit_status_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without failures (xfails included), main exits 0 and writes nothing unasked."""
    path = tmp_path / "clean.xml"
    path.write_text(
        _JUNIT.split('name="test_metrics[granian', maxsplit=1)[0].rsplit("<testcase", 1)[0]
        + "</testsuite></testsuites>\n",
        encoding="utf-8",
    )
    assert main([str(path)]) == 0
    assert "⚠️ [1]" in capsys.readouterr().out


def test_websocket_checks_are_declared() -> None:
    """Every WebSocket check is among the checks; Django alone opts out of them."""
    assert WEBSOCKET_CHECKS.issubset(CHECKS)
    assert {cell.framework for cell in CELLS if cell.not_applicable} == {"django_app"}
