"""The kit: what several middleware share, and nothing that only one of them uses.

``types`` (the ASGI aliases), ``config`` (option validation), ``headers`` (reading and writing raw
header lists), ``paths`` (anchored path matching), ``threads`` (worker threads under asyncio and
trio) and ``context`` (request facts every layer agrees on: the request ID's contextvar, structlog
bindings, cancellation). A helper used by one middleware lives in that middleware's package.
"""
