"""Tests for anchored path matching relative to ``root_path`` in ``asgi_middleware._kit.paths``."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asgi_middleware._kit.paths import PathMatcher, PathTable, relative_path

PATTERN_RULE = (
    'a path starting with "/", optionally ending in "/*" for a prefix, with no other "*", '
    "no query, fragment, whitespace or control characters"
)


def scope(path: str | None = None, root_path: str | None = None) -> dict[str, Any]:
    """An HTTP scope with only the keys given (``None`` leaves a key out)."""
    result: dict[str, Any] = {"type": "http"}
    if path is not None:
        result["path"] = path
    if root_path is not None:
        result["root_path"] = root_path
    return result


# --------------------------------------------------------------------------------------------
# relative_path.


@pytest.mark.parametrize(
    ("path", "root_path", "expected"),
    [
        pytest.param("/health", None, "/health", id="no-root-path-key"),
        pytest.param("/health", "", "/health", id="empty-root-path"),
        pytest.param("/api/health", "/api", "/health", id="root-stripped"),
        pytest.param("/api/v1/x/", "/api/v1", "/x/", id="nested-root-stripped"),
        pytest.param("/api", "/api", "/", id="path-equals-root"),
        pytest.param("/api/", "/api", "/", id="root-with-trailing-slash-path"),
        pytest.param("/apix", "/api", "/apix", id="root-not-on-segment-boundary"),
        pytest.param("/api/x", "/api/", "/x", id="root-ending-in-slash"),
        pytest.param("/apix/health", "/api", "/apix/health", id="root-prefix-of-first-segment"),
        pytest.param("/health", "/api", "/health", id="path-without-root"),
        pytest.param("/ap", "/api", "/ap", id="path-shorter-than-root"),
        pytest.param(None, None, "/", id="missing-path"),
        pytest.param("", None, "/", id="empty-path"),
        pytest.param("", "/api", "/", id="empty-path-with-root"),
    ],
)
def test_relative_path(path: str | None, root_path: str | None, expected: str) -> None:
    """``relative_path`` strips ``root_path`` only on a segment boundary and never returns ""."""
    assert relative_path(scope(path, root_path)) == expected


path_segments = st.text(alphabet=st.characters(exclude_characters="/"), min_size=1, max_size=6)


@given(root=st.lists(path_segments, min_size=1, max_size=3), rest=st.lists(st.text(), max_size=3))
def test_relative_path_strips_any_root_on_a_segment_boundary(
    root: list[str], rest: list[str]
) -> None:
    """For any root and any path below it, ``relative_path`` returns the part below the root."""
    root_path = "/" + "/".join(root)
    below = "/" + "/".join(rest)
    assert relative_path(scope(root_path + below, root_path)) == below


@given(root=st.lists(path_segments, min_size=1, max_size=3), extra=path_segments)
def test_relative_path_keeps_a_root_that_only_prefixes_a_segment(
    root: list[str], extra: str
) -> None:
    """A root that ends inside the path's segment (``/api`` in ``/apix``) is not stripped."""
    root_path = "/" + "/".join(root)
    assert relative_path(scope(root_path + extra, root_path)) == root_path + extra


def test_relative_path_ignores_the_host_header() -> None:
    """``relative_path`` uses ``scope["path"]`` only, never a URL rebuilt from ``Host``."""
    http = {**scope("/health"), "headers": [(b"host", b"evil.example/admin")], "raw_path": b"/x"}
    assert relative_path(http) == "/health"


# --------------------------------------------------------------------------------------------
# Matching.


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        pytest.param("/health", "/health", True, id="exact-equal"),
        pytest.param("/health", "/healthz", False, id="exact-not-longer-name"),
        pytest.param("/health", "/health/", False, id="exact-not-trailing-slash"),
        pytest.param("/health", "/health/x", False, id="exact-not-below"),
        pytest.param("/health", "/api/health", False, id="exact-anchored-at-start"),
        pytest.param("/health", "/Health", False, id="exact-case-sensitive"),
        pytest.param("/static/*", "/static", True, id="prefix-directory-itself"),
        pytest.param("/static/*", "/static/", True, id="prefix-directory-slash"),
        pytest.param("/static/*", "/static/css/site.css", True, id="prefix-below"),
        pytest.param("/static/*", "/static-admin", False, id="prefix-not-longer-name"),
        pytest.param("/static/*", "/staticx/a", False, id="prefix-not-longer-segment"),
        pytest.param("/static/*", "/stat", False, id="prefix-not-shorter"),
        pytest.param("/static/*", "/assets/static/x", False, id="prefix-anchored-at-start"),
        pytest.param("/", "/", True, id="root-exact"),
        pytest.param("/", "/x", False, id="root-exact-only"),
        pytest.param("/*", "/", True, id="everything-root"),
        pytest.param("/*", "/any/thing", True, id="everything-deep"),
    ],
)
def test_matches_exact_and_prefix_patterns(pattern: str, path: str, expected: bool) -> None:
    """Exact patterns match one path; ``/x/*`` matches ``/x`` and below ``/x/``, anchored."""
    assert PathMatcher("exclude_paths", [pattern]).matches(scope(path)) is expected


@pytest.mark.parametrize(
    ("path", "root_path", "expected"),
    [
        pytest.param("/api/health", "/api", True, id="relative-to-root"),
        pytest.param("/api", "/api", False, id="root-itself-is-slash"),
        pytest.param("/apihealth", "/api", False, id="root-not-on-boundary"),
        pytest.param("/health", "/api", True, id="path-outside-root-unchanged"),
    ],
)
def test_matches_relative_to_root_path(path: str, root_path: str, expected: bool) -> None:
    """``matches`` compares the path relative to ``root_path``."""
    assert PathMatcher("exclude_paths", ["/health"]).matches(scope(path, root_path)) is expected


def test_matches_any_of_several_patterns() -> None:
    """A path matches when any one of the patterns matches it."""
    matcher = PathMatcher("exclude_paths", ["/health", "/metrics/*", "/ready"])
    assert [matcher.matches(scope(path)) for path in ("/ready", "/metrics/a", "/x")] == [
        True,
        True,
        False,
    ]


def test_matcher_keeps_its_own_copy_of_the_patterns() -> None:
    """Changing the pattern list after construction does not change what matches."""
    patterns = ["/health"]
    matcher = PathMatcher("exclude_paths", patterns)
    patterns.append("/admin")
    assert not matcher.matches(scope("/admin"))


@given(path=st.text().map(lambda text: "/" + text))
def test_slash_star_matches_every_path(path: str) -> None:
    """``/*`` matches every path."""
    assert PathMatcher("exclude_paths", ["/*"]).matches(scope(path))


segments = st.one_of(
    st.sampled_from(["a", "", "aa", "a-", "b", "a.b", "*", "ab"]),
    st.text(alphabet=st.characters(exclude_characters="/"), max_size=5),
)


@given(parts=st.lists(segments, max_size=4))
def test_prefix_pattern_matches_exactly_the_directory_and_below(parts: list[str]) -> None:
    """``/a/*`` matches a path if and only if it is ``/a`` or starts with ``/a/``."""
    path = "/" + "/".join(parts)
    expected = path == "/a" or path.startswith("/a/")
    assert PathMatcher("exclude_paths", ["/a/*"]).matches(scope(path)) is expected


@given(parts=st.lists(segments, max_size=4))
def test_exact_pattern_matches_only_its_own_path(parts: list[str]) -> None:
    """``/a`` matches a path if and only if it is exactly ``/a``."""
    path = "/" + "/".join(parts)
    assert PathMatcher("exclude_paths", ["/a"]).matches(scope(path)) is (path == "/a")


# --------------------------------------------------------------------------------------------
# Validation.


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param("health", id="no-leading-slash"),
        pytest.param("", id="empty"),
        pytest.param("*", id="bare-star"),
        pytest.param("static/*", id="relative-prefix"),
        pytest.param("/a*", id="star-without-slash"),
        pytest.param("/a/*/b", id="star-in-the-middle"),
        pytest.param("/*/*", id="two-stars"),
        pytest.param("/a/**", id="double-star"),
        pytest.param("/health?x=1", id="query"),
        pytest.param("/page#top", id="fragment"),
        pytest.param("/a b", id="space"),
        pytest.param("/a\tb", id="tab"),
        pytest.param("/a\n", id="newline"),
        pytest.param("/a\r", id="carriage-return"),
        pytest.param("/a\x00", id="nul"),
        pytest.param("/a/* ", id="trailing-space-after-star"),
        pytest.param("/a\x0b", id="vertical-tab"),
        pytest.param("/a\x7f", id="delete"),
        pytest.param("/a\u00a0b", id="no-break-space"),
    ],
)
def test_invalid_patterns_are_refused_with_value_error(pattern: str) -> None:
    """A pattern that is not an anchored exact or ``/*`` prefix path raises ``ValueError``."""
    expected = rf"\A{re.escape(f'exclude_paths[1] must be {PATTERN_RULE}, got {pattern!r}')}\Z"
    with pytest.raises(ValueError, match=expected):
        PathMatcher("exclude_paths", ["/ok", pattern])


@pytest.mark.parametrize(
    ("patterns", "option"),
    [
        pytest.param("/health", "exclude_paths", id="bare-str"),
        pytest.param(None, "exclude_paths", id="none"),
        pytest.param(["/ok", b"/health"], "exclude_paths[1]", id="bytes-item"),
        pytest.param([1], "exclude_paths[0]", id="int-item"),
    ],
)
def test_non_string_patterns_are_refused_with_type_error(patterns: object, option: str) -> None:
    """A bare ``str``, a non-iterable or a non-``str`` pattern raises ``TypeError``."""
    with pytest.raises(TypeError, match=rf"\A{re.escape(option)} must be "):
        PathMatcher("exclude_paths", patterns)


@pytest.mark.parametrize(
    "patterns",
    [
        pytest.param(["/"], id="root"),
        pytest.param(["/*"], id="everything"),
        pytest.param(("/a/b/c", "/d/*"), id="nested"),
        pytest.param({"/x-y_z.json"}, id="punctuation"),
        pytest.param(["/caf\u00e9/*"], id="non-ascii"),
    ],
)
def test_valid_patterns_are_accepted(patterns: list[str] | tuple[str, ...] | set[str]) -> None:
    """Anchored exact and prefix patterns construct a matcher that matches them."""
    matcher = PathMatcher("exclude_paths", patterns)
    assert all(matcher.matches(scope(pattern.removesuffix("*"))) for pattern in patterns)


# --------------------------------------------------------------------------------------------
# bool and repr.


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        pytest.param([], False, id="empty-list"),
        pytest.param((), False, id="empty-tuple"),
        pytest.param(["/health"], True, id="exact"),
        pytest.param(["/static/*"], True, id="prefix"),
        pytest.param(["/*"], True, id="everything"),
    ],
)
def test_bool_tells_whether_any_pattern_is_configured(patterns: object, expected: bool) -> None:
    """``bool(matcher)`` is false only when no pattern is configured."""
    assert bool(PathMatcher("exclude_paths", patterns)) is expected


def test_empty_matcher_matches_nothing() -> None:
    """A matcher without patterns matches no path, not even ``/``."""
    assert not PathMatcher("exclude_paths", []).matches(scope("/"))


def test_repr_lists_the_patterns_in_order() -> None:
    """``repr`` shows the patterns as given, in order."""
    matcher = PathMatcher("exclude_paths", ("/health", "/static/*"))
    assert repr(matcher) == "PathMatcher(['/health', '/static/*'])"


# --------------------------------------------------------------------------------------------
# PathTable: per-path values, the most specific matching pattern wins.


def _label(option: str, value: object) -> str:
    """A value check that accepts strings and returns them upper-cased (to see its result)."""
    if not isinstance(value, str):
        msg = f"{option} must be a str, got {value!r}"
        raise TypeError(msg)
    return value.upper()


def table(mapping: object, option: str = "path_values") -> PathTable[str]:
    """A table of upper-cased labels."""
    return PathTable(option, mapping, _label, values="a label")


LABELS = {
    "/*": "all",
    "/static/*": "static",
    "/static/css/*": "css",
    "/static/css/site.css": "site",
    "/static": "static-dir",
    "/health": "health",
}


@pytest.mark.parametrize("reverse", [False, True], ids=["as-listed", "reversed"])
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/health", "HEALTH", id="exact"),
        pytest.param("/health/x", "ALL", id="exact-is-not-a-prefix"),
        pytest.param("/static", "STATIC-DIR", id="exact-over-the-prefix-directory"),
        pytest.param("/static/", "STATIC", id="prefix-directory-slash"),
        pytest.param("/static/js/app.js", "STATIC", id="prefix"),
        pytest.param("/static/css", "CSS", id="longer-prefix-directory"),
        pytest.param("/static/css/a.css", "CSS", id="longer-prefix-over-shorter"),
        pytest.param("/static/css/site.css", "SITE", id="exact-over-every-prefix"),
        pytest.param("/staticx", "ALL", id="prefix-anchored-on-a-segment"),
        pytest.param("/", "ALL", id="catch-all-root"),
        pytest.param("/other/deep/path", "ALL", id="catch-all"),
    ],
)
def test_table_lookup_takes_the_most_specific_pattern(
    path: str, expected: str, reverse: bool
) -> None:
    """Exact before prefix, longer prefix before shorter, ``/*`` last, in either order."""
    mapping = dict(reversed(LABELS.items())) if reverse else LABELS
    assert table(mapping).lookup(scope(path), "default") == expected


@pytest.mark.parametrize(
    ("path", "root_path", "expected"),
    [
        pytest.param("/api/health", "/api", "HEALTH", id="relative-to-root"),
        pytest.param("/api", "/api", "default", id="root-itself-is-slash"),
        pytest.param("/apihealth", "/api", "default", id="root-not-on-boundary"),
        pytest.param("/health", "/api", "HEALTH", id="path-outside-root-unchanged"),
        pytest.param(None, None, "default", id="missing-path-is-slash"),
    ],
)
def test_table_lookup_is_relative_to_root_path(
    path: str | None, root_path: str | None, expected: str
) -> None:
    """``lookup`` compares the path relative to ``root_path``; no match gives the default."""
    assert table({"/health": "health"}).lookup(scope(path, root_path), "default") == expected


def test_table_returns_a_none_value_rather_than_the_default() -> None:
    """A pattern mapped to ``None`` ("no limit there") is found, not taken for a missing entry."""
    limits: PathTable[int | None] = PathTable(
        "path_limits", {"/stream": None, "/a/*": None}, lambda _, value: value, values="ints"
    )
    assert limits.lookup(scope("/stream"), 10) is None
    assert limits.lookup(scope("/a/b"), 10) is None
    assert limits.lookup(scope("/other"), 10) == 10


def test_a_longer_prefix_with_the_same_directory_wins_for_it() -> None:
    """``//*`` and ``/*`` both match ``/`` as their directory: the longer prefix wins there too."""
    for mapping in ({"/*": "all", "//*": "double"}, {"//*": "double", "/*": "all"}):
        found = table(mapping)
        assert [found.lookup(scope(path), "-") for path in ("/", "//x", "/x")] == [
            "DOUBLE",
            "DOUBLE",
            "ALL",
        ]


def test_an_empty_table_finds_nothing_and_is_false() -> None:
    """No pattern: ``bool`` is false and every path gets the default."""
    empty = table({})
    assert not empty
    assert empty.lookup(scope("/"), "default") == "default"
    assert table({"/x": "x"})


def test_table_values_go_through_the_check_named_by_pattern() -> None:
    """The check gets ``option[pattern]`` and the value; the table holds what it returns."""
    calls: list[tuple[str, object]] = []

    def check(option: str, value: object) -> str:
        calls.append((option, value))
        return f"checked {value}"

    found = PathTable("path_values", {"/a": 1, "/b/*": 2}, check, values="ints")
    assert calls == [("path_values['/a']", 1), ("path_values['/b/*']", 2)]
    assert found.lookup(scope("/b/c"), "-") == "checked 2"


def test_table_keeps_its_own_copy() -> None:
    """Changing the mapping after construction does not change what is found."""
    mapping = {"/a": "a"}
    found = table(mapping)
    mapping["/b"] = "b"
    mapping["/a"] = "changed"
    assert [found.lookup(scope(path), "-") for path in ("/a", "/b")] == ["A", "-"]


def test_items_and_repr_list_the_most_specific_first() -> None:
    """``items()`` and ``repr`` show checked values, most specific pattern first, any order."""
    found = table({"/*": "all", "/a/*": "a", "/a/b/*": "ab", "/z": "z", "/a/b": "exact"})
    assert found.items() == (
        ("/a/b", "EXACT"),
        ("/z", "Z"),
        ("/a/b/*", "AB"),
        ("/a/*", "A"),
        ("/*", "ALL"),
    )
    assert repr(found) == (
        "PathTable({'/a/b': 'EXACT', '/z': 'Z', '/a/b/*': 'AB', '/a/*': 'A', '/*': 'ALL'})"
    )


@pytest.mark.parametrize(
    ("mapping", "error", "message"),
    [
        pytest.param(
            ["/a"],
            TypeError,
            "path_values must be a mapping of path pattern to a label, got ['/a']",
            id="not-a-mapping",
        ),
        pytest.param(
            None,
            TypeError,
            "path_values must be a mapping of path pattern to a label, got None",
            id="none",
        ),
        pytest.param(
            {"/ok": "x", "static/*": "x"},
            ValueError,
            f"path_values[1] must be {PATTERN_RULE}, got 'static/*'",
            id="bad-pattern-by-index",
        ),
        pytest.param(
            {"/ok": "x", b"/a": "x"},
            TypeError,
            "path_values[1] must be a str, got b'/a'",
            id="bytes-pattern",
        ),
        pytest.param(
            {"/ok": "x", "/a/*": 1},
            TypeError,
            "path_values['/a/*'] must be a str, got 1",
            id="bad-value-by-pattern",
        ),
    ],
)
def test_table_refuses_bad_mappings(mapping: object, error: type[Exception], message: str) -> None:
    """A non-mapping, a bad pattern (by index) or a bad value (by pattern): SPEC §2.1 messages."""
    with pytest.raises(error, match=rf"\A{re.escape(message)}\Z"):
        table(mapping)


def test_patterns_are_all_checked_before_any_value() -> None:
    """A bad pattern is reported even when an earlier entry's value is bad too."""
    with pytest.raises(ValueError, match=r"\Apath_values\[1\] must be a path"):
        table({"/a": 1, "b": "x"})


table_segments = st.sampled_from(["a", "b", "ab", ""])
table_patterns = st.one_of(
    st.sampled_from(["/", "/*", "//*", "//"]),
    st.builds(
        lambda parts, prefix: "/" + "/".join(parts) + ("/*" if prefix else ""),
        st.lists(table_segments, min_size=1, max_size=3),
        st.booleans(),
    ),
)
table_paths = st.lists(table_segments, max_size=4).map(lambda parts: "/" + "/".join(parts))


def _most_specific(patterns: list[str], path: str) -> str | None:
    """The reference rule, from single-pattern matchers: an exact match, else the longest prefix."""
    matching = [pattern for pattern in patterns if PathMatcher("p", [pattern]).matches(scope(path))]
    exact = [pattern for pattern in matching if not pattern.endswith("/*")]
    if exact:
        return exact[0]  # a mapping holds each pattern once, and one path equals one pattern
    return max(matching, key=len, default=None)


@given(data=st.data(), patterns=st.lists(table_patterns, unique=True, max_size=8))
def test_table_finds_the_most_specific_match_in_any_order(
    data: st.DataObject, patterns: list[str]
) -> None:
    """For any patterns and path, the entry found is the most specific match, whatever the order."""
    order = data.draw(st.permutations(patterns))
    path = data.draw(table_paths)
    found: PathTable[str] = PathTable(
        "p", dict.fromkeys(order, ""), lambda name, _: name, values="labels"
    )
    best = _most_specific(patterns, path)
    assert found.lookup(scope(path), "none") == ("none" if best is None else f"p[{best!r}]")
