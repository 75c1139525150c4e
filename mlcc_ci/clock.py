"""Timestamps as the store keeps them: ISO 8601, UTC, `Z`."""

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime, *, ms: bool = False) -> str:
    moment = moment.astimezone(UTC)
    if ms:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str) -> datetime:
    """Parse what `iso` writes (and any ISO 8601 with an offset); naive means UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def display(text: str | None) -> str:
    """The one way reports show a moment to people: `2026-03-01 14:05 UTC` ("-" for none)."""
    if not text:
        return "-"
    try:
        return parse(text).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return text  # another writer's text: shown as it is (it is escaped where it goes)
