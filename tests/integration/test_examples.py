"""The README example and the demo service in examples/, in process, and what the scripts run."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import shlex
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from asgi_middleware import ASGIApp, Layer, Receive, Scope, Send
from examples import demo
from tests.support.asgi import asgi_client

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest itself installs tomli before Python 3.11
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

REPO = Path(__file__).resolve().parent.parent.parent


def demo_client(*, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    """An in-process client of the demo, at an address its trusted-host layer allows."""
    return asgi_client(
        demo.app, base_url="http://127.0.0.1:8000", raise_app_exceptions=raise_app_exceptions
    )


def _readme_example() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"## Example.*?```python\n(.*?)```", readme, re.DOTALL)
    assert match is not None, "README.md lost its example"
    return match.group(1)


@pytest.mark.anyio
async def test_readme_example_runs_as_written() -> None:
    """The README's example stacks TrustedHost outside GZip and both act."""
    namespace: dict[str, Any] = {}
    exec(compile(_readme_example(), "README.md", "exec"), namespace)  # noqa: S102 - our README
    async with asgi_client(namespace["app"], base_url="http://example.com") as client:
        allowed = await client.get("/", headers={"accept-encoding": "gzip"})
        refused = await client.get("/", headers={"host": "evil.example"})
    assert allowed.headers["content-encoding"] == "gzip"
    assert allowed.text == "hello " * 200
    assert refused.status_code == 400


@pytest.mark.anyio
async def test_demo_index_describes_the_stack() -> None:
    """The demo's index lists its endpoints and the names of its stack's layers."""
    async with demo_client() as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.json()["stack"] == [demo._name(layer) for layer in demo.STACK]
    assert "/stream" in response.json()["endpoints"]


@pytest.mark.anyio
async def test_demo_index_is_compressed() -> None:
    """The demo's index is over the compression minimum, so gzip is visible on its first page."""
    async with demo_client() as client:
        response = await client.get("/", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["service"] == "asgi-middleware demo"


@pytest.mark.anyio
async def test_readme_demo_commands_are_offered_by_the_index() -> None:
    """The README's commands for the demo are among those its index lists, so both stay true."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^curl .*$", readme, re.MULTILINE)
    async with demo_client() as client:
        offered = (await client.get("/")).json()["try"]
    assert commands
    assert set(commands) <= set(offered)


@pytest.mark.anyio
async def test_demo_stream_raw_and_boom() -> None:
    """The demo streams NDJSON, serves the raw ASGI app, and answers /boom with a 500."""
    async with demo_client(raise_app_exceptions=False) as client:
        stream = await client.get("/stream")
        raw = await client.get("/raw/")
        boom = await client.get("/boom")
    assert stream.text.splitlines() == [f'{{"tick": {n}}}' for n in range(5)]
    assert raw.text == "hello from a raw ASGI app\n"
    assert boom.status_code == 500


@pytest.mark.anyio
async def test_demo_stack_acts_on_every_response() -> None:
    """Every layer of the demo's stack leaves its mark on one cross-origin, gzip-accepting GET."""
    headers = {"origin": demo.SPA_ORIGINS[0], "accept-encoding": "gzip"}
    with structlog.testing.capture_logs() as events:
        async with demo_client() as client:
            response = await client.get("/stream", headers=headers)
    request_id = response.headers["x-request-id"]
    assert response.headers["access-control-allow-origin"] == demo.SPA_ORIGINS[0]
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()
    assert response.headers["server-timing"].startswith("app;dur=")
    assert response.headers["content-encoding"] == "gzip"
    assert response.text.splitlines()[0] == '{"tick": 0}'
    access = [event for event in events if event["event"] == "http_request"]
    assert [(e["path"], e["status"], e["request_id"]) for e in access] == [
        ("/stream", 200, request_id)
    ]


@pytest.mark.anyio
async def test_demo_private_challenges_anonymous_requests() -> None:
    """/private answers an anonymous request 401 with the middleware's Bearer challenge."""
    async with demo_client() as client:
        anonymous = await client.get("/private")
    assert anonymous.status_code == 401
    assert anonymous.headers.get_list("www-authenticate") == ['Bearer realm="api"']


@pytest.mark.anyio
async def test_demo_private_answers_the_token_holder() -> None:
    """/private answers the demo token's holder with the user's scopes and a timing entry."""
    async with demo_client() as client:
        holder = await client.get(
            "/private", headers={"authorization": f"Bearer {demo.DEMO_TOKEN}"}
        )
    assert holder.status_code == 200
    assert holder.json()["scopes"] == ["authenticated"]
    assert "lookup;dur=0.200" in holder.headers["server-timing"]


@pytest.fixture
def demo_logging() -> Iterator[None]:
    """Apply the demo's structlog set-up for one test, then put the previous one back."""
    configured, previous = structlog.is_configured(), structlog.get_config()
    demo.configure_logging()
    try:
        yield
    finally:
        if configured:
            structlog.configure(**previous)
        else:
            structlog.reset_defaults()


@pytest.mark.usefixtures("demo_logging")
def test_demo_logging_renders_tracebacks_without_locals(capsys: pytest.CaptureFixture[str]) -> None:
    """The demo's structlog set-up prints an error's traceback but no frame's local variables."""
    secret = "Bearer s3cret-" + uuid.uuid4().hex

    def fail(authorization: str) -> None:
        msg = "the failure"
        raise RuntimeError(msg)

    try:
        fail(secret)
    except RuntimeError as exc:
        structlog.get_logger().error("http_request", exc_info=exc)
    output = capsys.readouterr().out
    assert "http_request" in output
    assert "RuntimeError: the failure" in output
    assert secret not in output


def _dependency_group(name: str) -> set[str]:
    """The canonical project names a dependency group of pyproject.toml installs, includes too."""
    groups = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    names: set[str] = set()
    for item in groups["dependency-groups"][name]:
        if isinstance(item, dict):
            names |= _dependency_group(item["include-group"])
        else:
            names.add(canonicalize_name(Requirement(item).name))
    return names


def _imported_distributions(path: Path) -> dict[str, set[str]]:
    """Each third-party top-level module ``path`` imports, with the distributions providing it."""
    providers = importlib.metadata.packages_distributions()
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.partition(".")[0])
    first_party = {"__future__", "asgi_middleware", "examples"}
    # Python 3.10 maps modules to distributions through top_level.txt only, which wheels built by
    # hatchling (structlog's) lack: there the distribution is assumed to be named as its module.
    return {
        module: {canonicalize_name(name) for name in providers.get(module, [module])}
        for module in modules - first_party - sys.stdlib_module_names
    }


def test_examples_group_installs_what_the_demo_imports() -> None:
    """Every library examples/demo.py imports is in the examples group or the runtime deps."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {canonicalize_name(Requirement(item).name) for item in project["dependencies"]}
    installed = _dependency_group("examples") | runtime
    missing = {
        module: providers
        for module, providers in _imported_distributions(REPO / "examples" / "demo.py").items()
        if not providers & installed
    }
    assert missing == {}


def test_examples_group_installs_a_websocket_library() -> None:
    """The examples group installs a WebSocket library uvicorn uses, else /ws answers 404."""
    assert _dependency_group("examples") & {"websockets", "wsproto"}


class _Secretive:
    def __init__(self, app: ASGIApp, *, token: str) -> None:  # noqa: ARG002
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def test_demo_layer_names_hide_options() -> None:
    """The index names a Layer by its class only, never showing its options."""
    layer = Layer(_Secretive, token="s3cret")  # noqa: S106 - a made-up secret
    assert demo._name(layer) == "_Secretive"
    assert demo._name(_Secretive) == "_Secretive"


def _commands(script: Path) -> list[list[str]]:
    """The simple commands in a shell script, split at ``&&``, ``|`` and ``;``, no assignments.

    A line ending in a backslash continues on the next one, as the shell reads it.
    """
    commands: list[list[str]] = []
    text = script.read_text(encoding="utf-8").replace("\\\n", " ")
    for line in text.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words: list[str] = []
        for token in [*lexer, ";"]:
            if set(token) <= set("();<>|&"):
                commands.append(words)
                words = []
            elif words or not re.fullmatch(r"[A-Za-z_]\w*=\S*", token):
                words.append(token)
    return commands


def test_scripts_test_docs_build_fails_on_warnings() -> None:
    """scripts/test builds the docs --strict, never --quiet: that hides warnings from --strict."""
    commands = _commands(REPO / "scripts" / "test")
    builds = [words for words in commands if words[:2] == ["mkdocs", "build"]]
    assert len(builds) == 1
    assert "--strict" in builds[0]
    assert not {"--quiet", "-q"} & set(builds[0])


@pytest.mark.anyio
async def test_demo_refuses_a_host_it_does_not_serve() -> None:
    """The trusted-host layer answers a foreign Host 400, logged with the request's ID."""
    with structlog.testing.capture_logs() as events:
        async with demo_client() as client:
            response = await client.get("/", headers={"host": "evil.example"})
    assert response.status_code == 400
    assert response.headers["x-request-id"]
    access = [event for event in events if event["event"] == "http_request"]
    assert [(e["status"], e["request_id"]) for e in access] == [
        (400, response.headers["x-request-id"])
    ]


@pytest.mark.anyio
async def test_demo_sends_security_headers_with_a_fresh_nonce() -> None:
    """Every response carries the security headers; the CSP nonce differs per request."""
    async with demo_client() as client:
        first, second = await client.get("/"), await client.get("/private")
    assert first.headers["x-content-type-options"] == "nosniff"
    assert second.status_code == 401
    assert second.headers["x-frame-options"] == "DENY"
    nonces = [
        re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"])
        for response in (first, second)
    ]
    assert all(nonces)
    assert nonces[0] is not None
    assert nonces[1] is not None
    assert nonces[0].group(1) != nonces[1].group(1)
    assert "strict-transport-security" not in first.headers  # plain HTTP: no HSTS


@pytest.mark.anyio
async def test_demo_takes_the_client_from_a_local_proxy() -> None:
    """From 127.0.0.1, X-Forwarded-For and -Proto say who the client is; HSTS then applies."""
    forwarded = {"x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https"}
    with structlog.testing.capture_logs() as events:
        async with demo_client() as client:
            response = await client.get("/", headers=forwarded)
    assert response.json()["try"][0].endswith("https://127.0.0.1:8000/")
    assert response.headers["strict-transport-security"].startswith("max-age=")
    access = [event for event in events if event["event"] == "http_request"]
    assert [event["client"] for event in access] == ["203.0.113.7"]


@pytest.fixture
def demo_behind_tls_proxy(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The demo module executed afresh with ``DEMO_BEHIND_TLS_PROXY=1``."""
    monkeypatch.setenv("DEMO_BEHIND_TLS_PROXY", "1")
    monkeypatch.setenv("DEMO_ALLOWED_HOSTS", "demo.example")
    spec = importlib.util.spec_from_file_location("demo_tls", REPO / "examples" / "demo.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.anyio
async def test_demo_behind_a_tls_proxy_redirects_plain_http(demo_behind_tls_proxy: Any) -> None:
    """DEMO_BEHIND_TLS_PROXY=1: plain HTTP is redirected; what the proxy got over TLS passes."""
    transport = httpx.ASGITransport(app=demo_behind_tls_proxy.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo.example") as client:
        plain = await client.get("/raw/?x=1")
        secure = await client.get("/raw/", headers={"x-forwarded-proto": "https"})
    assert "HTTPSRedirectMiddleware" in [demo._name(layer) for layer in demo_behind_tls_proxy.STACK]
    assert (plain.status_code, plain.headers["location"]) == (307, "https://demo.example/raw/?x=1")
    assert secure.status_code == 200
    assert secure.text == "hello from a raw ASGI app\n"


@pytest.mark.anyio
async def test_demo_metrics_count_requests_by_route_template() -> None:
    """/metrics serves the demo's own registry: requests by route template, itself not counted."""
    before = demo.REGISTRY.get_sample_value(
        "http_server_request_duration_seconds_count",
        {
            "http_request_method": "GET",
            "http_route": "/private",
            "http_response_status_code": "401",
            "url_scheme": "http",
            "network_protocol_version": "1.1",
            "error_type": "",
        },
    )
    async with demo_client() as client:
        await client.get("/private")
        scrape = await client.get("/metrics")
    assert scrape.status_code == 200
    line = (
        'http_server_request_duration_seconds_count{error_type="",http_request_method="GET",'
        'http_response_status_code="401",http_route="/private",network_protocol_version="1.1",'
        'url_scheme="http"} '
    )
    counted = [row for row in scrape.text.splitlines() if row.startswith(line)]
    assert counted == [f"{line}{(before or 0) + 1.0}"]
    assert 'http_route="/metrics"' not in scrape.text


@pytest.mark.anyio
async def test_demo_says_how_many_requests_are_left() -> None:
    """Every response carries the demo policy's RateLimit fields."""
    async with demo_client() as client:
        response = await client.get("/raw/")
    assert response.headers["ratelimit-policy"] == '"demo";q=10;w=1'
    assert response.headers["ratelimit"].startswith('"demo";r=')
