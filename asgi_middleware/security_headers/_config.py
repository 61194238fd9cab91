"""From the middleware's options to the encoded header blocks a response gets (SPEC §12)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from asgi_middleware._kit.config import option_error, require_bool, require_int
from asgi_middleware._kit.headers import HeaderNames, add_headers, with_headers
from asgi_middleware._kit.types import Headers, RawHeaders
from asgi_middleware.security_headers._values import (
    NONCE_SOURCE,
    check_permissions_policy,
    check_policy,
    check_reporting_endpoints,
    policy_directives,
)
from asgi_middleware.security_headers.csp import ContentSecurityPolicy

__all__ = ["DEFAULTS", "HEADER_NAMES", "Block", "Mode", "build_blocks"]

Mode = Literal["keep", "replace", "append"]
_MODES = ("keep", "replace", "append")

#: The options and their defaults, as SecurityHeadersMiddleware's signature has them.
DEFAULTS: Mapping[str, Any] = {
    "content_type_options": True,
    "referrer_policy": "strict-origin-when-cross-origin",
    "frame_options": "DENY",
    "cross_origin_opener_policy": "same-origin",
    "hsts": True,
    "hsts_max_age": 31536000,
    "hsts_include_subdomains": False,
    "hsts_preload": False,
    "csp": None,
    "csp_report_only": False,
    "report_to": None,
    "permissions_policy": None,
    "cross_origin_embedder_policy": None,
    "cross_origin_resource_policy": None,
    "on_conflict": "keep",
}

#: Every header the layer can send, lower case: the names ``on_conflict`` may use.
HEADER_NAMES = (
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
    "cross-origin-opener-policy",
    "strict-transport-security",
    "content-security-policy",
    "content-security-policy-report-only",
    "reporting-endpoints",
    "permissions-policy",
    "cross-origin-embedder-policy",
    "cross-origin-resource-policy",
)

# The values browsers understand (Referrer Policy §3, HTML's COOP and COEP, Fetch's CORP).
_REFERRER_POLICIES = (
    "no-referrer",
    "no-referrer-when-downgrade",
    "origin",
    "origin-when-cross-origin",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
)
_FRAME_OPTIONS = ("DENY", "SAMEORIGIN")
_COOP = ("same-origin", "same-origin-allow-popups", "noopener-allow-popups", "unsafe-none")
_COEP = ("require-corp", "credentialless", "unsafe-none")
_CORP = ("same-origin", "same-site", "cross-origin")
#: The HSTS preload list's requirements (hstspreload.org): one year, subdomains included.
PRELOAD_MIN_AGE = 31536000


def _choice(option: str, value: object, choices: tuple[str, ...], *, upper: bool = False) -> str:
    if not isinstance(value, str):
        raise option_error(TypeError, option, "a str, or None to turn it off", value)
    normal = value.upper() if upper else value.lower()
    if normal not in choices:
        rule = "one of " + ", ".join(repr(choice) for choice in choices)
        hint = "; use the csp frame_ancestors directive" if normal.startswith("ALLOW-FROM") else ""
        raise option_error(ValueError, option, rule, value, hint)
    return normal


def _referrer_policy(option: str, value: object) -> str:
    if not isinstance(value, str):
        raise option_error(TypeError, option, "a str, or None to turn it off", value)
    # A list is allowed: browsers use the last value they know (Referrer Policy §4.1).
    tokens = [token.strip() for token in value.split(",")]
    return ", ".join(_choice(option, token, _REFERRER_POLICIES) for token in tokens)


def _off(value: object) -> bool:
    return value is None or value is False


class Block:
    """The headers one kind of response gets: encoded once, merged per response.

    ``fields`` are sent as they are; a nonce'd policy is the last field, built per response
    as ``nonce.join(nonce_parts)`` (its value split around the ``{nonce}`` of each
    ``'nonce-{nonce}'``).
    """

    __slots__ = ("_absent", "_modes", "_names", "_replace", "fields", "nonce_name", "nonce_parts")

    def __init__(
        self,
        fields: list[tuple[bytes, bytes]],
        nonce_field: tuple[bytes, bytes] | None,
        modes: Mapping[str, Mode],
    ) -> None:
        self.fields = tuple(fields)
        names = [name for name, _ in fields]
        if nonce_field is None:
            self.nonce_name: bytes | None = None
            self.nonce_parts: tuple[bytes, ...] = ()
        else:
            self.nonce_name = nonce_field[0]
            # Split around each placeholder's nonce only, so a response joins the parts with
            # the nonce and nothing else (benchmark row security-headers-nonce).
            pieces = nonce_field[1].split(NONCE_SOURCE.encode("ascii"))
            self.nonce_parts = (
                pieces[0] + b"'nonce-",
                *(b"'" + piece + b"'nonce-" for piece in pieces[1:-1]),
                b"'" + pieces[-1],
            )
            names.append(nonce_field[0])
        self._names = HeaderNames(*names)
        self._absent = (None,) * len(names)
        self._modes = tuple(modes[name.decode("ascii")] for name in names)
        replaced = [
            name for name, mode in zip(names, self._modes, strict=True) if mode == "replace"
        ]
        self._replace = HeaderNames(*replaced) if replaced else None

    def merge(self, headers: RawHeaders, fields: tuple[tuple[bytes, bytes], ...]) -> Headers:
        """Return a new list: the app's ``headers`` and ours, each per its conflict mode.

        ``fields`` are :attr:`fields`, with the nonce'd policy last when there is one. A field
        of the app's is dropped only when ours of that name replaces it.
        """
        present = self._names.scan(headers)
        if present == self._absent:  # The usual case: the app set none of ours.
            return add_headers(headers, fields)
        chosen = [
            field
            for field, value, mode in zip(fields, present, self._modes, strict=True)
            if value is None or mode != "keep"
        ]
        if self._replace is None:
            return add_headers(headers, chosen)
        return with_headers(headers, chosen, self._replace)


def _modes(value: object) -> dict[str, Mode]:
    if isinstance(value, str):
        if value not in _MODES:
            rule = "'keep', 'replace', 'append' or a mapping of header name to one of them"
            raise option_error(ValueError, "on_conflict", rule, value)
        return dict.fromkeys(HEADER_NAMES, value)  # type: ignore[arg-type]  # checked above
    if not isinstance(value, Mapping):
        rule = "'keep', 'replace', 'append' or a mapping of header name to one of them"
        raise option_error(TypeError, "on_conflict", rule, value)
    modes: dict[str, Mode] = dict.fromkeys(HEADER_NAMES, "keep")
    for name, mode in value.items():
        if not isinstance(name, str):
            hint = "; write header names as text, such as 'x-frame-options'"
            raise option_error(TypeError, "on_conflict", "keyed by str header names", name, hint)
        lowered = name.lower()
        if lowered not in modes:
            hint = "; the headers are " + ", ".join(HEADER_NAMES)
            raise option_error(ValueError, "on_conflict", "keyed by header names", name, hint)
        if mode not in _MODES:
            raise option_error(
                ValueError, f"on_conflict[{name!r}]", "'keep', 'replace' or 'append'", mode
            )
        modes[lowered] = mode
    return modes


def _hsts(options: Mapping[str, Any], prefix: str) -> bytes | None:
    enabled = require_bool(prefix + "hsts", options["hsts"])
    max_age = require_int(prefix + "hsts_max_age", options["hsts_max_age"], minimum=0)
    subdomains = require_bool(
        prefix + "hsts_include_subdomains", options["hsts_include_subdomains"]
    )
    preload = require_bool(prefix + "hsts_preload", options["hsts_preload"])
    if preload:
        # hstspreload.org refuses a site whose header lacks these; refusing here saves the
        # round trip. Preloading is for the whole domain and hard to undo: see the docs.
        if not enabled:
            raise option_error(
                ValueError, prefix + "hsts_preload", "False when hsts is off", preload
            )
        if max_age < PRELOAD_MIN_AGE or not subdomains:
            hint = (
                f"; the preload list requires hsts_max_age >= {PRELOAD_MIN_AGE} and "
                f"hsts_include_subdomains=True, got hsts_max_age={max_age} and "
                f"hsts_include_subdomains={subdomains}"
            )
            rule = "used with a max-age of a year or more and includeSubDomains"
            raise option_error(ValueError, prefix + "hsts_preload", rule, preload, hint)
    if not enabled:
        return None
    value = f"max-age={max_age}"
    if subdomains:
        value += "; includeSubDomains"
    if preload:
        value += "; preload"
    return value.encode("ascii")


def _csp(options: Mapping[str, Any], prefix: str) -> tuple[bytes, bytes] | None:
    policy = options["csp"]
    report_only = require_bool(prefix + "csp_report_only", options["csp_report_only"])
    if _off(policy):
        return None
    if isinstance(policy, ContentSecurityPolicy):
        text = str(policy)
    elif isinstance(policy, str):
        text = check_policy(prefix + "csp", policy)
    else:
        rule = "a ContentSecurityPolicy, a str, or None to send none"
        raise option_error(TypeError, prefix + "csp", rule, policy)
    endpoints = options["report_to"]
    if not _off(endpoints):
        for directive, values in policy_directives(prefix + "csp", text):
            if directive == "report-to" and values and values[0] not in endpoints:
                rule = f"an endpoint of report_to ({', '.join(endpoints)})"
                hint = "; add it to report_to"
                raise option_error(ValueError, prefix + "csp report-to", rule, values[0], hint)
    header = b"content-security-policy-report-only" if report_only else b"content-security-policy"
    return header, text.encode("ascii")


def _static_fields(options: Mapping[str, Any], prefix: str) -> list[tuple[bytes, bytes]]:
    """The fields every response gets, whatever its scheme, but the policy."""
    fields: list[tuple[bytes, bytes]] = []
    if require_bool(prefix + "content_type_options", options["content_type_options"]):
        fields.append((b"x-content-type-options", b"nosniff"))
    value = options["referrer_policy"]
    if not _off(value):
        policy = _referrer_policy(prefix + "referrer_policy", value)
        fields.append((b"referrer-policy", policy.encode("ascii")))
    choices: tuple[tuple[str, bytes, tuple[str, ...]], ...] = (
        ("frame_options", b"x-frame-options", _FRAME_OPTIONS),
        ("cross_origin_opener_policy", b"cross-origin-opener-policy", _COOP),
        ("cross_origin_embedder_policy", b"cross-origin-embedder-policy", _COEP),
        ("cross_origin_resource_policy", b"cross-origin-resource-policy", _CORP),
    )
    for option, name, allowed in choices:
        value = options[option]
        if not _off(value):
            upper = option == "frame_options"
            fields.append((name, _choice(prefix + option, value, allowed, upper=upper).encode()))
    value = options["permissions_policy"]
    if not _off(value):
        policy = check_permissions_policy(prefix + "permissions_policy", value)
        fields.append((b"permissions-policy", policy.encode("ascii")))
    value = options["report_to"]
    if not _off(value):
        fields.append(
            (b"reporting-endpoints", check_reporting_endpoints(prefix + "report_to", value))
        )
    return fields


def build_blocks(options: Mapping[str, Any], prefix: str = "") -> tuple[Block | None, Block | None]:
    """Check ``options`` and return the blocks of plain-HTTP and of HTTPS responses.

    ``None`` for a kind of response that gets no header at all. ``prefix`` goes before the
    option names in error messages (``"path_overrides['/docs/*']."``).
    """
    modes = _modes(options["on_conflict"])
    fields = _static_fields(options, prefix)
    hsts = _hsts(options, prefix)
    policy = _csp(options, prefix)
    nonce_field = None
    if policy is not None:
        if NONCE_SOURCE.encode("ascii") in policy[1]:
            nonce_field = policy
        else:
            fields.append(policy)
    plain = Block(fields, nonce_field, modes) if fields or nonce_field else None
    if hsts is None:
        return plain, plain
    return plain, Block([*fields, (b"strict-transport-security", hsts)], nonce_field, modes)
