"""Notifications to the stack's SNS topic (TOPIC_ARN): regressions, fixes, sweeps."""

from collections.abc import Callable, Mapping
from typing import Any

Publish = Callable[[str, str], None]


def publisher(env: Mapping[str, str], session: Any = None) -> Publish:
    """A function that publishes (subject, message) to TOPIC_ARN; a no-op without one."""
    topic = env.get("TOPIC_ARN") or env.get("MLCC_CI_TOPIC_ARN")
    if not topic:
        return lambda subject, message: None
    import boto3

    sns = (session or boto3.session.Session()).client("sns")

    def publish(subject: str, message: str) -> None:
        sns.publish(TopicArn=topic, Subject=subject[:100], Message=message)

    return publish
