"""The header fields of draft-ietf-httpapi-ratelimit-headers-11, and the legacy trio.

``RateLimit-Policy`` (§3) is a List of Items, one per policy: the policy's name as an sf-string
with the parameters ``q`` (the quota, an Integer) and ``w`` (the window in whole seconds, an
Integer; sub-second windows are not expressible, so ``w`` is left out for them, as the draft
allows). ``RateLimit`` (§4) is a List with one Item per policy: ``r`` (the available quota, an
Integer) and ``t`` (the effective window, an Integer in delay-seconds, never a timestamp).
Neither carries ``pk``: the partition key would echo what the server keys a client on.
Names are tokens (``policies.py``), so quoting one needs no escapes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from asgi_middleware.rate_limit.policies import Decision, RateLimit

__all__ = ["legacy_fields", "policy_item", "retry_after", "service_items"]


def policy_item(policy: RateLimit) -> bytes:
    """The policy's Item of ``RateLimit-Policy``: ``"name";q=100;w=60``."""
    item = b'"%s";q=%d' % (policy.name.encode("ascii"), policy.quota)
    window = policy.window
    if window >= 1 and window == int(window):
        item += b";w=%d" % int(window)
    return item


def service_items(names: Sequence[bytes], decisions: Sequence[Decision]) -> bytes:
    """The ``RateLimit`` value: ``"name";r=42;t=17`` per policy; ``names`` are quoted names."""
    if len(decisions) == 1:  # the usual case, without a list to join
        decision = decisions[0]
        return b"%s;r=%d;t=%d" % (names[0], decision.remaining, math.ceil(decision.reset_after))
    return b", ".join(
        [
            b"%s;r=%d;t=%d" % (name, decision.remaining, math.ceil(decision.reset_after))
            for name, decision in zip(names, decisions, strict=True)
        ]
    )


def retry_after(decisions: Sequence[Decision]) -> int:
    """The ``Retry-After`` delay of a refusal: the latest policy's wait, whole seconds, >= 1.

    Rounded up, so a client that waits this long is never early; never 0 (RFC 9110 §10.2.3
    allows it, but "retry now" would be wrong for a refused request).
    """
    return max(1, math.ceil(max(decision.retry_after for decision in decisions)))


def legacy_fields(
    limits: Sequence[RateLimit], decisions: Sequence[Decision]
) -> list[tuple[bytes, bytes]]:
    """``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` for the most restrictive policy.

    The one with the fewest units left, then the longest wait for a full quota. ``Reset`` is a
    delay in seconds, as in ``t``, never a timestamp.
    """
    index = min(
        range(len(decisions)),
        key=lambda i: (decisions[i].remaining, -decisions[i].reset_after),
    )
    decision = decisions[index]
    return [
        (b"x-ratelimit-limit", b"%d" % limits[index].quota),
        (b"x-ratelimit-remaining", b"%d" % decision.remaining),
        (b"x-ratelimit-reset", b"%d" % math.ceil(decision.reset_after)),
    ]
