"""Calendar periods (``2026-11`` months, ``2026-11-28`` days) and snapshot scopes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_DAY = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")

# China has had no daylight saving since 1991: a fixed offset is exact when the
# host lacks the tz database (slim container images).
_CHINA = timezone(timedelta(hours=8), "CST")


def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name in ("Asia/Shanghai", "Asia/Chongqing", "PRC"):
            return _CHINA
        raise


def day_of(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d")


def month_of(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m")


def periods_of(at: datetime | None, tz: tzinfo) -> list[str]:
    """The day and the month that ``at`` falls in."""
    if at is None:
        return []
    return [day_of(at, tz), month_of(at, tz)]


def is_period(text: str) -> bool:
    if _MONTH.match(text):
        return True
    if _DAY.match(text):
        try:
            datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            return False
        return True
    return False


def is_month(period: str) -> bool:
    return bool(_MONTH.match(period))


def days_of_month(month: str) -> list[str]:
    first = datetime.strptime(month + "-01", "%Y-%m-%d")
    days = []
    current = first
    while current.strftime("%Y-%m") == month:
        days.append(current.strftime("%Y-%m-%d"))
        current += timedelta(days=1)
    return days


def current_periods(now: datetime, tz: tzinfo) -> list[str]:
    return periods_of(now, tz)


def recent_periods(now: datetime, tz: tzinfo) -> list[str]:
    """This month and the last one, and every day of them."""
    this_month = month_of(now, tz)
    first = datetime.strptime(this_month + "-01", "%Y-%m-%d")
    last_month = (first - timedelta(days=1)).strftime("%Y-%m")
    return [*days_of_month(last_month), last_month, *days_of_month(this_month), this_month]


@dataclass(frozen=True)
class Scope:
    """What one snapshot is about: the city, one responder or one community, in a period."""

    kind: str  # "city" | "responder" | "community"
    period: str
    subject: str | None = None

    @property
    def key(self) -> str:
        if self.subject is None:
            return f"{self.kind}:{self.period}"
        return f"{self.kind}:{self.subject}:{self.period}"

    @classmethod
    def parse(cls, key: str) -> Scope:
        kind, _, rest = key.partition(":")
        if kind == "city" and is_period(rest):
            return cls("city", rest)
        subject, _, period = rest.rpartition(":")
        if kind in ("responder", "community") and subject and is_period(period):
            return cls(kind, period, subject)
        raise ValueError(f"not a stats scope: {key!r}")
