"""The package's layout rules (docs/development.md, Architecture), checked on its source."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import asgi_middleware
from asgi_middleware import _kit

PACKAGE = Path(asgi_middleware.__file__).parent
#: The public middleware packages and modules; each owns its private helpers.
PUBLIC = (
    "access_log",
    "auth",
    "body_limit",
    "compose",
    "compression",
    "cors",
    "https_redirect",
    "metrics",
    "proxy_headers",
    "rate_limit",
    "request_id",
    "security_headers",
    "timeout",
    "timing",
    "trusted_host",
)
#: The modules whose ``__all__`` is the public API.
PUBLIC_MODULES = (
    "asgi_middleware",
    *(f"asgi_middleware.{name}" for name in PUBLIC),
    "asgi_middleware.auth.backends",
    "asgi_middleware.auth.jwt",
    "asgi_middleware.rate_limit.keys",
    "asgi_middleware.rate_limit.policies",
    "asgi_middleware.rate_limit.stores",
    "asgi_middleware.request_id.generators",
    "asgi_middleware.security_headers.csp",
)


def owner(module: str) -> str:
    """The part of the package a module belongs to: ``cors``, ``_kit``, or ``""`` for the root."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports() -> list[tuple[str, str, list[str]]]:
    """Every ``from asgi_middleware... import ...`` in the package: (importer, module, names)."""
    found: list[tuple[str, str, list[str]]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        importer = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [(importer, alias.name, []) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((importer, node.module, [alias.name for alias in node.names]))
    return [item for item in found if item[1].split(".")[0] == "asgi_middleware"]


def test_no_public_package_imports_another() -> None:
    """A middleware package never imports another one, and the kit imports none at all."""
    crossing = [
        (importer, module)
        for importer, module, _ in imports()
        if owner(importer) != owner(module)
        and owner(module) in PUBLIC
        and (owner(importer) in PUBLIC or owner(importer) == "_kit")
    ]

    assert crossing == []


def test_no_private_name_is_imported_across_owners() -> None:
    """Private modules and names are imported only by their own package (the kit's by all)."""
    crossing = [
        (importer, module, names)
        for importer, module, names in imports()
        if owner(importer) != owner(module)
        and (
            any(name.startswith("_") for name in names)
            or any(part.startswith("_") and part != "_kit" for part in module.split(".")[1:])
        )
    ]

    assert crossing == []


def public_objects() -> list[tuple[str, object]]:
    """Every public class and function, once, with the name it is exported under."""
    seen: dict[object, str] = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            value = getattr(module, name)
            # Type aliases (Scope, Send, ...) are classes to inspect on Python 3.10; only what
            # the package defines itself carries the version line.
            defined_here = getattr(value, "__module__", "").startswith("asgi_middleware")
            kind = inspect.isclass(value) or inspect.isfunction(value)
            if kind and defined_here and value not in seen:
                seen[value] = f"{module_name}.{name}"
    return [(name, value) for value, name in seen.items()]


@pytest.mark.parametrize(("name", "value"), public_objects(), ids=[n for n, _ in public_objects()])
def test_public_docstrings_end_with_the_version_added(name: str, value: object) -> None:
    """STYLE's one form: "Added in version X.Y." as the last line of a public docstring."""
    lines = (inspect.getdoc(value) or "").strip().splitlines()

    assert lines, f"{name} has no docstring"
    assert lines[-1] == "Added in version 0.1.0."


def test_the_kit_docstring_names_every_kit_module() -> None:
    """``_kit/__init__.py`` describes each module of the kit, a new one included."""
    modules = {path.stem for path in Path(_kit.__file__).parent.glob("*.py")} - {"__init__"}

    assert {module for module in modules if f"``{module}``" not in (_kit.__doc__ or "")} == set()
