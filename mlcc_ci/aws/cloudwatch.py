"""Build logs in CloudWatch (the group `ml-container-creator-ci`): one stream per executor
build, `build/<configId>/<runId>/<build UUID>`. Storage errors become domain errors here."""

from collections.abc import Iterator, Mapping
from typing import Any

from mlcc_ci.constants import LOG_GROUP
from mlcc_ci.errors import NotFound, StoreError


class LogsUnavailable(StoreError):
    """CloudWatch Logs cannot be read (no credentials, unreachable, not allowed)."""


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
            raise NotFound(
                f"no log stream {stream} in {LOG_GROUP} (CloudWatch keeps build logs three months)"
            ) from None
        message = exc.response.get("Error", {}).get("Message", "")
        raise LogsUnavailable(f"cannot read CloudWatch Logs: {code}: {message}") from None
    except BotoCoreError as exc:
        raise LogsUnavailable(f"cannot read CloudWatch Logs: {exc}") from None


def find_stream(logs: Any, prefix: str) -> str | None:
    """The newest stream whose name starts with `prefix`; None when there is none yet."""
    response = _call(
        logs, "describe_log_streams", logGroupName=LOG_GROUP, logStreamNamePrefix=prefix
    )
    streams = response.get("logStreams", [])
    if not streams:
        return None
    newest = max(streams, key=lambda s: s.get("creationTime", 0))
    return str(newest["logStreamName"])


def read(logs: Any, stream: str, token: str | None = None) -> tuple[list[str], str | None]:
    """The stream's lines after `token` (from its start without one), and the token to
    read on from."""
    lines: list[str] = []
    last = token
    for events, last in _pages(logs, stream, token):  # noqa: B007 - the last page's token
        lines += [str(e.get("message", "")).rstrip("\n") for e in events]
    return lines, last


def _pages(
    logs: Any, stream: str, token: str | None
) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
    while True:
        kwargs: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamName": stream}
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
