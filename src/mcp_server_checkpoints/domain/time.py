"""Time as stored and shown: UTC, one ISO 8601 format, ages in hours and in words."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    """The one timestamp format stored and exported: ISO 8601, UTC, microseconds, `Z`."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


def age_hours(ts: str, now: datetime) -> float:
    """Hours from `ts` to `now` (never negative), to two decimals."""
    return round(max((now - parse_iso(ts)).total_seconds(), 0.0) / 3600, 2)


def human_age(ts: str, now: datetime | None = None) -> str:
    """"just now", "5 minutes ago", "3 hours ago", "4 days ago"."""
    hours = max(((now or utcnow()) - parse_iso(ts)).total_seconds() / 3600, 0.0)
    if hours < 1:
        minutes = int(hours * 60)
        return "just now" if minutes < 1 else f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    if hours < 48:
        h = int(round(hours))
        return f"{h} hour{'s' if h != 1 else ''} ago"
    return f"{int(hours // 24)} days ago"


def short_age(hours: float) -> str:
    """A compact age for tables and reasons: "25 min", "5 h", "3 days"."""
    if hours < 1:
        return f"{int(hours * 60)} min"
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.0f} days"
