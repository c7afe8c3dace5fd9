"""Calendar periods (``2026-11`` months, ``2026-11-28`` days) and snapshot scopes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_YEAR = r"([1-9]\d{3}|0[1-9]\d{2}|00[1-9]\d|000[1-9])"
_LEAP_YEAR = r"(\d{2}(0[48]|[2468][048]|[13579][26])|([2468][048]|[13579][26]|0[48])00)"
_MONTH_PART = r"(0[1-9]|1[0-2])"
_DAY_PART = r"((0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)"
PERIOD_PATTERN = rf"^({_YEAR}-{_MONTH_PART}|{_YEAR}-{_DAY_PART}|{_LEAP_YEAR}-02-29)$"
"""Exactly the months and the days of the calendar, years 1 to 9999 (what Python's
dates hold): what the API's documents give as the pattern of a period, so that a
period that matches it is one the figures can be counted for."""
SCOPE_PATTERN = rf"^(city|(responder|community):[^/]+):({PERIOD_PATTERN[1:-1]})$"
"""``Scope.parse``'s keys (``/`` left out: a path segment holds none)."""

_PERIOD = re.compile(PERIOD_PATTERN)
_MONTH = re.compile(rf"^{_YEAR}-{_MONTH_PART}$")

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


# isoformat, not strftime: it is several times faster (stats derives the periods of
# every fact it counts), and glibc's %Y drops the zero padding of years before 1000.
def day_of(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).date().isoformat()


def month_of(at: datetime, tz: tzinfo) -> str:
    return day_of(at, tz)[:7]


def periods_of(at: datetime | None, tz: tzinfo) -> list[str]:
    """The day and the month that ``at`` falls in."""
    if at is None:
        return []
    day = day_of(at, tz)
    return [day, day[:7]]


def is_period(text: str) -> bool:
    return _PERIOD.fullmatch(text) is not None


def is_month(period: str) -> bool:
    return bool(_MONTH.match(period))


def days_of_month(month: str) -> list[str]:
    first = datetime.strptime(month + "-01", "%Y-%m-%d")
    days = []
    current = first
    # isoformat, not strftime: glibc's %Y drops the zero padding of years before 1000.
    while current.date().isoformat()[:7] == month:
        days.append(current.date().isoformat())
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
