"""A URL's password out of a text before it is shown: a store URL (`mlcc-ci config`, a
message naming it), or an error that quotes an endpoint (`http://user:password@host`)."""

import re

MASK = "***"
# `scheme://user:password@host`, anywhere in a text, also urlencoded as a query value
# (`endpoint_url=http%3A%2F%2Fuser%3Apassword%40host`): the password goes, user and host stay.
# The user information ends at the last `@` before the path, as urllib reads it: a password
# may hold `@` (`u:hun@ter2@host` is all `***`), and so may the user. Starts with a literal
# and bounds what it repeats: linear on any text.
_PASSWORD = re.compile(
    r"((?://|%2[Ff]%2[Ff])(?:[^/\s:?&#%]|%(?!2[Ff]|3[Aa])){0,256}(?::|%3[Aa]))"
    r"(?:[^/\s?&#%]|%(?!2[Ff])){1,1024}(@|%40)"
)
# A query value whose name looks secret (`?password=`, `&aws_secret_access_key=`, `token`,
# `key`, `pwd`, `auth`, `signature`...): the value goes, the name stays.
_SECRET_VALUE = re.compile(
    r"((?:[?&;]|%3[Ff]|%26)[\w.-]{0,64}?(?:pass|pwd|token|secret|key|auth|credential|"
    r"signature|session)[\w.-]{0,64}(?:=|%3[Dd]))[^&#\s;%'\"<>]{1,2048}",
    re.I,
)


def hide_passwords(text: str) -> str:
    """`text` with the password of each URL in it, and each secret-looking query value,
    as `***`."""
    if "//" in text or "%2" in text:
        text = _PASSWORD.sub(rf"\1{MASK}\2", text)
    if "=" in text or "%3" in text:
        text = _SECRET_VALUE.sub(rf"\1{MASK}", text)
    return text
