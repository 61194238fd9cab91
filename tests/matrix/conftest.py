"""The matrix tier's fixtures: one server process per cell, all started at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.matrix.cells import Cell, cell_by_id
from tests.matrix.servers import CellServer, Fleet


@pytest.fixture(scope="module")
def fleet(request: pytest.FixtureRequest) -> Iterator[Fleet]:
    """The servers of the cells this module's tests use: started at once, stopped at its end."""
    ids = set()
    for item in request.session.items:
        if not isinstance(item, pytest.Function) or item.module is not request.module:
            continue
        cell = item.callspec.params.get("cell") if hasattr(item, "callspec") else None
        if isinstance(cell, Cell):
            ids.add(cell.id)
    servers = Fleet(cell_by_id(cell_id) for cell_id in sorted(ids))
    try:
        yield servers
    finally:
        servers.stop()


@pytest.fixture
def server(fleet: Fleet, cell: Cell) -> CellServer:
    """The running server of this test's cell (shared by all the cell's checks)."""
    return fleet.ready(cell)
