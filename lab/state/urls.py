"""Redis URLs as the lab shows them: never with their password (in any of the forms redis-py reads one)."""

from __future__ import annotations

import re


def redact(address: str) -> str:
    """The URL without its password, in every form redis-py reads one: `user:pass@`, a password holding `@`
    or `:` (redis-py, like urllib, splits at the last `@` and the first `:`), and `?password=`."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "", address
    end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    netloc, tail = rest[:end], rest[end:]
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:***@{hostport}" if colon else f"***@{hostport}"
    tail = re.sub(r"(?i)([?&;]password=)[^&#;]*", r"\1***", tail)
    return f"{scheme}{sep}{netloc}{tail}"


def passwords(address: str | None) -> list[str]:
    """Every password a URL carries (as written and decoded), for the report to scrub."""
    from urllib.parse import parse_qs, unquote, urlsplit

    if not address:
        return []
    found: list[str] = []
    try:
        parts = urlsplit(address)
        if parts.password:
            found.append(parts.password)
        for value in parse_qs(parts.query).get("password", []):
            found.append(value)
    except ValueError:
        pass
    return [p for secret in found for p in {secret, unquote(secret)} if p]
