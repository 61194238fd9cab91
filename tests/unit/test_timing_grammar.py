"""Property tests: what ``TimingMiddleware`` sends follows the W3C ``Server-Timing`` grammar.

The grammar is written out here independently of ``asgi_middleware.timing._server_timing``,
straight from https://www.w3.org/TR/server-timing/#the-server-timing-header-field and RFC 9110 §5.6.
"""

from __future__ import annotations

import math
import re
from typing import Any

import anyio
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from asgi_middleware import Receive, Scope, Send, TimingMiddleware, record_timing
from asgi_middleware.timing._server_timing import (
    format_entry,
    metric_names,
    require_description,
    require_metric_name,
    require_timing_allow_origin,
)
from tests.support.asgi import body, http_scope, run, start

TCHAR = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"  # noqa: S105 - the grammar's token, not a secret
# quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE, without obs-text.
QUOTED = r'"(?:[\t \x21\x23-\x5b\x5d-\x7e]|\\[\t \x21-\x7e])*"'
PARAM = rf"{TOKEN}[ \t]*=[ \t]*(?:{TOKEN}|{QUOTED})"
METRIC = rf"({TOKEN})((?:[ \t]*;[ \t]*{PARAM})*)"
FIELD = re.compile(rf"{METRIC}(?:[ \t]*,[ \t]*{METRIC})*")
ONE_METRIC = re.compile(METRIC)
PARAMS = re.compile(rf"[ \t]*;[ \t]*({TOKEN})[ \t]*=[ \t]*({TOKEN}|{QUOTED})")

names = st.text(alphabet=TCHAR, min_size=1, max_size=20)
durations = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False)
descriptions = st.none() | st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\t"), max_size=40
)


def parse_metric(entry: str) -> tuple[str, dict[str, str]]:
    """Parse one metric with the grammar above, unquoting quoted-string parameter values."""
    match = ONE_METRIC.fullmatch(entry)
    assert match is not None, f"not a server-timing-metric: {entry!r}"
    params = {}
    for key, raw in PARAMS.findall(match.group(2)):
        params[key] = re.sub(r"\\(.)", r"\1", raw[1:-1]) if raw.startswith('"') else raw
    return match.group(1), params


@given(names, durations, descriptions)
@example("db", 0.0, "")
@example("db", 1.0005, 'quote " and backslash \\')
def test_format_entry_follows_the_grammar(
    name: str, duration: float, description: str | None
) -> None:
    """Any valid name, duration and description give one grammatical metric that reads back."""
    parsed_name, params = parse_metric(format_entry(name, duration, description))
    assert parsed_name == name
    assert math.isclose(float(params["dur"]), duration, abs_tol=0.0005001, rel_tol=1e-12)
    assert params.get("desc") == description


@given(st.text(max_size=20).filter(lambda text: re.fullmatch(TOKEN, text) is None))
def test_non_token_names_are_refused(name: str) -> None:
    """Anything that is not a token is refused as a metric name."""
    with pytest.raises(ValueError, match=r"^name must be an HTTP token"):
        require_metric_name("name", name)


@given(st.text(min_size=1).filter(lambda text: re.search(r"[^\t\x20-\x7e]", text) is not None))
def test_descriptions_with_other_characters_are_refused(description: str) -> None:
    """Control characters (CR, LF, NUL, ...) and non-ASCII are refused in descriptions."""
    with pytest.raises(ValueError, match=r"^description must be visible ASCII"):
        require_description("description", description)


metrics_lists = st.lists(st.tuples(names, durations, descriptions), max_size=6)
app_values = st.lists(st.tuples(names, durations, descriptions), max_size=3)


@given(metrics_lists, app_values)
def test_whole_header_is_grammatical(
    recorded: list[tuple[str, float, str | None]], app_set: list[tuple[str, float, str | None]]
) -> None:
    """With any recorded metrics and any app-set value, the header is one valid field value."""
    app_value = ", ".join(format_entry(*metric) for metric in app_set).encode("ascii")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for metric in recorded:
            record_timing(*metric)
        headers = [(b"server-timing", app_value)] if app_value else []
        await send(start(200, headers))
        await send(body())

    messages = anyio.run(run, TimingMiddleware(app), http_scope())
    [(name, value)] = messages[0]["headers"]
    assert name == b"server-timing"
    text = value.decode("ascii")
    assert FIELD.fullmatch(text), text
    expected = [metric[0] for metric in (*app_set, *recorded)]
    if "app" not in [metric[0] for metric in app_set]:
        expected.append("app")
    assert [name.decode() for name in metric_names(value)] == expected


@given(st.lists(st.tuples(names, durations, descriptions), max_size=6))
def test_metric_names_reads_back_every_name(metrics: list[tuple[str, float, str | None]]) -> None:
    """Names of a list of formatted metrics come back in order, whatever the descriptions hold."""
    value = ", ".join(format_entry(*metric) for metric in metrics).encode("ascii")
    assert metric_names(value) == [metric[0].encode() for metric in metrics]


@given(st.binary(max_size=80))
@example(b'a;desc="unterminated, b')
@example(b'a;desc="x\\')
@example(b",, ,a ,")
def test_metric_names_never_raises_and_returns_tokens(value: bytes) -> None:
    """Any bytes at all (malformed, unterminated quotes) give a list of tokens, never an error."""
    for name in metric_names(value):
        assert re.fullmatch(TOKEN.encode(), name)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b'a;desc="unterminated, b', [b"a"]),
        (b'a;desc="esc \\" , b", c', [b"a", b"c"]),
        (b" a ;dur=1 ,\tb", [b"a", b"b"]),
        (b'"q", bad name, ok', [b"ok"]),
        (b"", []),
    ],
    ids=["unterminated-quote", "escaped-quote", "whitespace", "bad-names-skipped", "empty"],
)
def test_metric_names_examples(value: bytes, expected: list[bytes]) -> None:
    """Quoted commas do not split; whitespace is trimmed; non-token names are skipped."""
    assert metric_names(value) == expected


hosts = st.from_regex(
    r"[a-z0-9]([a-z0-9\-]{0,10}[a-z0-9])?(\.[a-z]{2,6}){0,2}", fullmatch=True
).filter(lambda host: not host.isdigit())  # "http://123" is an IPv4 number to browsers: refused


@given(st.sampled_from(["http", "https"]), hosts, st.none() | st.integers(1, 65535))
def test_origins_serialised_like_browsers(scheme: str, host: str, port: int | None) -> None:
    """Any origin, in any case, comes out lower-cased without its scheme's default port."""
    given_origin = f"{scheme}://{host}" + ("" if port is None else f":{port}")
    default = {"http": 80, "https": 443}[scheme]
    expected = f"{scheme}://{host}" + ("" if port in (None, default) else f":{port}")
    assert require_timing_allow_origin("o", [given_origin.upper()]) == expected.encode()


@given(st.lists(st.text(max_size=30), max_size=3))
def test_origin_parser_only_raises_value_errors(values: list[str]) -> None:
    """Arbitrary text is accepted as an origin or refused with a ValueError, nothing else."""
    try:
        result: Any = require_timing_allow_origin("o", values)
    except ValueError:
        return
    assert isinstance(result, bytes)
    assert re.fullmatch(rb"[\x21-\x7e]+(, [\x21-\x7e]+)*", result)


def test_grammar_rejects_what_it_should() -> None:
    """The test grammar itself refuses broken values, so the properties above can fail."""
    for broken in ["app;dur", 'app;desc="open', "a b", "app;desc=a b", "app,", 'a;desc="\r"']:
        assert FIELD.fullmatch(broken) is None, broken
