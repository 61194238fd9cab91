"""The kit: what several middleware share, and nothing that only one of them uses.

``types`` (the ASGI aliases), ``config`` (option validation), ``origins`` (parsing origins and
hosts), ``headers`` (reading and writing raw header lists), ``paths`` (anchored path matching),
``threads`` (worker threads under asyncio and trio), ``context`` (request facts every layer
agrees on: the request ID's contextvar, structlog bindings, cancellation) and ``tracker`` (when a
response is finished and how its durations are rounded, for the access log and timing). A helper
used by one middleware lives in that middleware's package.
"""
