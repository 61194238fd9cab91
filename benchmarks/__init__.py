"""In-process benchmarks: per-request overhead of ASGI middleware over the bare app.

Run ``python -m benchmarks --help`` (or ``nox -s bench``); see ``benchmarks/README.md``.

The driver, model and checks import nothing from ``asgi_middleware``, so the harness keeps working
while the library changes underneath it. Our middleware joins as one ``Variant`` per scenario in
``benchmarks/bench_<area>.py``, the only modules that will import it.
"""
