"""Timestamps as the store keeps them: ISO 8601, UTC, to the millisecond, `Z` (`iso`, which
every writer uses); and the one way people are shown a moment (`display`) and a duration
(`duration`)."""

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime, *, ms: bool = True) -> str:
    """The one way mlcc-ci writes a moment: to the millisecond, so a run that ends within
    the second it started never reads as ending before it (`ms=False`: only to keep another
    writer's whole seconds as they were read)."""
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


_DURATIONS: dict[int, str] = {}  # whole seconds -> how they read: a report asks thousands of times


def duration(seconds: float | None) -> str:
    """The one way every output shows a duration (the run's summary, reports, history, the
    live progress): 4.2s, 42s, 7m 05s, 2h 03m; "-" for none. Taken to the millisecond first,
    as a run stores it, so a run's summary and its stored history read the same."""
    if seconds is None:
        return "-"
    seconds = round(seconds, 3)
    if seconds < 9.95:  # 9.96 would read 10.0s, and 10 reads 10s
        return f"{max(seconds, 0.0):.1f}s"
    whole = round(seconds)
    shown = _DURATIONS.get(whole)
    if shown is None:
        shown = _whole_seconds(whole)
        if whole < 100_000:
            _DURATIONS[whole] = shown
    return shown


def _whole_seconds(whole: int) -> str:
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"
