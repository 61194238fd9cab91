"""Hypothesis strategies and messages shared by the origin and host tests."""

from __future__ import annotations

import string

from hypothesis import strategies as st

__all__ = ["LABELS", "NEAR_ORIGINS", "SAFE_WILDCARD_HINT"]

#: The hint of a wildcard over a public suffix or an address (``*.com``, ``*.10.0.0.1``).
SAFE_WILDCARD_HINT = "; the part after '*.' must be a domain of two labels or more"
#: One DNS label of the characters a host may hold.
LABELS = st.text(string.ascii_lowercase + string.digits + "-_", min_size=1, max_size=12)
#: Text that looks like an origin or a host and often is not one.
NEAR_ORIGINS = st.tuples(
    st.sampled_from(["", "http://", "HTTPS://", "ws://", "x-y://", "https://*."]),
    st.text("aAz09-_.:[]*/?#@%fF ", max_size=24),
).map("".join)
