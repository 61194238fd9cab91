"""Loading the docs' code samples (docs/examples/*.py) in tests, shared by every docs test file."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from asgi_middleware import ASGIApp

__all__ = ["EXAMPLES", "EXAMPLE_FILES", "OPTIONAL", "app_of", "load", "sibling_imports"]

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "docs" / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.py"))
# Examples that need a package outside the test dependencies: the module pytest skips without.
OPTIONAL = {"litestar_app": "litestar"}


@pytest.fixture
def sibling_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let the examples import one another (``from set_header import ...``), as under uvicorn.

    ``uvicorn raw_asgi:app --app-dir docs/examples`` puts docs/examples on ``sys.path``; so does
    this, for one test. A sibling is imported afresh in each test and dropped after it, so
    ``sys.path`` and ``sys.modules`` are left as they were. A test module that loads samples uses
    it for every test: ``pytestmark = pytest.mark.usefixtures("sibling_imports")``.
    """
    siblings = [path.stem for path in EXAMPLE_FILES]
    monkeypatch.syspath_prepend(EXAMPLES)
    for name in siblings:
        monkeypatch.delitem(sys.modules, name, raising=False)  # put back after the test
    yield
    for name in siblings:
        sys.modules.pop(name, None)  # imported during the test


def load(name: str) -> ModuleType:
    """Import docs/examples/<name>.py afresh, as ``docs_examples_<name>``, and return it.

    Each call executes the file again, so module-level state (and environment variables read at
    import) is fresh for the test that calls it.
    """
    if name in OPTIONAL:
        pytest.importorskip(OPTIONAL[name])
    module_name = f"docs_examples_{name}"
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered first, as a normal import would: pydantic resolves annotations through it.
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def app_of(module: ModuleType, attribute: str = "app") -> ASGIApp:
    """Return the ASGI app an example module exposes under ``attribute``."""
    app: ASGIApp = vars(module)[attribute]
    assert callable(app)
    return app
