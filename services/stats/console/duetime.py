"""Due times as a responder reads them: time left, or how long overdue (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo


def span_text(seconds: float) -> str:
    """A duration in two units at most: ``2天3小时``, ``5小时12分``, ``4分钟``, ``38秒``."""
    whole = max(int(seconds), 0)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{minutes}分" if minutes else f"{hours}小时"
    if minutes:
        return f"{minutes}分钟"
    return f"{secs}秒"


@dataclass(frozen=True)
class Due:
    """One due time: ``text`` says what is left or how late it is."""

    at: datetime | None
    local: str
    text: str
    overdue: bool
    soon: bool
    """Less than a quarter of a day left: shown in amber."""

    @property
    def tone(self) -> str:
        return "overdue" if self.overdue else "soon" if self.soon else "ok" if self.at else "none"


SOON_SECONDS = 6 * 3600


def due(at: datetime | None, now: datetime, tz: tzinfo, *, met: bool = False) -> Due:
    """``met``: the step it is for is done (acknowledged, resolved): no countdown."""
    if at is None:
        return Due(None, "—", "无时限", overdue=False, soon=False)
    local = at.astimezone(tz).strftime("%m-%d %H:%M")
    if met:
        return Due(at, local, "已完成", overdue=False, soon=False)
    left = (at - now).total_seconds()
    if left < 0:
        return Due(at, local, f"已超时 {span_text(-left)}", overdue=True, soon=False)
    return Due(at, local, f"剩余 {span_text(left)}", overdue=False, soon=left < SOON_SECONDS)


def local_time(at: datetime | None, tz: tzinfo) -> str:
    return "—" if at is None else at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
