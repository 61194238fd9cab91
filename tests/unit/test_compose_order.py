"""compose()'s order warnings over the real middleware classes (SPEC §9).

The rule machinery itself is tested in ``test_compose.py`` with rules of the test's own; these
tests pin the shipped rules to the shipped classes, so a renamed role or a dropped rule fails here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from asgi_middleware import (
    AccessLogMiddleware,
    AuthenticationMiddleware,
    BearerTokenBackend,
    CompressionMiddleware,
    CORSMiddleware,
    GZipMiddleware,
    Layer,
    LayerLike,
    RequestIDMiddleware,
    TimingMiddleware,
    compose,
)
from tests.support.server_apps import app

_CORS = Layer(CORSMiddleware, allow_origins=["https://app.example"])
_AUTH = Layer(AuthenticationMiddleware, backend=BearerTokenBackend(tokens=["t0ken"]))


def _quiet(layers: Sequence[LayerLike]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compose(app, *layers)


@pytest.mark.parametrize(
    ("layers", "match"),
    [
        pytest.param(
            (_AUTH, _CORS),
            r"the auth layer \(layers\[0\]\) is outside the cors layer \(layers\[1\]\)",
            id="auth-outside-cors",
        ),
        pytest.param(
            (AccessLogMiddleware, RequestIDMiddleware),
            r"the access_log layer \(layers\[0\]\) is outside the request_id layer",
            id="access-log-outside-request-id",
        ),
        pytest.param(
            (CompressionMiddleware, AccessLogMiddleware),
            r"the compression layer \(layers\[0\]\) is outside the access_log layer",
            id="compression-outside-access-log",
        ),
        pytest.param(
            (GZipMiddleware, TimingMiddleware, AccessLogMiddleware),
            r"the compression layer \(layers\[0\]\) is outside the access_log layer \(layers\[2",
            id="gzip-outside-access-log",
        ),
    ],
)
def test_almost_always_wrong_orders_warn(layers: Sequence[LayerLike], match: str) -> None:
    """Each order SPEC §9 names as almost always wrong warns at compose time, naming positions."""
    with pytest.warns(UserWarning, match=match):
        compose(app, *layers)


def test_recommended_order_is_quiet() -> None:
    """The documented order (CORS, request ID, access log, timing, auth, compression) is quiet."""
    _quiet(
        (
            _CORS,
            RequestIDMiddleware,
            AccessLogMiddleware,
            TimingMiddleware,
            _AUTH,
            CompressionMiddleware,
        )
    )


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: (_CORS, _AUTH), id="auth-inside-cors"),
        pytest.param(lambda: (RequestIDMiddleware, AccessLogMiddleware), id="id-outside-log"),
        pytest.param(lambda: (AccessLogMiddleware, GZipMiddleware), id="gzip-inside-log"),
        pytest.param(lambda: (CompressionMiddleware, _AUTH), id="unrelated-roles"),
    ],
)
def test_right_orders_are_quiet(build: Callable[[], Sequence[Any]]) -> None:
    """A pair in the right order, or a pair no rule relates, gives no warning."""
    _quiet(build())


@pytest.mark.parametrize(
    ("cls", "role"),
    [
        (CORSMiddleware, "cors"),
        (RequestIDMiddleware, "request_id"),
        (AccessLogMiddleware, "access_log"),
        (TimingMiddleware, "timing"),
        (AuthenticationMiddleware, "auth"),
        (CompressionMiddleware, "compression"),
        (GZipMiddleware, "compression"),
    ],
)
def test_every_middleware_declares_its_role(cls: type, role: str) -> None:
    """Each middleware class names the role the order rules refer to."""
    assert getattr(cls, "_compose_role", None) == role
