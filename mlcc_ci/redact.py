"""Take secrets out of text before it is stored or printed."""

import re
from collections.abc import Mapping

from mlcc_ci.doconfig import is_secret

MASK = "***"
# Every pattern starts with a literal (the engine then skips ahead in C to where it can
# match) and bounds what it repeats, possessively where a retry could only fail again, so
# scanning is linear whatever the text: a word boundary is checked after the literal, by
# looking behind it, never before.
# Values that are credentials whatever their key is called.
_CREDENTIALS = [
    re.compile(r"A[KS]IA(?<![A-Za-z0-9]A[KS]IA)[0-9A-Z]{16}(?![0-9A-Za-z])"),
    re.compile(r"hf_(?<![A-Za-z0-9_]hf_)[A-Za-z0-9]{16,}"),
    re.compile(r"nvapi-(?<![A-Za-z0-9_]nvapi-)[A-Za-z0-9_-]{8,}"),
    re.compile(r"gh[pousr]_(?<![A-Za-z0-9_]gh[pousr]_)[A-Za-z0-9]{20,}"),
    re.compile(r"github_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"xox[abpr]-[A-Za-z0-9-]{10,}"),
    re.compile(
        r"-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----[\s\S]*?"
        r"(?:-----END [A-Z ]{0,40}PRIVATE KEY-----|\Z)"
    ),
    # webhook URLs are their own credential
    re.compile(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+"),
    re.compile(r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[A-Za-z0-9/_-]+"),
    re.compile(r"https://[a-z0-9-]{1,63}\.webhook\.office\.com/[A-Za-z0-9/@_-]+"),
]
# A URL with a password (https://user:pass@host, postgres://app:pw@db/...): the user and
# password go, the scheme and host stay.
_USERINFO = re.compile(r"://[^/\s:@]{1,256}:[^/\s@]{1,1024}@")
# Secrets recognised by what precedes them, in any case (matched on the lowered text): the
# value after a secret-named key (`API_KEY=...`, `password: ...`), and a bearer token.
_ASSIGNED = re.compile(
    r"(?:token|secret|passw(?:or)?d|api[_-]?key)[a-z0-9_]{0,64}+\s{0,8}+[=:]\s{0,8}+"
    r"(\"[^\"]{0,4096}\"|'[^']{0,4096}'|\S{1,4096})"
)
_BEARER = re.compile(r"bearer\s{1,8}([a-z0-9._~+/=-]{8,4096})")
# What each pattern above cannot match without, in the text lowered: text holding none of
# them has nothing to mask (one search instead of thirteen, for nearly every text read).
_MAYBE = re.compile(
    r"akia|asia|hf_|nvapi-|gh[pousr]_|github_pat_|xox[abpr]-|-----begin|://|bearer|token|"
    r"secret|passw|api"
)


def looks_secret(value: str) -> bool:
    """Whether `value` holds something shaped like a credential."""
    if not _MAYBE.search(value.lower()):
        return False
    return bool(_USERINFO.search(value)) or any(p.search(value) for p in _CREDENTIALS)


def secret_values(env: Mapping[str, str]) -> list[str]:
    """Values of secret-named variables, longest first, so none is half-masked."""
    values = {v for k, v in env.items() if is_secret(k) and len(v) >= 4}
    return sorted(values, key=len, reverse=True)


def _mask_group(text: str, pattern: re.Pattern[str]) -> str:
    """Mask group 1 of every match of `pattern` in `text`, matching without regard to case."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a character whose lower case is longer: keep positions
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    out, last = [], 0
    for match in pattern.finditer(lowered):
        out += [text[last : match.start(1)], MASK]
        last = match.end(1)
    return "".join(out) + text[last:] if out else text


def redact(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """`text` with known secret values, credential-shaped values and `key=secret` pairs
    masked; a URL keeps its scheme and host but loses its user and password."""
    for value in secrets:
        text = text.replace(value, MASK)
    if not _MAYBE.search(text.lower()):
        return text
    if "://" in text:
        text = _USERINFO.sub("://" + MASK + "@", text)
    for pattern in _CREDENTIALS:
        text = pattern.sub(MASK, text)
    text = _mask_group(text, _BEARER)
    return _mask_group(text, _ASSIGNED)
