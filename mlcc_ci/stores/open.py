"""Turn a store URL (or nothing) into a store, and show one.

With no store named, and in a profile's store (`sqlite:///{data_dir}/static-results.db`),
the folder is the state folder (settings.state_dir): `.mlcc-ci/` beside the settings file,
else the user-wide data folder. Every output shows a SQLite store one way (`sqlite_url`):
`sqlite://` and the file's absolute path, `sqlite:///abs/path.db`, as the README writes it."""

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from mlcc_ci import settings
from mlcc_ci.constants import RUNS_TABLE_NAME, TABLE_NAME
from mlcc_ci.errors import NoStore, UsageError
from mlcc_ci.settings import data_dir
from mlcc_ci.sqliteurl import sqlite_path
from mlcc_ci.stores.base import ResultsStore
from mlcc_ci.stores.sqlite import sqlite_url
from mlcc_ci.urltext import hide_passwords


def shown_url(url: str) -> str:
    """A store URL as outputs show it: a SQLite one as `sqlite_url` (however many slashes it
    was written with, relative ones from here), any other as it is; a password in it, in
    either case, as `***`."""
    parsed = urlparse(url)
    if parsed.scheme != "sqlite":
        return hide_passwords(url)
    path = sqlite_path(parsed.netloc, parsed.path)
    if not path or path == "/" or parsed.password is not None:
        return hide_passwords(url)
    return sqlite_url(Path(path)) + (hide_passwords(f"?{parsed.query}") if parsed.query else "")


def default_url(env: Mapping[str, str] = os.environ) -> str:
    return sqlite_url(settings.state_dir(env) / "results.db")


def expand(url: str, env: Mapping[str, str] = os.environ) -> str:
    """`{data_dir}` in a store URL (a profile's) is the state folder."""
    return url.replace("{data_dir}", str(settings.state_dir(env))) if "{data_dir}" in url else url


def open_store(
    url: str | None = None,
    *,
    table: str | None = None,
    region: str | None = None,
    env: Mapping[str, str] = os.environ,
    create: bool = True,
) -> ResultsStore:
    """Open `url`; `table` is a shortcut for dynamodb://TABLE. Nothing given: SQLite.
    Without `create`, a SQLite file that does not exist is an error, not a new store."""
    if table and url:
        raise UsageError("give either --store or --table, not both")
    if table:
        url = f"dynamodb://{table}"
    url = url or env.get("MLCC_CI_STORE") or default_url(env)
    url = expand(url, env)
    parsed = urlparse(url)
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    if parsed.scheme == "sqlite":
        from mlcc_ci.stores.sqlite import SqliteStore

        path = sqlite_path(parsed.netloc, parsed.path)
        if not path or path == "/":
            raise UsageError(
                f"store URL {hide_passwords(url)!r} names no file: use sqlite:///path/to/file.db"
            )
        if parsed.password is not None:
            raise UsageError(
                f"store URL {hide_passwords(url)!r}: a SQLite store takes no user or password "
                "(a file on this machine: sqlite:///path/to/file.db)"
            )
        if parsed.query:
            raise UsageError(
                f"store URL {hide_passwords(url)!r}: a SQLite store takes no query "
                f"({hide_passwords('?' + parsed.query)}): use sqlite:///path/to/file.db"
            )
        file = settings.expand_home(path, "store URL", repr(hide_passwords(url)))
        if not create and (not file.exists() or _empty(file)):  # an empty file: none yet
            raise NoStore(f"no store at {file}: nothing was registered there. {_others(file, env)}")
        return SqliteStore(file)
    if parsed.scheme == "dynamodb":
        if "@" in parsed.netloc:
            raise UsageError(
                f"store URL {hide_passwords(url)!r}: a DynamoDB table takes no user or "
                "password (credentials come from the AWS environment: AWS_PROFILE, "
                "AWS_ACCESS_KEY_ID)"
            )
        return _dynamo(parsed.netloc or TABLE_NAME, query, region, env)
    raise UsageError(
        f"unknown store URL {hide_passwords(url)!r}: use sqlite:///path.db or "
        "dynamodb://TABLE?region=R"
    )


def _empty(file: Path) -> bool:
    try:
        return file.is_file() and file.stat().st_size == 0
    except OSError:
        return False


def _others(file: Path, env: Mapping[str, str]) -> str:
    """Where results do exist, for a message about a store that does not: a profile's in the
    state folder by --profile, any other (the user-wide ones, from a repository) by --store."""
    state = settings.state_dir(env)
    folders = dict.fromkeys([file.parent, state, data_dir(env)])
    found = sorted(
        str(p) for folder in folders if folder.is_dir() for p in folder.glob("*.db") if p != file
    )
    if found:
        hints = []
        for path in found:
            name = Path(path).name
            profile = name.removesuffix("-results.db") if name.endswith("-results.db") else None
            if profile and Path(path).parent == state:
                hints.append(f"{path} (--profile {profile})")
            else:
                hints.append(f"{path} (--store {sqlite_url(Path(path))})")
        return f"Stores that exist: {', '.join(hints)}"
    return "No store exists yet: `mlcc-ci run` or `mlcc-ci register --from-catalog --all` makes one"


def _dynamo(
    table: str, query: Mapping[str, str], region: str | None, env: Mapping[str, str]
) -> ResultsStore:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    from mlcc_ci.stores.dynamodb import DynamoStore

    try:
        session = boto3.session.Session(profile_name=query.get("profile") or None)
        region = query.get("region") or region or session.region_name
        if not region:
            raise UsageError(
                "no AWS region for the results table: add ?region=R to the store URL, "
                "or set AWS_REGION / AWS_DEFAULT_REGION"
            )
        endpoint = query.get("endpoint_url") or env.get("AWS_ENDPOINT_URL") or None
        client = session.client(
            "dynamodb",
            region_name=region,
            endpoint_url=endpoint,
            config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30),
        )
    except (BotoCoreError, ValueError) as exc:  # unknown profile, bad region or endpoint URL
        raise UsageError(
            f"cannot use the DynamoDB store {table!r}: {hide_passwords(str(exc))}"
        ) from None
    return DynamoStore(
        client, table=table, runs_table=query.get("runs_table") or runs_of(table), region=region
    )


def runs_of(table: str) -> str:
    """The run history beside a stack's results table: `<prefix>-table` has `<prefix>-runs`
    (the stack names both from its prefix); any other name, the default stack's. A stack on
    another's table says its own in its `Store` output (`runs_table=`)."""
    if table.endswith("-table") and len(table) > len("-table"):
        return f"{table.removesuffix('-table')}-runs"
    return RUNS_TABLE_NAME
