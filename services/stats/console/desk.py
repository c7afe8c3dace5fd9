"""The operator's desk (督办台) as one view (pure): the city's three rates, the
supervision list, the ranking, the trend over weeks and months, the heat map and the
open hot spots, for a period and a category."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import urlencode

from services.stats.complaint import ComplaintRecord, ComplaintState
from services.stats.console.heatmap import heat_map
from services.stats.console.names import Names
from services.stats.console.views import (
    GROUPINGS,
    grouped,
    hotspot_row,
    months_back,
    ranking,
    rate_cells,
    supervision,
    trend,
    week_days,
    week_starts,
)
from services.stats.figures import Filters, Hotspots, compute
from services.stats.tallies import NotificationRecord

TREND_WEEKS, TREND_MONTHS = 8, 6


@dataclass(frozen=True)
class DeskQuery:
    period: str
    chosen_period: str | None
    category: str | None
    group: str

    def encoded(self) -> str:
        return urlencode(
            {
                k: v
                for k, v in (
                    ("period", self.chosen_period),
                    ("category", self.category),
                    ("group", self.group),
                )
                if v
            }
        )


@dataclass(frozen=True)
class DeskData:
    """What the store gave for one desk: the period's complaints, deliveries, refusals
    and hot spots; the trend's complaints; every complaint's state; the open hot spots."""

    complaints: list[ComplaintRecord]
    notifications: list[NotificationRecord]
    rejected: int
    hotspots: Hotspots
    history: list[ComplaintRecord]
    states: Sequence[ComplaintState]
    open_hotspots: Sequence[Mapping[str, Any]]


def trend_buckets(now: datetime, tz: tzinfo) -> list[tuple[str, list[str]]]:
    weeks = [(s.strftime("%m-%d") + "周", week_days(s)) for s in week_starts(now, tz, TREND_WEEKS)]
    return weeks + [(m, [m]) for m in months_back(now, tz, TREND_MONTHS)]


def trend_periods(now: datetime, tz: tzinfo) -> list[str]:
    """Every day and month the trend needs, for one read of the store."""
    return sorted({p for _, periods in trend_buckets(now, tz) for p in periods})


def desk_view(
    data: DeskData, q: DeskQuery, names: Names, now: datetime, tz: tzinfo
) -> dict[str, Any]:
    filters = Filters(category=q.category)
    figures = compute(
        data.complaints,
        data.notifications,
        q.period,
        filters,
        now,
        rejected=data.rejected,
        hotspots=data.hotspots,
    )
    history = [c for c in data.history if filters.admits(c)]
    buckets = trend_buckets(now, tz)
    late = supervision(data.states, names, now, tz, category=q.category, period=q.chosen_period)
    return {
        "q": q,
        "groupings": GROUPINGS,
        "city": figures,
        "city_rates": rate_cells(figures["rates"]),
        "ranking": ranking(figures.get("responders", {}), names),
        "week_trend": trend(history, buckets[:TREND_WEEKS], now),
        "month_trend": trend(history, buckets[TREND_WEEKS:], now),
        "heat": heat_map(data.complaints, q.period, names.categories, names.compound, q.category),
        "late": late,
        "groups": grouped(late, q.group),
        "hotspots": [hotspot_row(h, names, tz) for h in data.open_hotspots if h.get("category")],
        "updated_at": now.astimezone(tz).strftime("%H:%M:%S"),
    }
