"""In-process benchmarks: per-request overhead of ASGI middleware over the bare app.

Run ``python -m benchmarks --help`` (or ``nox -s bench``); see ``benchmarks/README.md``.

The harness deliberately imports nothing from ``asgi_middleware``'s private modules, so it keeps
working while the library changes underneath it; our middleware joins as one ``Variant`` per scenario
in ``benchmarks/scenarios.py``.
"""
