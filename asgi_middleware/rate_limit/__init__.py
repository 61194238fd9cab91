"""Rate limiting: GCRA or a sliding window per key, in memory or shared (SPEC §14).

``middleware`` holds the middleware; ``policies`` the ``RateLimit`` policy value and the
``Decision`` a store returns; ``keys`` the key functions; ``stores`` the ``Store`` protocol and
``MemoryStore``. ``_algorithms`` holds the arithmetic every store shares and ``_headers`` the
``RateLimit`` and ``RateLimit-Policy`` fields.
"""

from __future__ import annotations

from asgi_middleware.rate_limit.keys import KeyFunction, api_key, client_address, route, user
from asgi_middleware.rate_limit.middleware import RateLimitMiddleware
from asgi_middleware.rate_limit.policies import Decision, RateLimit
from asgi_middleware.rate_limit.redis_store import RedisStore
from asgi_middleware.rate_limit.stores import MemoryStore, Store

__all__ = [
    "Decision",
    "KeyFunction",
    "MemoryStore",
    "RateLimit",
    "RateLimitMiddleware",
    "RedisStore",
    "Store",
    "api_key",
    "client_address",
    "route",
    "user",
]
