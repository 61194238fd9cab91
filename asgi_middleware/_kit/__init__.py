"""The kit: what several middleware share, and nothing that only one of them uses.

One module per shared job: ``types`` (the ASGI aliases and the events the package builds),
``config`` (option validation), ``headers`` (reading and writing raw header lists), ``responses``
(complete replies and WebSocket refusals a middleware sends by itself), ``tracker`` (when a response
is finished and how its durations are rounded, for the access log and timing), ``origins`` (parsing
origins and hosts), ``hosts`` (a request's ``Host`` field, allowed-host patterns and redirect URLs),
``paths`` (anchored path matching and per-path options), ``order`` (the order the layers belong
in, checked by ``compose`` and when each layer is built), ``threads`` (worker threads under asyncio
and trio) and ``context`` (request facts every layer agrees on: the request ID's contextvar,
structlog bindings, cancellation). A helper used by one middleware lives in that middleware's
package.
"""
