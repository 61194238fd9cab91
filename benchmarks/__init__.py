"""In-process benchmarks: per-request overhead of ASGI middleware over the bare app.

Run ``python -m benchmarks --help`` (or ``nox -s bench``); see ``benchmarks/README.md``.

The driver, model and checks import nothing from ``asgi_middleware``, so the harness keeps working
while the library changes underneath it. Our middleware joins as one ``Variant`` per scenario in
``benchmarks/bench_<area>.py``, and as the whole stack in ``benchmarks/stacks.py``: the only
modules that import it. ``floor.py`` holds the hand-written reference classes, ``e2e.py`` the
end-to-end run (uvicorn and wrk).
"""
