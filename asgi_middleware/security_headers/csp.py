"""A typed, immutable Content-Security-Policy, with per-response nonces (SPEC §12, CSP Level 3).

``str(policy)`` is the header value; each :data:`NONCE` source is written ``'nonce-{nonce}'``,
which :class:`~asgi_middleware.security_headers.SecurityHeadersMiddleware` replaces with a fresh
nonce in every response (the same placeholder works in a policy given as a plain string).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any, Final, Union

from asgi_middleware._kit.config import option_error, require_bool, require_token
from asgi_middleware.security_headers._values import (
    NONCE_SOURCE,
    check_directive_name,
    check_source,
)

__all__ = ["NONCE", "ContentSecurityPolicy", "Nonce"]


class Nonce(enum.Enum):
    """The type of :data:`NONCE`, the per-response nonce source of a policy.

    Added in version 0.1.0.
    """

    NONCE = NONCE_SOURCE

    def __repr__(self) -> str:
        return "NONCE"


NONCE: Final = Nonce.NONCE
"""A source replaced in each response by ``'nonce-<fresh value>'``, such as
``script_src=["'self'", NONCE]``; the value is also in ``request.state.csp_nonce``."""

#: A directive's sources as the builder takes them.
Sources = Union[Sequence[Union[str, Nonce]], None]  # noqa: UP007 - a runtime alias on 3.10 too

# The keyword arguments that are source lists, in the order they are written: fallbacks first.
_SOURCE_LISTS = (
    "default_src",
    "script_src",
    "script_src_elem",
    "script_src_attr",
    "style_src",
    "style_src_elem",
    "style_src_attr",
    "img_src",
    "connect_src",
    "font_src",
    "object_src",
    "media_src",
    "frame_src",
    "child_src",
    "worker_src",
    "manifest_src",
    "frame_ancestors",
    "base_uri",
    "form_action",
)
_KEYWORDS = frozenset({*_SOURCE_LISTS, "sandbox", "upgrade_insecure_requests", "report_uri"})
_TYPED_NAMES = {keyword.replace("_", "-"): keyword for keyword in (*_KEYWORDS, "report_to")}


def _directive_name(keyword: str) -> str:
    return keyword.replace("_", "-")


def _sources(option: str, value: object, name: str, *, empty: bool) -> tuple[str, ...]:
    """Check one directive's sources; :data:`NONCE` becomes its placeholder."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise option_error(TypeError, option, "a list or tuple of sources", value)
    if not value and not empty:
        hint = "; to allow nothing, write [\"'none'\"]"
        raise option_error(ValueError, option, "a non-empty list of sources", value, hint)
    sources = []
    for index, item in enumerate(value):
        source = item.value if isinstance(item, Nonce) else item
        sources.append(check_source(f"{option}[{index}]", source, name))
    return tuple(sources)


class ContentSecurityPolicy:
    """An immutable Content-Security-Policy, checked when it is built.

    Each keyword argument is one directive (``script_src`` is ``script-src``); ``None`` (the
    default) leaves it out. Sources are written as CSP writes them: keywords quoted
    (``"'self'"``, ``"'none'"``), hosts and schemes bare (``"https://cdn.example"``,
    ``"data:"``), hashes as ``"'sha256-...'"``. :data:`NONCE` stands for a nonce made fresh
    for every response. Values are checked at construction: no whitespace, ``,`` or ``;``
    inside a source (they would end the directive or start another policy), no unquoted
    keyword, no fixed nonce. ``str(policy)`` is the header value.

    Args:
        default_src: The fallback of every fetch directive not given.
        script_src: Scripts; put :data:`NONCE` here for nonce'd inline scripts.
        script_src_elem: ``<script>`` elements, over ``script_src``.
        script_src_attr: Inline event handlers, over ``script_src``.
        style_src: Stylesheets and inline styles.
        style_src_elem: ``<style>`` and ``<link rel=stylesheet>``, over ``style_src``.
        style_src_attr: ``style`` attributes, over ``style_src``.
        img_src: Images and favicons.
        connect_src: ``fetch``, XHR, WebSocket and EventSource URLs.
        font_src: Fonts.
        object_src: ``<object>`` and ``<embed>``; ``["'none'"]`` is recommended.
        media_src: Audio and video.
        frame_src: Frames this page may embed.
        child_src: Frames and workers, the fallback of ``frame_src`` and ``worker_src``.
        worker_src: Workers and service workers.
        manifest_src: The web app manifest.
        frame_ancestors: Who may embed this page; the modern ``X-Frame-Options``.
        base_uri: What ``<base href>`` may be.
        form_action: Where forms may submit.
        sandbox: Sandbox the page; ``[]`` for every restriction, or tokens that lift some
            (``"allow-scripts"``).
        upgrade_insecure_requests: Load ``http:`` subresources over ``https:``.
        report_uri: URLs violation reports are posted to (the older mechanism).
        report_to: The name of a ``Reporting-Endpoints`` endpoint for violation reports.
        extra: Other directives by name (``{"require-trusted-types-for": ["'script'"]}``);
            ``True`` writes a directive without a value, ``False`` leaves it out.

    Raises:
        TypeError: A directive of the wrong type.
        ValueError: A bad source, no directive at all, or a directive in ``extra`` that has
            a keyword argument.

    Example:
        ```python
        policy = ContentSecurityPolicy(
            default_src=["'self'"], script_src=["'self'", NONCE], object_src=["'none'"]
        )
        str(policy)  # "default-src 'self'; script-src 'self' 'nonce-{nonce}'; object-src 'none'"
        ```

    Added in version 0.1.0.
    """

    __slots__ = ("_directives", "_options")

    def __init__(
        self,
        *,
        default_src: Sources = None,
        script_src: Sources = None,
        script_src_elem: Sources = None,
        script_src_attr: Sources = None,
        style_src: Sources = None,
        style_src_elem: Sources = None,
        style_src_attr: Sources = None,
        img_src: Sources = None,
        connect_src: Sources = None,
        font_src: Sources = None,
        object_src: Sources = None,
        media_src: Sources = None,
        frame_src: Sources = None,
        child_src: Sources = None,
        worker_src: Sources = None,
        manifest_src: Sources = None,
        frame_ancestors: Sources = None,
        base_uri: Sources = None,
        form_action: Sources = None,
        sandbox: Sequence[str] | None = None,
        upgrade_insecure_requests: bool = False,
        report_uri: Sequence[str] | None = None,
        report_to: str | None = None,
        extra: Mapping[str, Sequence[str | Nonce] | bool] | None = None,
    ) -> None:
        options = dict(locals())
        del options["self"]
        self._options: dict[str, Any] = options
        directives: list[tuple[str, tuple[str, ...]]] = []
        for keyword in _SOURCE_LISTS:
            value = options[keyword]
            if value is not None:
                name = _directive_name(keyword)
                directives.append((name, _sources(keyword, value, name, empty=False)))
        if sandbox is not None:
            directives.append(("sandbox", _sources("sandbox", sandbox, "sandbox", empty=True)))
        if require_bool("upgrade_insecure_requests", upgrade_insecure_requests):
            directives.append(("upgrade-insecure-requests", ()))
        if report_uri is not None:
            uris = _sources("report_uri", report_uri, "report-uri", empty=False)
            directives.append(("report-uri", uris))
        if report_to is not None:
            directives.append(("report-to", (require_token("report_to", report_to),)))
        if extra is not None:
            directives += self._extra(extra)
        if not directives:
            hint = "; give at least default_src"
            raise option_error(ValueError, "ContentSecurityPolicy", "one directive", None, hint)
        self._directives = tuple(directives)

    @staticmethod
    def _extra(extra: object) -> list[tuple[str, tuple[str, ...]]]:
        if not isinstance(extra, Mapping):
            raise option_error(TypeError, "extra", "a mapping of directive name to sources", extra)
        directives: list[tuple[str, tuple[str, ...]]] = []
        for raw_name, value in extra.items():
            name = check_directive_name("extra", raw_name)
            if name in _TYPED_NAMES:
                hint = f"; use the keyword argument {_TYPED_NAMES[name]}"
                raise option_error(ValueError, "extra", "other directives", raw_name, hint)
            if isinstance(value, bool):
                if value:
                    directives.append((name, ()))
                continue
            directives.append((name, _sources(f"extra[{raw_name!r}]", value, name, empty=True)))
        return directives

    @property
    def directives(self) -> dict[str, tuple[str, ...]]:
        """The directives in the order they are written: name -> sources (a new dict)."""
        return dict(self._directives)

    @property
    def uses_nonce(self) -> bool:
        """Whether a directive holds :data:`NONCE`, so each response needs a fresh nonce."""
        return any(NONCE_SOURCE in sources for _, sources in self._directives)

    def replace(self, **changes: Any) -> ContentSecurityPolicy:
        """Return a new policy: this one's arguments, updated with ``changes``.

        For a per-path variant: ``policy.replace(script_src=["'self'", "'unsafe-eval'"])``;
        ``None`` removes a directive.
        """
        unknown = sorted(set(changes) - set(self._options))
        if unknown:
            msg = f"replace() got unknown directive keywords {unknown!r}"
            raise TypeError(msg)
        return ContentSecurityPolicy(**{**self._options, **changes})

    def __str__(self) -> str:
        return "; ".join(" ".join((name, *sources)) for name, sources in self._directives)

    def __repr__(self) -> str:
        return f"ContentSecurityPolicy({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ContentSecurityPolicy):
            return NotImplemented
        return self._directives == other._directives

    def __hash__(self) -> int:
        return hash(self._directives)
