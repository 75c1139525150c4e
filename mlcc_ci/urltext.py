"""A URL's password out of a text before it is shown: a store URL (`mlcc-ci config`, a
message naming it), or an error that quotes an endpoint (`http://user:password@host`)."""

import re

MASK = "***"
# `scheme://user:password@host`, anywhere in a text, also urlencoded as a query value
# (`endpoint_url=http%3A%2F%2Fuser%3Apassword%40host`): the password goes, user and host stay.
# Starts with a literal and bounds what it repeats: linear on any text.
_PASSWORD = re.compile(
    r"((?://|%2[Ff]%2[Ff])[^/\s:@?&#%]{0,256}(?::|%3[Aa]))[^/\s@?&#]{1,1024}(@|%40)"
)


def hide_passwords(text: str) -> str:
    """`text` with the password of each URL in it as `***`."""
    if "//" not in text and "%2" not in text:
        return text
    return _PASSWORD.sub(rf"\1{MASK}\2", text)
