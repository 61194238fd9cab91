"""Hypothesis strategies, messages and a matcher shared by the origin and host tests."""

from __future__ import annotations

import re
import string

from hypothesis import strategies as st

__all__ = ["LABELS", "NEAR_ORIGINS", "PUNYCODE_HINT", "SAFE_WILDCARD_HINT", "exactly"]

#: The hint of a host name that is not ASCII.
PUNYCODE_HINT = "; write internationalised host names in punycode (xn--...)"
#: The hint of a wildcard over a public suffix or an address (``*.com``, ``*.10.0.0.1``).
SAFE_WILDCARD_HINT = "; the part after '*.' must be a domain of two labels or more"
#: One DNS label of the characters a host may hold.
LABELS = st.text(string.ascii_lowercase + string.digits + "-_", min_size=1, max_size=12)
#: Text that looks like an origin or a host and often is not one.
NEAR_ORIGINS = st.tuples(
    st.sampled_from(["", "http://", "HTTPS://", "ws://", "x-y://", "https://*."]),
    st.text("aAz09-_.:[]*/?#@%fF ", max_size=24),
).map("".join)


def exactly(option: str, rule: str, value: object, hint: str = "") -> str:
    """A pattern matching exactly ``<option> must be <rule>, got <value!r><hint>``."""
    return rf"\A{re.escape(f'{option} must be {rule}, got {value!r}{hint}')}\Z"
