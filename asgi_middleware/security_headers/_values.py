"""Checks and serialisations of the header values the security headers layer sends.

Each ``check_*`` follows the kit's validator shape (``check_x(option, value) -> value``, the
message ``"<option> must be <rule>, got <value!r>"``), so a bad value fails at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from asgi_middleware._kit.config import option_error, require_header_value, require_strings
from asgi_middleware._kit.origins import require_origin

__all__ = [
    "NONCE_SOURCE",
    "check_directive_name",
    "check_permissions_policy",
    "check_policy",
    "check_reporting_endpoints",
    "check_source",
    "parse_policy",
    "policy_directives",
    "serialize_permissions_policy",
]

#: How a nonce'd source is written in a policy string; replaced per response by a fresh one.
NONCE_SOURCE = "'nonce-{nonce}'"

# CSP3 §2.2.1: directive-name = 1*( ALPHA / DIGIT / "-" ), compared in lower case.
_DIRECTIVE_NAME = re.compile(r"[A-Za-z0-9-]+")
# CSP3 §2.2.1: directive-value characters are visible ASCII but "," and ";"; within a source
# list, sources are separated by whitespace.
_SOURCE = re.compile(r"[!-+\--:<-~]+")
# CSP3 §2.3.1: 'sha256-<base64>' and friends; nonces are written with NONCE_SOURCE instead.
# Keywords and hash algorithms match ASCII case-insensitively ('SELF' is 'self').
_HASH = re.compile(r"'sha(?:256|384|512)-[A-Za-z0-9+/_-]+={0,2}'", re.IGNORECASE)
_KEYWORD = re.compile(r"'[a-z-]+'", re.IGNORECASE)
# Keywords a policy must quote: unquoted, "self" is a host named self (a classic mistake).
_BARE_KEYWORDS = frozenset(
    {
        "self",
        "none",
        "unsafe-inline",
        "unsafe-eval",
        "unsafe-hashes",
        "strict-dynamic",
        "report-sample",
        "wasm-unsafe-eval",
    }
)
# Directives whose value is a source list (CSP3 §6.1, §6.3, §6.4): quoting rules apply.
_SOURCE_LISTS = frozenset(
    {
        "default-src",
        "script-src",
        "script-src-elem",
        "script-src-attr",
        "style-src",
        "style-src-elem",
        "style-src-attr",
        "img-src",
        "connect-src",
        "font-src",
        "object-src",
        "media-src",
        "frame-src",
        "child-src",
        "worker-src",
        "manifest-src",
        "fenced-frame-src",
        "frame-ancestors",
        "base-uri",
        "form-action",
    }
)
#: The directives where a nonce means something (CSP3 §8.2): scripts, styles and their fallback.
NONCE_DIRECTIVES = frozenset(
    {
        "default-src",
        "script-src",
        "script-src-elem",
        "style-src",
        "style-src-elem",
    }
)
# RFC 8941 §3.2: a dictionary key, as Reporting-Endpoints names its endpoints.
_SF_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
# Permissions Policy §5: a feature name is a token of lower-case letters, digits and "-".
_FEATURE = re.compile(r"[a-z][a-z0-9-]*")


def check_directive_name(option: str, name: object) -> str:
    """Return ``name`` in lower case if it is a CSP directive name."""
    if not isinstance(name, str):
        raise option_error(TypeError, option, "a str", name)
    if _DIRECTIVE_NAME.fullmatch(name) is None:
        raise option_error(ValueError, option, "a directive name (letters, digits and -)", name)
    return name.lower()


def check_source(option: str, source: object, directive: str) -> str:
    """Return ``source`` if it can be one item of ``directive``'s value.

    One item: visible ASCII without whitespace, ``,`` or ``;`` (which would end the directive or
    the policy). In a source list, keywords must be quoted and a fixed nonce is refused: a nonce
    the same in every response protects nothing (``'nonce-{nonce}'`` is the per-response one).
    """
    if not isinstance(source, str):
        raise option_error(TypeError, option, "a str", source)
    if _SOURCE.fullmatch(source) is None:
        rule = "one source (visible ASCII, no whitespace, ',' or ';')"
        raise option_error(ValueError, option, rule, source)
    if directive not in _SOURCE_LISTS:
        return source
    if source.lower() in _BARE_KEYWORDS:
        hint = f"; keywords are quoted: \"'{source.lower()}'\""
        raise option_error(ValueError, option, "a source expression", source, hint)
    if source == NONCE_SOURCE:
        if directive not in NONCE_DIRECTIVES:
            rule = f"a source {directive} allows (a nonce applies to scripts and styles only)"
            raise option_error(ValueError, option, rule, source)
        return source
    if source.lower().startswith("'nonce-"):
        hint = "; a fixed nonce protects nothing: use NONCE for a fresh one per response"
        raise option_error(ValueError, option, "not a fixed nonce", source, hint)
    if source.startswith("'") and (
        _KEYWORD.fullmatch(source) is None and _HASH.fullmatch(source) is None
    ):
        rule = "a quoted keyword such as 'self' or a hash such as 'sha256-<base64>'"
        raise option_error(ValueError, option, rule, source)
    return source


def parse_policy(text: str) -> list[tuple[str, list[str]]]:
    """Split a serialised policy into ``(name, values)`` pairs, names as written.

    Empty directives (``;;``, a trailing ``;``) are skipped, as browsers do (CSP3 §2.2.1).
    """
    directives: list[tuple[str, list[str]]] = []
    for part in text.split(";"):
        tokens = part.split()
        if tokens:
            directives.append((tokens[0], tokens[1:]))
    return directives


def policy_directives(option: str, text: str) -> list[tuple[str, list[str]]]:
    """Check a serialised policy and return its directives, names in lower case."""
    if "," in text:
        hint = "; a comma starts a second policy: configure one policy"
        raise option_error(ValueError, option, "one policy (no ',')", text, hint)
    directives = parse_policy(text)
    if not directives:
        raise option_error(ValueError, option, "a policy of at least one directive", text)
    seen: set[str] = set()
    result: list[tuple[str, list[str]]] = []
    for raw_name, values in directives:
        name = check_directive_name(f"{option} directive", raw_name)
        if name in seen:
            hint = f"; browsers ignore every {name} but the first: merge their sources"
            raise option_error(
                ValueError, option, "a policy naming each directive once", text, hint
            )
        seen.add(name)
        result.append((name, [check_source(f"{option} {name}", v, name) for v in values]))
    return result


def check_policy(option: str, value: object) -> str:
    """Return ``value`` stripped if it is one Content-Security-Policy (CSP3 §2.2.1)."""
    text = require_header_value(option, value.strip() if isinstance(value, str) else value)
    policy_directives(option, text)
    return text


def check_reporting_endpoints(option: str, value: object) -> bytes:
    """Return the ``Reporting-Endpoints`` value for a mapping of endpoint names to URLs."""
    rule = "a non-empty mapping of endpoint name to URL"
    if not isinstance(value, Mapping):
        raise option_error(TypeError, option, rule, value)
    if not value:
        raise option_error(ValueError, option, rule, value)
    items: list[str] = []
    for name, url in value.items():
        if not isinstance(name, str) or _SF_KEY.fullmatch(name) is None:
            rule = "endpoint names of lower-case letters, digits and _-.* (RFC 8941 keys)"
            raise option_error(ValueError, option, rule, name)
        require_header_value(f"{option}[{name!r}]", url)
        if '"' in url or "\\" in url or " " in url:
            raise option_error(ValueError, f"{option}[{name!r}]", "a URL", url)
        items.append(f'{name}="{url}"')
    return ", ".join(items).encode("ascii")


def check_permissions_policy(option: str, value: object) -> str:
    """Return a ``Permissions-Policy`` value from a string or a feature -> allowlist mapping."""
    if isinstance(value, str):
        return require_header_value(option, value)
    rule = "a str or a non-empty mapping of feature to allowed origins"
    if not isinstance(value, Mapping):
        raise option_error(TypeError, option, rule, value)
    if not value:
        raise option_error(ValueError, option, rule, value)
    policy: dict[str, tuple[str, ...]] = {}
    for feature, allowed in value.items():
        if not isinstance(feature, str) or _FEATURE.fullmatch(feature) is None:
            rule = "feature names of lower-case letters, digits and -"
            raise option_error(ValueError, option, rule, feature)
        origins = require_strings(f"{option}[{feature!r}]", allowed)
        if "*" in origins and len(origins) > 1:
            hint = "; * already allows every origin"
            rule = '["*"] alone or a list of "self" and origins'
            raise option_error(ValueError, f"{option}[{feature!r}]", rule, list(origins), hint)
        policy[feature] = tuple(
            item if item in ("self", "*") else require_origin(f"{option}[{feature!r}]", item)
            for item in origins
        )
    return serialize_permissions_policy(policy)


def serialize_permissions_policy(policy: Mapping[str, tuple[str, ...]]) -> str:
    """Serialise checked features as an RFC 8941 dictionary of inner lists."""
    items = []
    for feature, allowed in policy.items():
        if allowed == ("*",):
            items.append(f"{feature}=*")
        else:
            members = " ".join(item if item in ("self", "*") else f'"{item}"' for item in allowed)
            items.append(f"{feature}=({members})")
    return ", ".join(items)
