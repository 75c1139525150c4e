"""Build logs in CloudWatch: one stream per executor build, `build/<configId>/<runId>/<build
UUID>`, in the stack's log group (`log_group`). Storage errors become domain errors here."""

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, urlparse

from mlcc_ci.constants import LOG_GROUP
from mlcc_ci.errors import NotFound, StoreError, UsageError

# The stack names its log group after its prefix and says which in the executor's
# environment; a person reading a second stack's logs sets it, or names it in the store URL.
LOG_GROUP_ENV = "MLCC_CI_LOG_GROUP"
# CloudWatch Logs' own rule for a log group name
_GROUP_NAME = re.compile(r"[.\-_/#A-Za-z0-9]{1,512}")


class LogsUnavailable(StoreError):
    """CloudWatch Logs cannot be read (no credentials, unreachable, not allowed)."""


def log_group(env: Mapping[str, str] | None = None, store_url: str | None = None) -> str:
    """The build logs' group: the `log_group=` of the results store's dynamodb:// URL (the
    one given, else MLCC_CI_STORE), else MLCC_CI_LOG_GROUP, else the default
    (`ml-container-creator-ci`). A name CloudWatch would refuse is a one-line error. `env`:
    this process's environment unless given."""
    if env is None:
        import os

        env = os.environ
    url = store_url or env.get("MLCC_CI_STORE") or ""
    parsed = urlparse(url)
    given = parse_qs(parsed.query).get("log_group", []) if parsed.scheme == "dynamodb" else []
    if given:
        name, where = given[-1], "the store URL's log_group"
    elif env.get(LOG_GROUP_ENV):
        name, where = env[LOG_GROUP_ENV], LOG_GROUP_ENV
    else:
        return LOG_GROUP
    if not _GROUP_NAME.fullmatch(name):
        raise UsageError(
            f"{where} is not a CloudWatch Logs group name: {name!r} (letters, digits and "
            "._-/#, at most 512)"
        )
    return name


def client(session: Any, region: str | None, env: Mapping[str, str]) -> Any:
    """A CloudWatch Logs client in `region` (the results table's, else the session's)."""
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    region = region or session.region_name
    if not region:
        raise LogsUnavailable(
            "no AWS region for CloudWatch Logs: set AWS_REGION or AWS_DEFAULT_REGION"
        )
    try:
        return session.client(
            "logs",
            region_name=region,
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            config=Config(retries={"total_max_attempts": 2}, connect_timeout=5, read_timeout=30),
        )
    except (BotoCoreError, ValueError) as exc:
        raise LogsUnavailable(f"cannot use CloudWatch Logs in {region}: {exc}") from None


def _call(logs: Any, operation: str, **kwargs: Any) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response: dict[str, Any] = getattr(logs, operation)(**kwargs)
        return response
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            stream = kwargs.get("logStreamName") or kwargs.get("logStreamNamePrefix", "")
            group = kwargs.get("logGroupName", "")
            raise NotFound(
                f"no log stream {stream} in {group} (CloudWatch keeps build logs three months)"
            ) from None
        message = exc.response.get("Error", {}).get("Message", "")
        raise LogsUnavailable(f"cannot read CloudWatch Logs: {code}: {message}") from None
    except BotoCoreError as exc:
        raise LogsUnavailable(f"cannot read CloudWatch Logs: {exc}") from None


def find_stream(logs: Any, prefix: str, group: str = LOG_GROUP) -> str | None:
    """The newest stream of `group` whose name starts with `prefix`; None when there is
    none yet."""
    response = _call(logs, "describe_log_streams", logGroupName=group, logStreamNamePrefix=prefix)
    streams = response.get("logStreams", [])
    if not streams:
        return None
    newest = max(streams, key=lambda s: s.get("creationTime", 0))
    return str(newest["logStreamName"])


def read(
    logs: Any, stream: str, token: str | None = None, group: str = LOG_GROUP
) -> tuple[list[str], str | None]:
    """The lines of `group`'s `stream` after `token` (from its start without one), and the
    token to read on from."""
    lines: list[str] = []
    last = token
    for events, last in _pages(logs, group, stream, token):  # noqa: B007 - the last page's token
        lines += [str(e.get("message", "")).rstrip("\n") for e in events]
    return lines, last


def _pages(
    logs: Any, group: str, stream: str, token: str | None
) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
    while True:
        kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream}
        if token:
            kwargs["nextToken"] = token
        else:
            kwargs["startFromHead"] = True
        response = _call(logs, "get_log_events", **kwargs)
        following = response.get("nextForwardToken")
        yield response.get("events", []), following or token
        if not following or following == token:  # the same token back: the end for now
            return
        token = following
