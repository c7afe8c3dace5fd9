"""Times as alerts show them: in China's one time zone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

# China has kept one offset without daylight saving since 1991; a fixed offset needs no
# time-zone database on the host.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


def local_time(moment: datetime | None) -> str | None:
    """Minutes, as a person reads them (``2026-03-01 09:30``)."""
    if moment is None:
        return None
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def local_iso(moment: datetime | None) -> str | None:
    """The full instant with the local offset, for machines (the webhook body)."""
    return moment.astimezone(SHANGHAI).isoformat() if moment else None
