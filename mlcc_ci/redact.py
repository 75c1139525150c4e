"""Take secrets out of text before it is stored or printed."""

import re
from collections.abc import Mapping

from mlcc_ci.doconfig import is_secret

MASK = "***"
# Values that are credentials whatever their key is called.
_CREDENTIALS = [
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(r"\bhf_[A-Za-z0-9]{16,}\b"),
    re.compile(r"\bnvapi-[A-Za-z0-9_-]{8,}"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}"),
    re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)"
    ),
]
# A URL with a password (https://user:pass@host, postgres://app:pw@db/...).
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@")
# Secrets recognised by what precedes them.
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
_ASSIGNED = re.compile(
    r"(?i)\b([A-Z0-9_]*(?:token|secret|password|passwd|api[_-]?key)[A-Z0-9_]*)"
    r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)"
)


def looks_secret(value: str) -> bool:
    """Whether `value` holds something shaped like a credential."""
    return bool(_USERINFO.search(value)) or any(p.search(value) for p in _CREDENTIALS)


def secret_values(env: Mapping[str, str]) -> list[str]:
    """Values of secret-named variables, longest first, so none is half-masked."""
    values = {v for k, v in env.items() if is_secret(k) and len(v) >= 4}
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """`text` with known secret values, credential-shaped values and `key=secret` pairs
    masked; a URL keeps its scheme and host but loses its user and password."""
    for value in secrets:
        text = text.replace(value, MASK)
    text = _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    for pattern in _CREDENTIALS:
        text = pattern.sub(MASK, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _ASSIGNED.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
