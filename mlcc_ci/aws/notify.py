"""Notifications through SNS: to the owners' topic (TOPIC_ARN) regressions, fixes and sweeps;
to the platform team's (PLATFORM_TOPIC_ARN) infrastructure that blocks a configuration."""

from collections.abc import Callable, Mapping
from typing import Any

Publish = Callable[[str, str], None]


TOPICS = {
    "owners": ("TOPIC_ARN", "MLCC_CI_TOPIC_ARN"),
    "platform": ("PLATFORM_TOPIC_ARN", "MLCC_CI_PLATFORM_TOPIC_ARN"),
}


def publisher(env: Mapping[str, str], session: Any = None, audience: str = "owners") -> Publish:
    """A function that publishes (subject, message) to the `audience`'s topic (owners:
    TOPIC_ARN, platform: PLATFORM_TOPIC_ARN); a no-op without one."""
    topic = next((env[name] for name in TOPICS[audience] if env.get(name)), "")
    if not topic:
        return lambda subject, message: None
    import boto3

    sns = (session or boto3.session.Session()).client("sns")

    def publish(subject: str, message: str) -> None:
        sns.publish(TopicArn=topic, Subject=subject[:100], Message=message)

    return publish
