"""ContentSecurityPolicy and the policy checks: what is written, what is refused, round trips."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asgi_middleware.security_headers import NONCE, ContentSecurityPolicy, Nonce
from asgi_middleware.security_headers._values import (
    check_policy,
    check_source,
    parse_policy,
    policy_directives,
)

SELF = "'self'"
# Words that, unquoted, are keyword mistakes the check refuses (not hosts).
BARE = {
    "self",
    "none",
    "unsafe-inline",
    "unsafe-eval",
    "unsafe-hashes",
    "strict-dynamic",
    "report-sample",
    "wasm-unsafe-eval",
}


def test_serialises_in_declared_order() -> None:
    """Fallbacks first, then the rest, each directive once, joined with "; "."""
    policy = ContentSecurityPolicy(
        object_src=["'none'"],
        script_src=[SELF, NONCE, "https://cdn.example"],
        default_src=[SELF],
        sandbox=[],
        upgrade_insecure_requests=True,
        report_uri=["/csp"],
        report_to="csp-endpoint",
        extra={"require-trusted-types-for": ["'script'"], "Block-All-Mixed-Content": True},
    )
    assert str(policy) == (
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' https://cdn.example; "
        "object-src 'none'; sandbox; upgrade-insecure-requests; report-uri /csp; "
        "report-to csp-endpoint; require-trusted-types-for 'script'; block-all-mixed-content"
    )


def test_directives_and_uses_nonce() -> None:
    """``directives`` is a new dict of what is written; ``uses_nonce`` says whether NONCE is."""
    policy = ContentSecurityPolicy(default_src=[SELF], style_src=[SELF, NONCE])
    directives = policy.directives
    directives["img-src"] = ("*",)
    assert policy.directives == {"default-src": (SELF,), "style-src": (SELF, "'nonce-{nonce}'")}
    assert policy.uses_nonce
    assert not ContentSecurityPolicy(default_src=[SELF]).uses_nonce


def test_extra_false_leaves_the_directive_out() -> None:
    """``False`` in extra writes nothing; an empty list writes a directive without a value."""
    policy = ContentSecurityPolicy(default_src=[SELF], extra={"x-a": False, "x-b": []})
    assert str(policy) == "default-src 'self'; x-b"


def test_immutable_equal_and_hashable() -> None:
    """Equal directives make equal policies with one hash; no attribute can be set."""
    one = ContentSecurityPolicy(default_src=[SELF], script_src=[NONCE])
    two = ContentSecurityPolicy(default_src=(SELF,), script_src=(NONCE,))
    assert one == two
    assert hash(one) == hash(two)
    assert one != ContentSecurityPolicy(default_src=[SELF])
    assert one != str(one)
    with pytest.raises(AttributeError):
        one.script_src = ["*"]  # type: ignore[attr-defined]


def test_replace_returns_a_changed_copy() -> None:
    """replace() changes some arguments, keeps the others; None removes a directive."""
    base = ContentSecurityPolicy(default_src=[SELF], script_src=[SELF, NONCE])
    docs = base.replace(script_src=[SELF, "'unsafe-inline'"], default_src=None, img_src=["*"])
    assert str(base) == "default-src 'self'; script-src 'self' 'nonce-{nonce}'"
    assert str(docs) == "script-src 'self' 'unsafe-inline'; img-src *"
    with pytest.raises(TypeError, match=r"unknown directive keywords \['scripts'\]"):
        base.replace(scripts=[SELF])


def test_repr_shows_the_value() -> None:
    """The repr names the class and the header value; NONCE's repr is its name."""
    policy = ContentSecurityPolicy(default_src=[SELF])
    assert repr(policy) == "ContentSecurityPolicy(\"default-src 'self'\")"
    assert repr(NONCE) == "NONCE"
    assert isinstance(NONCE, Nonce)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({}, ValueError, "ContentSecurityPolicy must be one directive"),
        ({"default_src": SELF}, TypeError, "default_src must be a list or tuple of sources"),
        ({"default_src": []}, ValueError, "to allow nothing, write"),
        ({"default_src": [1]}, TypeError, r"default_src\[0\] must be a str"),
        ({"default_src": ["a b"]}, ValueError, r"default_src\[0\] must be one source"),
        ({"default_src": ["a;b"]}, ValueError, "must be one source"),
        ({"default_src": ["a,b"]}, ValueError, "must be one source"),
        ({"script_src": ["none"]}, ValueError, "keywords are quoted: \"'none'\""),
        ({"script_src": ["'se1f'"]}, ValueError, "a quoted keyword such as 'self'"),
        ({"script_src": ["'sha256-abc'x"]}, ValueError, "a quoted keyword"),
        ({"script_src": ["'nonce-abc'"]}, ValueError, "a fixed nonce protects nothing"),
        ({"img_src": [NONCE]}, ValueError, r"img_src\[0\] must be a source img-src allows"),
        ({"frame_ancestors": [NONCE]}, ValueError, "scripts and styles only"),
        ({"sandbox": "allow-scripts"}, TypeError, "sandbox must be a list or tuple"),
        ({"upgrade_insecure_requests": 1}, TypeError, "upgrade_insecure_requests must be a bool"),
        ({"report_uri": []}, ValueError, "report_uri must be a non-empty list"),
        ({"report_to": "a b"}, ValueError, "report_to must be an HTTP token"),
        ({"extra": [("x", [])]}, TypeError, "extra must be a mapping"),
        ({"extra": {"x y": True}}, ValueError, "extra must be a directive name"),
        ({"extra": {1: True}}, TypeError, "extra must be a str"),
        ({"extra": {"Script-Src": [SELF]}}, ValueError, "use the keyword argument script_src"),
        ({"extra": {"report-to": ["x"]}}, ValueError, "use the keyword argument report_to"),
        ({"extra": {"x": "a"}}, TypeError, r"extra\['x'\] must be a list or tuple"),
    ],
)
def test_bad_directives_are_refused(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Each bad argument fails at construction, naming the argument and the rule."""
    with pytest.raises(error, match=message):
        ContentSecurityPolicy(**options)


@pytest.mark.parametrize(
    "source",
    [
        "'self'",
        "'none'",
        "'strict-dynamic'",
        "'sha256-B2yPHKaXnvFWtRChIbabYmUBFZdVfKKXHbWtWidDVF8='",
        "'sha512-abc_-'",
        "https://cdn.example:8443/path",
        "*.example.com",
        "data:",
        "'nonce-{nonce}'",
    ],
)
def test_good_script_sources(source: str) -> None:
    """Keywords, hashes, hosts, schemes and the nonce placeholder are accepted as written."""
    assert check_source("s", source, "script-src") == source


@given(word=st.sampled_from(sorted(BARE)))
def test_every_bare_keyword_is_refused(word: str) -> None:
    """Each keyword written without quotes, in any case, is refused with the quoted spelling."""
    with pytest.raises(ValueError, match=f"keywords are quoted: \"'{word}'\""):
        ContentSecurityPolicy(script_src=[word.upper()])


def test_non_source_list_values_are_not_quoted() -> None:
    """Outside source lists (sandbox, report-to) a bare word is a value, not a keyword."""
    assert check_source("s", "none", "sandbox") == "none"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "a header value|at least one directive"),
        (" ; ;", "at least one directive"),
        ("default-src 'self'; default-src *", "browsers ignore every default-src but the first"),
        ("default-src 'self'; Default-Src *", "browsers ignore every default-src"),
        ("script_src 'self'", "csp directive must be a directive name"),
        ("script-src 'nonce-abc'", "a fixed nonce"),
        ("img-src 'nonce-{nonce}'", "scripts and styles only"),
        ("default-src 'self'\x00", "a header value"),
        ("default-src é", "a header value"),
    ],
)
def test_bad_policy_strings(text: str, message: str) -> None:
    """A policy string is checked as the builder's values are."""
    with pytest.raises(ValueError, match=message):
        check_policy("csp", text)


def test_policy_string_is_stripped() -> None:
    """Surrounding whitespace goes; empty directives are tolerated, as browsers do."""
    assert check_policy("csp", "  default-src 'self';; ") == "default-src 'self';;"


def test_policy_string_of_the_wrong_type() -> None:
    """A policy that is not a str is a TypeError."""
    with pytest.raises(TypeError, match="csp must be a str"):
        check_policy("csp", b"default-src 'self'")


# --- properties -----------------------------------------------------------------------------------

HOST_CHARS = string.ascii_lowercase + string.digits + "-."
hosts = st.text(alphabet=HOST_CHARS, min_size=1, max_size=20).filter(lambda host: host not in BARE)
keywords = st.sampled_from(["'self'", "'none'", "'unsafe-inline'", "'strict-dynamic'"])
sources = st.lists(st.one_of(keywords, hosts, st.just(NONCE)), min_size=1, max_size=6)
source_lists = st.dictionaries(
    st.sampled_from(["default_src", "script_src", "style_src", "script_src_elem"]),
    sources,
    min_size=1,
)
others = st.dictionaries(
    st.sampled_from(["img_src", "connect_src", "frame_ancestors", "base_uri"]),
    st.lists(st.one_of(keywords, hosts), min_size=1, max_size=4),
)


@given(nonced=source_lists, plain=others, upgrade=st.booleans())
def test_built_policy_round_trips(
    nonced: dict[str, Any], plain: dict[str, Any], upgrade: bool
) -> None:
    """str() of any policy passes the string check and parses back to the same directives."""
    policy = ContentSecurityPolicy(**nonced, **plain, upgrade_insecure_requests=upgrade)
    text = str(policy)
    assert check_policy("csp", text) == text
    assert dict(policy_directives("csp", text)) == {
        name: list(values) for name, values in policy.directives.items()
    }
    assert policy.uses_nonce == any(NONCE in items for items in nonced.values())


@given(text=st.text(alphabet=string.printable, max_size=80))
def test_parse_policy_never_raises_and_drops_blanks(text: str) -> None:
    """Any text splits into directives with a name and no empty token."""
    for name, values in parse_policy(text):
        assert name
        assert ";" not in name
        assert all(value and not value.isspace() for value in values)


@given(
    prefix=st.text(alphabet=HOST_CHARS, max_size=10),
    bad=st.sampled_from([";", ",", " ", "\t", "\r", "\n", "\x00", "é", "\x7f"]),
    suffix=st.text(alphabet=HOST_CHARS, max_size=10),
)
def test_a_source_with_a_separator_is_refused(prefix: str, bad: str, suffix: str) -> None:
    """No character that would end a source, a directive or a policy gets into one."""
    with pytest.raises(ValueError, match="must be one source"):
        ContentSecurityPolicy(img_src=[prefix + bad + suffix])
