"""One ASGI app module per framework, each behind the whole recommended stack.

Every module exposes ``app`` and serves the same endpoints (see :mod:`tests.matrix.stack`).
"""
