"""The file a SQLite store URL names, as written: `sqlite:///abs/path.db` and
`sqlite:////abs/path.db` are absolute; `sqlite://rel.db` and `sqlite:rel.db` relative."""

from urllib.parse import urlparse


def sqlite_file(url: str) -> str | None:
    """The file a SQLite store URL names, as written (None: not a SQLite URL, or no file)."""
    parsed = urlparse(url)
    if parsed.scheme != "sqlite" or parsed.password is not None:
        return None
    return sqlite_path(parsed.netloc, parsed.path) or None


def sqlite_path(netloc: str, path: str) -> str:
    # sqlite:///abs/path and sqlite:////abs/path are absolute; sqlite://rel.db and
    # sqlite:rel.db are relative (to the working folder; in the settings file, to its folder).
    if netloc:
        return netloc + path
    return "/" + path.lstrip("/") if path.startswith("/") else path
