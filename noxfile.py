"""Development sessions: ``nox -l`` lists them; plain ``nox`` runs all but ``bench``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "typecheck", "tests", "docs", "examples"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
SUPPORTED = ("3.10", "3.11", "3.12", "3.13")


def _pyenv_versions() -> list[str]:
    """Every pyenv-installed CPython in the supported range, e.g. ``3.12.1``."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if not root.is_dir():
        return []
    return sorted(
        path.name
        for path in root.iterdir()
        if any(path.name.startswith(f"{minor}.") for minor in SUPPORTED)
    )


def _found_pythons() -> list[str]:
    """The supported Pythons this machine can run, so ``tests`` covers every one found.

    pyenv's shims answer only for the versions selected; selecting all installed ones through
    PYENV_VERSION makes ``python3.X`` work for each.
    """
    versions = _pyenv_versions()
    if versions and "PYENV_VERSION" not in os.environ:
        os.environ["PYENV_VERSION"] = ":".join(versions)
    found = []
    for minor in SUPPORTED:
        executable = shutil.which(f"python{minor}")
        if executable is None:
            continue
        probe = subprocess.run([executable, "-V"], capture_output=True, check=False)  # noqa: S603
        if probe.returncode == 0:
            found.append(minor)
    return found or [SUPPORTED[-1]]


PYTHONS = _found_pythons()


def _install(session: nox.Session, *groups: str) -> None:
    session.install("--upgrade", "pip>=25.1")
    session.install("-e", ".[all]", *(f"--group={group}" for group in groups))


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the whole test suite (coverage at 100% branches) on every Python found."""
    _install(session, "test")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Run mypy --strict over the package, tests, examples, benchmarks and this file."""
    _install(session, "typecheck")
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site with ``mkdocs build --strict``."""
    _install(session, "docs")
    session.run(
        "mkdocs", "build", "--strict", "--site-dir", str(Path(session.create_tmp()) / "site")
    )


@nox.session
def examples(session: nox.Session) -> None:
    """Run the tests that import and exercise every example and docs sample."""
    _install(session, "test")
    session.run(
        "python",
        "-m",
        "pytest",
        "--no-cov",
        "tests/integration/test_examples.py",
        "tests/live/test_examples_live.py",
        "tests/integration/test_docs_examples.py",
    )


@nox.session
def matrix(session: nox.Session) -> None:
    """Run the interoperability matrix (tests/matrix) and print its pass/fail table.

    Every server (uvicorn, hypercorn, granian, daphne) with a Starlette app and every framework
    under uvicorn, the whole stack in front; the table goes to docs/matrix-table.md, which
    docs/matrix.md shows. Extra arguments go to pytest (``nox -s matrix -- -k daphne``).
    """
    _install(session, "test")  # the test group holds the four servers and the frameworks
    results = Path(session.create_tmp()) / "matrix.xml"
    # --no-cov: the servers are subprocesses, and the tier alone covers nothing of the package.
    session.run(
        "python", "-m", "pytest", "--no-cov", "-p", "no:cacheprovider", f"--junitxml={results}",
        "tests/matrix", *session.posargs, success_codes=[0, 1],
    )  # fmt: skip
    session.run(
        "python", "-m", "tests.matrix.report", str(results), "--output", "docs/matrix-table.md"
    )


WRK_HINT = (
    "wrk is not installed: the end-to-end run (--e2e) will be skipped. Install it with "
    "`sudo apt-get install wrk` (Debian, Ubuntu) or `brew install wrk` (macOS)."
)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmark every middleware against the bare app and its peers (see benchmarks/README.md).

    ``nox -s bench -- --e2e`` serves the whole stacks with uvicorn and loads them with wrk
    instead; ``-- --quick`` makes either run short.
    """
    _install(session, "bench")
    if "--e2e" in session.posargs:
        # The end-to-end run's server, as deployments install it (uvloop and httptools).
        session.install("uvicorn[standard]>=0.30")
        if shutil.which("wrk") is None:
            session.warn(WRK_HINT)
    session.run("python", "-m", "benchmarks", *session.posargs)
