"""SecurityHeadersMiddleware in raw ASGI: which headers each response gets, and nothing else."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

import pytest

from asgi_middleware._kit.types import ASGIApp, Receive, Scope, Send
from asgi_middleware.security_headers import NONCE, ContentSecurityPolicy, SecurityHeadersMiddleware
from tests.support.asgi import (
    body,
    headers_of,
    http_scope,
    lifespan_scope,
    run,
    start,
    websocket_scope,
)

pytestmark = pytest.mark.anyio

DEFAULT_FIELDS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000")
APP_FIELDS = [(b"content-type", b"text/html")]
NONCE_POLICY = ContentSecurityPolicy(default_src=["'self'"], script_src=["'self'", NONCE])
NONCE_VALUE = re.compile(rb"default-src 'self'; script-src 'self' 'nonce-([A-Za-z0-9_-]{22})'")
OFF: dict[str, Any] = {
    "content_type_options": False,
    "referrer_policy": None,
    "frame_options": None,
    "cross_origin_opener_policy": None,
    "hsts": False,
}


def page(headers: list[tuple[bytes, bytes]] | None = None, log: list[Any] | None = None) -> ASGIApp:
    """An app that records the scope it got, then answers 200 with ``headers`` and ``<p>``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if log is not None:
            log.append(scope)
        await send(start(200, APP_FIELDS if headers is None else headers))
        await send(body(b"<p>"))

    return app


def values(messages: list[Any], name: bytes) -> list[bytes]:
    """Every value of response header ``name``, in order."""
    return [value for key, value in headers_of(messages) if key == name]


async def test_defaults_on_plain_http() -> None:
    """Over HTTP, the four default headers follow the app's, and no HSTS."""
    messages = await run(SecurityHeadersMiddleware(page()), http_scope())
    assert messages == [start(200, [*APP_FIELDS, *DEFAULT_FIELDS]), body(b"<p>")]


async def test_hsts_only_over_https() -> None:
    """An HTTPS request (scope scheme, as proxy headers set it) gets HSTS too."""
    messages = await run(SecurityHeadersMiddleware(page()), http_scope(scheme="https"))
    assert messages == [start(200, [*APP_FIELDS, *DEFAULT_FIELDS, HSTS]), body(b"<p>")]


@pytest.mark.parametrize(
    ("options", "value"),
    [
        ({"hsts_max_age": 300}, b"max-age=300"),
        ({"hsts_include_subdomains": True}, b"max-age=31536000; includeSubDomains"),
        (
            {"hsts_include_subdomains": True, "hsts_preload": True, "hsts_max_age": 63072000},
            b"max-age=63072000; includeSubDomains; preload",
        ),
    ],
)
async def test_hsts_value(options: dict[str, Any], value: bytes) -> None:
    """max-age, includeSubDomains and preload are written as configured."""
    app = SecurityHeadersMiddleware(page(), **options)
    messages = await run(app, http_scope(scheme="https"))
    assert values(messages, b"strict-transport-security") == [value]


@pytest.mark.parametrize(
    ("options", "fix"),
    [
        ({"hsts_preload": True}, "hsts_include_subdomains=False"),
        (
            {"hsts_preload": True, "hsts_include_subdomains": True, "hsts_max_age": 86400},
            "hsts_max_age=86400",
        ),
        ({"hsts_preload": True, "hsts": False, "hsts_include_subdomains": True}, "hsts is off"),
    ],
)
def test_preload_requirements_are_checked(options: dict[str, Any], fix: str) -> None:
    """Preloading without a year and includeSubDomains (or HSTS) is refused, with the fix."""
    with pytest.raises(ValueError, match="hsts_preload must be") as error:
        SecurityHeadersMiddleware(page(), **options)
    assert fix in str(error.value)


async def test_every_header_can_be_turned_off() -> None:
    """With everything off the app's messages go out as they came, the very objects."""
    sent: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        sent.extend([start(200, APP_FIELDS), body(b"<p>")])
        for message in sent:
            await send(message)

    messages = await run(SecurityHeadersMiddleware(app, **OFF), http_scope(scheme="https"))
    assert all(got is made for got, made in zip(messages, sent, strict=True))


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("referrer_policy", "no-referrer", (b"referrer-policy", b"no-referrer")),
        (
            "referrer_policy",
            "no-referrer,  Strict-Origin",
            (b"referrer-policy", b"no-referrer, strict-origin"),
        ),
        ("frame_options", "sameorigin", (b"x-frame-options", b"SAMEORIGIN")),
        (
            "cross_origin_opener_policy",
            "same-origin-allow-popups",
            (b"cross-origin-opener-policy", b"same-origin-allow-popups"),
        ),
        (
            "cross_origin_embedder_policy",
            "require-corp",
            (b"cross-origin-embedder-policy", b"require-corp"),
        ),
        (
            "cross_origin_resource_policy",
            "same-site",
            (b"cross-origin-resource-policy", b"same-site"),
        ),
        ("content_type_options", True, (b"x-content-type-options", b"nosniff")),
        ("permissions_policy", "camera=()", (b"permissions-policy", b"camera=()")),
        (
            "permissions_policy",
            {"camera": [], "geolocation": ["self", "https://maps.example"], "fullscreen": ["*"]},
            (
                b"permissions-policy",
                b'camera=(), geolocation=(self "https://maps.example"), fullscreen=*',
            ),
        ),
        ("csp", "default-src 'self'", (b"content-security-policy", b"default-src 'self'")),
        (
            "report_to",
            {"csp": "https://r.example/csp", "default": "/reports"},
            (b"reporting-endpoints", b'csp="https://r.example/csp", default="/reports"'),
        ),
    ],
)
async def test_each_header_alone(option: str, value: Any, field: tuple[bytes, bytes]) -> None:
    """Each option, with the defaults off, sends exactly its one header, encoded as shown."""
    app = SecurityHeadersMiddleware(page(), **{**OFF, option: value})
    messages = await run(app, http_scope())
    assert messages == [start(200, [*APP_FIELDS, field]), body(b"<p>")]


async def test_report_only_policy() -> None:
    """csp_report_only sends the policy under the Report-Only name, and no enforced policy."""
    policy = ContentSecurityPolicy(default_src=["'self'"], report_to="csp")
    app = SecurityHeadersMiddleware(
        page(), **OFF, csp=policy, csp_report_only=True, report_to={"csp": "/csp"}
    )
    messages = await run(app, http_scope())
    assert headers_of(messages) == [
        *APP_FIELDS,
        (b"reporting-endpoints", b'csp="/csp"'),
        (b"content-security-policy-report-only", b"default-src 'self'; report-to csp"),
    ]


def test_report_to_must_name_a_configured_endpoint() -> None:
    """A policy reporting to an endpoint report_to does not define is refused."""
    policy = ContentSecurityPolicy(default_src=["'self'"], report_to="csp")
    with pytest.raises(ValueError, match=r"csp report-to must be an endpoint of report_to \(x\)"):
        SecurityHeadersMiddleware(page(), csp=policy, report_to={"x": "/x"})


async def test_report_to_elsewhere_is_allowed_without_report_to() -> None:
    """Without report_to the app may define the endpoints itself: nothing to check."""
    app = SecurityHeadersMiddleware(page(), **OFF, csp="default-src 'self'; report-to ep")
    messages = await run(app, http_scope())
    assert values(messages, b"content-security-policy") == [b"default-src 'self'; report-to ep"]


# --- the app's own headers ----------------------------------------------------------------------

# Mixed-case names, as apps send them (the validator of tests/support insists on lower case for
# what a middleware emits, so these runs skip it).
APP_SET = [
    (b"Content-Type", b"text/html"),
    (b"X-Frame-Options", b"SAMEORIGIN"),
    (b"set-cookie", b"a=1"),
    (b"set-cookie", b"b=2"),
    (b"Vary", b"Accept"),
]


async def test_app_header_is_kept_by_default() -> None:
    """An X-Frame-Options the app set (any case) is kept; ours is not added."""
    messages = await run(SecurityHeadersMiddleware(page(APP_SET)), http_scope(), validate=False)
    assert messages == [
        start(200, [*APP_SET, *[f for f in DEFAULT_FIELDS if f[0] != b"x-frame-options"]]),
        body(b"<p>"),
    ]


async def test_replace_drops_only_that_header() -> None:
    """on_conflict="replace": the app's X-Frame-Options goes, every other field stays in order."""
    messages = await run(
        SecurityHeadersMiddleware(page(APP_SET), on_conflict="replace"),
        http_scope(),
        validate=False,
    )
    kept = [field for field in APP_SET if field[0] != b"X-Frame-Options"]
    assert messages == [start(200, [*kept, *DEFAULT_FIELDS]), body(b"<p>")]


async def test_append_keeps_both() -> None:
    """on_conflict="append": the app's field and ours are both sent."""
    app = SecurityHeadersMiddleware(page(APP_SET), on_conflict={"X-Frame-Options": "append"})
    messages = await run(app, http_scope(), validate=False)
    assert messages == [start(200, [*APP_SET, *DEFAULT_FIELDS]), body(b"<p>")]


async def test_modes_per_header() -> None:
    """A mapping sets a mode per header; the headers it does not name keep the app's."""
    app_headers = [
        (b"referrer-policy", b"no-referrer"),
        (b"X-Content-Type-Options", b"nosniff"),
        (b"Content-Security-Policy", b"img-src *"),
    ]
    app = SecurityHeadersMiddleware(
        page(app_headers),
        csp="default-src 'self'",
        on_conflict={"referrer-policy": "replace", "content-security-policy": "append"},
    )
    messages = await run(app, http_scope(), validate=False)
    assert headers_of(messages) == [
        (b"X-Content-Type-Options", b"nosniff"),
        (b"Content-Security-Policy", b"img-src *"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"content-security-policy", b"default-src 'self'"),
    ]


async def test_replace_never_removes_a_header_not_sent_on_this_response() -> None:
    """Over HTTP no HSTS is sent, so an app's HSTS stays even when HSTS is "replace"."""
    app_headers = [(b"strict-transport-security", b"max-age=60")]
    app = SecurityHeadersMiddleware(
        page(app_headers), **{**OFF, "hsts": True}, on_conflict="replace"
    )
    plain = await run(app, http_scope())
    secure = await run(app, http_scope(scheme="https"))
    assert headers_of(plain) == app_headers
    assert headers_of(secure) == [HSTS]


async def test_replaced_nonce_policy() -> None:
    """A nonce'd policy replaces the app's policy when told to, like any other header."""
    app_headers = [(b"content-security-policy", b"img-src *"), (b"x-a", b"1")]
    app = SecurityHeadersMiddleware(
        page(app_headers), **OFF, csp=NONCE_POLICY, on_conflict="replace"
    )
    messages = await run(app, http_scope())
    assert headers_of(messages)[0] == (b"x-a", b"1")
    assert NONCE_VALUE.fullmatch(values(messages, b"content-security-policy")[0])


async def test_kept_app_policy_still_gets_a_nonce_in_state() -> None:
    """When the app's own policy is kept, its templates still find a nonce in the state."""
    log: list[Any] = []
    app_headers = [(b"content-security-policy", b"img-src *")]
    app = SecurityHeadersMiddleware(page(app_headers, log), **OFF, csp=NONCE_POLICY)
    messages = await run(app, http_scope())
    assert headers_of(messages) == app_headers
    assert isinstance(log[0]["state"]["csp_nonce"], str)


# --- nonces ---------------------------------------------------------------------------------------


async def test_nonce_in_state_and_in_the_policy() -> None:
    """The app finds the nonce in the server's own state dict; the policy carries the same."""
    log: list[Any] = []
    scope = http_scope()
    state = scope["state"]
    messages = await run(SecurityHeadersMiddleware(page(log=log), csp=NONCE_POLICY), scope)
    match = NONCE_VALUE.fullmatch(values(messages, b"content-security-policy")[0])
    assert match is not None
    assert log[0] is scope  # nothing else changed: the scope itself is passed on
    assert log[0]["state"] is state
    assert state["csp_nonce"] == match.group(1).decode()


async def test_a_fresh_nonce_per_request() -> None:
    """Two requests get two different nonces."""
    app = SecurityHeadersMiddleware(page(), csp=NONCE_POLICY)
    found = set()
    for _ in range(2):
        messages = await run(app, http_scope())
        found.add(values(messages, b"content-security-policy")[0])
    assert len(found) == 2


async def test_nonce_state_created_when_the_server_gives_none() -> None:
    """Without a state dict the app gets a new scope with one; the server's scope is untouched."""
    log: list[Any] = []
    scope = http_scope()
    del scope["state"]
    before = copy.deepcopy(scope)
    await run(SecurityHeadersMiddleware(page(log=log), csp=NONCE_POLICY), scope)
    assert scope == before
    assert set(log[0]) - set(scope) == {"state"}
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", log[0]["state"]["csp_nonce"])


async def test_no_nonce_no_state_written() -> None:
    """A policy without NONCE leaves the scope and its state alone."""
    log: list[Any] = []
    scope = http_scope()
    await run(SecurityHeadersMiddleware(page(log=log), csp="default-src 'self'"), scope)
    assert log[0] is scope
    assert scope["state"] == {}


async def test_nonce_in_a_string_policy() -> None:
    """A string policy's 'nonce-{nonce}' sources are all replaced by the one nonce."""
    policy = "script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}' 'self'"
    log: list[Any] = []
    messages = await run(SecurityHeadersMiddleware(page(log=log), **OFF, csp=policy), http_scope())
    nonce = log[0]["state"]["csp_nonce"]
    expected = f"script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}' 'self'"
    assert values(messages, b"content-security-policy") == [expected.encode()]


# --- messages and scopes --------------------------------------------------------------------------


async def test_stream_gets_headers_on_the_start_only() -> None:
    """A streamed response: headers on the start; chunks, trailers and the rest as they came."""
    sent = [
        {"type": "http.response.debug", "info": {}},
        start(200, APP_FIELDS, trailers=True),
        body(b"a", more_body=True),
        {"type": "http.response.future", "x": 1},
        body(b"b"),
        {"type": "http.response.trailers", "headers": [(b"x-t", b"1")], "more_trailers": False},
    ]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in sent:
            await send(message)

    messages = await run(SecurityHeadersMiddleware(app), http_scope())
    assert messages[1] == {**sent[1], "headers": [*APP_FIELDS, *DEFAULT_FIELDS]}
    assert all(messages[i] is sent[i] for i in (0, 2, 3, 4, 5))


async def test_given_messages_and_headers_are_not_changed() -> None:
    """The app's start message and its header tuple are left as they were."""
    start_message = {"type": "http.response.start", "status": 200, "headers": ((b"a", b"1"),)}
    before = copy.deepcopy(start_message)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start_message)
        await send(body())

    messages = await run(SecurityHeadersMiddleware(app, on_conflict="replace"), http_scope())
    assert start_message == before
    assert headers_of(messages) == [(b"a", b"1"), *DEFAULT_FIELDS]


async def test_start_without_headers() -> None:
    """A start message without a headers key gets ours."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204})
        await send(body())

    messages = await run(SecurityHeadersMiddleware(app), http_scope())
    assert messages[0] == start(204, DEFAULT_FIELDS)


@pytest.mark.parametrize("scope", [websocket_scope(), lifespan_scope()], ids=["ws", "lifespan"])
async def test_other_scopes_pass_untouched(scope: dict[str, Any]) -> None:
    """WebSocket and lifespan: the app gets the very scope, receive and send."""
    seen: list[Any] = []

    async def app(inner: Scope, receive: Receive, send: Send) -> None:
        seen.extend([inner, receive, send])

    async def receive() -> Mapping[str, Any]:
        raise AssertionError  # pragma: no cover - never called

    async def send(message: Any) -> None:
        raise AssertionError  # pragma: no cover - never called

    await SecurityHeadersMiddleware(app, csp=NONCE_POLICY)(scope, receive, send)
    assert seen == [scope, receive, send]
    assert "csp_nonce" not in scope["state"]


async def test_exceptions_propagate() -> None:
    """The app's exception reaches the server unchanged."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise LookupError("boom")

    with pytest.raises(LookupError, match="boom"):
        await run(SecurityHeadersMiddleware(app, csp=NONCE_POLICY), http_scope())


# --- path overrides -----------------------------------------------------------------------------

DOCS = {"/docs/*": {"csp": "script-src 'self' 'unsafe-inline'", "frame_options": None}}


@pytest.mark.parametrize(
    ("path", "root_path", "docs"),
    [
        ("/docs", "", True),
        ("/docs/index.html", "", True),
        ("/api/docs/x", "/api", True),
        ("/docsx", "", False),
        ("/api/docs", "", False),
        ("/", "", False),
    ],
)
async def test_path_overrides(path: str, root_path: str, docs: bool) -> None:
    """An override applies on its anchored pattern, relative to root_path; elsewhere the base."""
    app = SecurityHeadersMiddleware(page(), **OFF, csp="default-src 'self'", path_overrides=DOCS)
    messages = await run(app, http_scope(path=path, root_path=root_path))
    expected = [(b"content-security-policy", b"script-src 'self' 'unsafe-inline'")]
    base = [(b"content-security-policy", b"default-src 'self'")]
    assert headers_of(messages) == [*APP_FIELDS, *(expected if docs else base)]


@pytest.mark.parametrize("reverse", [False, True], ids=["as-listed", "reversed"])
async def test_the_most_specific_override_wins(reverse: bool) -> None:
    """Exact before prefix, longer before shorter, in either order; an all-off one passes."""
    overrides: dict[str, dict[str, Any]] = {
        "/*": {"frame_options": "SAMEORIGIN"},
        "/a/*": {"frame_options": None},
        "/a/b": {"frame_options": "SAMEORIGIN"},
    }
    if reverse:
        overrides = dict(reversed(overrides.items()))
    options = {**OFF, "frame_options": "DENY"}
    app = SecurityHeadersMiddleware(page(), **options, path_overrides=overrides)
    same_origin = [*APP_FIELDS, (b"x-frame-options", b"SAMEORIGIN")]
    assert headers_of(await run(app, http_scope(path="/a/b"))) == same_origin
    assert headers_of(await run(app, http_scope(path="/a/c"))) == APP_FIELDS
    assert headers_of(await run(app, http_scope(path="/a"))) == APP_FIELDS
    assert headers_of(await run(app, http_scope(path="/b"))) == same_origin


async def test_overrides_are_not_merged() -> None:
    """The matching override's changes apply over the layer's options, not over another's."""
    overrides: dict[str, dict[str, Any]] = {"/*": {"frame_options": None}, "/a": {"csp": "a"}}
    app = SecurityHeadersMiddleware(
        page(), **{**OFF, "frame_options": "DENY"}, path_overrides=overrides
    )
    assert headers_of(await run(app, http_scope(path="/a"))) == [
        *APP_FIELDS,
        (b"x-frame-options", b"DENY"),
        (b"content-security-policy", b"a"),
    ]


async def test_an_empty_override_mapping_keeps_the_base() -> None:
    """``path_overrides={}`` is no override at all: every path gets the layer's options."""
    app = SecurityHeadersMiddleware(page(), **{**OFF, "frame_options": "DENY"}, path_overrides={})
    assert headers_of(await run(app, http_scope(path="/a"))) == [
        *APP_FIELDS,
        (b"x-frame-options", b"DENY"),
    ]


async def test_override_with_a_nonce() -> None:
    """A nonce'd policy on one path only: a nonce there, none elsewhere."""
    log: list[Any] = []
    app = SecurityHeadersMiddleware(
        page(log=log), **OFF, path_overrides={"/app/*": {"csp": NONCE_POLICY}}
    )
    await run(app, http_scope(path="/app/x"))
    await run(app, http_scope(path="/other"))
    assert "csp_nonce" in log[0]["state"]
    assert "csp_nonce" not in log[1]["state"]


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"content_type_options": "yes"}, TypeError, "content_type_options must be a bool"),
        ({"referrer_policy": 1}, TypeError, "referrer_policy must be a str, or None"),
        ({"referrer_policy": "never"}, ValueError, "referrer_policy must be one of 'no-referrer'"),
        ({"frame_options": "ALLOW-FROM https://a.example"}, ValueError, "frame_ancestors"),
        ({"frame_options": 0}, TypeError, "frame_options must be a str"),
        ({"cross_origin_opener_policy": "same"}, ValueError, "cross_origin_opener_policy must be"),
        ({"cross_origin_embedder_policy": "corp"}, ValueError, "'require-corp'"),
        ({"cross_origin_resource_policy": "any"}, ValueError, "'same-site'"),
        ({"hsts": 1}, TypeError, "hsts must be a bool"),
        ({"hsts_max_age": -1}, ValueError, "hsts_max_age must be an int >= 0"),
        ({"hsts_max_age": 1.5}, TypeError, "hsts_max_age must be an int >= 0"),
        ({"csp": 42}, TypeError, "csp must be a ContentSecurityPolicy, a str"),
        ({"csp": "default-src 'self'\r\nx: y"}, ValueError, "csp must be a header value"),
        ({"csp": "default-src a, b"}, ValueError, "a comma starts a second policy"),
        ({"csp": "script-src self"}, ValueError, "keywords are quoted"),
        ({"csp_report_only": "yes"}, TypeError, "csp_report_only must be a bool"),
        ({"report_to": ["x"]}, TypeError, "report_to must be a non-empty mapping"),
        ({"report_to": {}}, ValueError, "report_to must be a non-empty mapping"),
        ({"report_to": {"Bad": "/x"}}, ValueError, "report_to must be endpoint names"),
        ({"report_to": {"a": "/x y"}}, ValueError, r"report_to\['a'\] must be a URL"),
        ({"report_to": {"a": '/"x'}}, ValueError, r"report_to\['a'\] must be a URL"),
        ({"report_to": {"a": "/x\n"}}, ValueError, r"report_to\['a'\] must be a header value"),
        ({"permissions_policy": 1}, TypeError, "permissions_policy must be a str or"),
        ({"permissions_policy": {}}, ValueError, "permissions_policy must be a str or"),
        ({"permissions_policy": "a\nb"}, ValueError, "permissions_policy must be a header value"),
        ({"permissions_policy": {"Cam": []}}, ValueError, "must be feature names"),
        ({"permissions_policy": {"camera": "self"}}, TypeError, "must be a list or tuple"),
        ({"permissions_policy": {"camera": ["*", "self"]}}, ValueError, r"\* already allows"),
        ({"permissions_policy": {"camera": ["ftp//x"]}}, ValueError, r"permissions_policy\["),
        ({"on_conflict": "overwrite"}, ValueError, "on_conflict must be 'keep', 'replace'"),
        ({"on_conflict": ["keep"]}, TypeError, "on_conflict must be 'keep', 'replace'"),
        ({"on_conflict": {"x-other": "keep"}}, ValueError, "the headers are x-content-type"),
        ({"on_conflict": {"x-frame-options": "drop"}}, ValueError, r"on_conflict\['x-frame"),
        ({"on_conflict": {b"x-frame-options": "keep"}}, TypeError, "keyed by str header names"),
        ({"csp": "script-src 'NONCE-abc'"}, ValueError, "a fixed nonce protects nothing"),
        ({"path_overrides": ["/docs"]}, TypeError, "path_overrides must be a mapping"),
        ({"path_overrides": {"docs": {}}}, ValueError, r"path_overrides\[0\] must be a path"),
        ({"path_overrides": {"/docs": "csp"}}, TypeError, r"path_overrides\['/docs'\] must be a"),
        ({"path_overrides": {"/d": {"cps": None}}}, TypeError, "the options are content_type"),
        (
            {"path_overrides": {"/d": {"hsts_max_age": -5}}},
            ValueError,
            r"path_overrides\['/d'\].hsts_max_age must be",
        ),
    ],
)
def test_bad_options_are_refused(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Each bad option fails at construction with the option's name and the rule."""
    with pytest.raises(error, match=message):
        SecurityHeadersMiddleware(page(), **options)


@pytest.mark.parametrize(
    "source", ["'SELF'", "'Self'", "'Unsafe-Inline'", "'SHA256-AAAA'", "'Sha384-AbC+/='"]
)
async def test_keywords_and_hash_algorithms_are_case_insensitive(source: str) -> None:
    """CSP3 matches them ASCII case-insensitively, as browsers do: sent as written."""
    for policy in (f"script-src {source}", ContentSecurityPolicy(script_src=[source])):
        app = SecurityHeadersMiddleware(page(), **OFF, csp=policy)
        messages = await run(app, http_scope())
        assert values(messages, b"content-security-policy") == [f"script-src {source}".encode()]


def test_compose_role() -> None:
    """The order rules of compose know the layer as "security_headers"."""
    assert SecurityHeadersMiddleware._compose_role == "security_headers"


def test_no_per_request_attributes() -> None:
    """__slots__: per-request state cannot land on the instance."""
    app = SecurityHeadersMiddleware(page())
    with pytest.raises(AttributeError):
        app.nonce = "x"  # type: ignore[attr-defined]
