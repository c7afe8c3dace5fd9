"""The published figures of one period, computed from per-complaint records.

Pure: the store fetches the records of a period and this module counts them, so a
figure is a function of the stored facts alone (exact under redelivery, restarts
and several instances). Two cohorts, as the policy's rates need them:

- complaints *received* in the period give the volumes (``received``, duplicates and
  the ``by_*`` breakdowns);
- complaints *routed* in the period give everything about handling: acknowledgement,
  resolution, ratings, overdue, bounces, escalations, the three rates and medians.

Time-dependent figures (a due time passing) are taken at ``now``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.stats.complaint import ComplaintRecord
from services.stats.hotspots import HotspotRecord, hotspot_tally
from services.stats.periods import days_of_month, is_month
from services.stats.tallies import (
    RATE_NAMES as RATE_NAMES,
)
from services.stats.tallies import (
    UNKNOWN,
    NotificationRecord,
    Tally,
    in_period,
    note_tally,
    record_tally,
    total,
)


@dataclass(frozen=True)
class Filters:
    compound: str | None = None
    community: str | None = None
    responder: str | None = None
    category: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}

    def admits(self, c: ComplaintRecord) -> bool:
        return (
            (self.compound is None or c.compound_id == self.compound)
            and (self.community is None or c.community_id == self.community)
            and (self.responder is None or c.lead_id == self.responder)
            and (self.category is None or c.category == self.category)
        )

    def admits_notification(
        self, n: NotificationRecord, complaints: Mapping[str, ComplaintRecord]
    ) -> bool:
        if self.responder is not None and n.responder_id != self.responder:
            return False
        if self.compound is None and self.community is None and self.category is None:
            return True
        about = complaints.get(n.complaint_id)
        return about is not None and Filters(
            self.compound, self.community, None, self.category
        ).admits(about)

    def admits_hotspot(self, h: HotspotRecord) -> bool:
        return (
            (self.compound is None or self.compound in h.compound_ids)
            and (self.community is None or h.community_id == self.community)
            and (self.responder is None or h.alerts(self.responder))
            and (self.category is None or h.category == self.category)
        )

    def admits_hotspot_alert(
        self, n: NotificationRecord, hotspots: Mapping[str, HotspotRecord]
    ) -> bool:
        if self.responder is not None and n.responder_id != self.responder:
            return False
        if self.compound is None and self.community is None and self.category is None:
            return True
        about = hotspots.get(n.complaint_id)
        return about is not None and Filters(
            self.compound, self.community, None, self.category
        ).admits_hotspot(about)

    def narrowed(self, **changes: str) -> Filters:
        return Filters(**{**vars(self), **changes})


@dataclass(frozen=True)
class Hotspots:
    """The hot spots of the recounted periods and the alerts about them."""

    records: Sequence[HotspotRecord] = ()
    alerts: Sequence[NotificationRecord] = ()

    @property
    def by_id(self) -> dict[str, HotspotRecord]:
        return {h.hotspot_id: h for h in self.records}


def _hotspot_part(hotspots: Hotspots, period: str, filters: Filters) -> Tally:
    by_id = hotspots.by_id
    part = total(
        hotspot_tally(h)
        for h in hotspots.records
        if in_period(period, h.day, h.month) and filters.admits_hotspot(h)
    )
    part.add(
        total(
            note_tally(n)
            for n in hotspots.alerts
            if in_period(period, n.day, n.month) and filters.admits_hotspot_alert(n, by_id)
        )
    )
    return part


def _tally(
    items: Iterable[ComplaintRecord], key: Callable[[ComplaintRecord], str | None]
) -> dict[str, int]:
    return dict(sorted(Counter(key(c) or UNKNOWN for c in items).items()))


def summary(
    complaints: Iterable[ComplaintRecord],
    notifications: Iterable[NotificationRecord],
    period: str,
    filters: Filters,
    now: datetime,
    lookup: Mapping[str, ComplaintRecord],
    hotspots: Hotspots = Hotspots(),
) -> dict[str, Any]:
    """Counts, rates, medians and breakdowns of one scope: the sum of what each admitted
    complaint, delivery and hot spot adds (``tallies``), as the running snapshots add
    it up."""
    admitted = [c for c in complaints if filters.admits(c)]
    received = [c for c in admitted if in_period(period, c.received_day, c.received_month)]
    scope = total(record_tally(c, period, now) for c in admitted)
    scope.add(
        total(
            note_tally(n)
            for n in notifications
            if in_period(period, n.day, n.month) and filters.admits_notification(n, lookup)
        )
    )
    scope.add(_hotspot_part(hotspots, period, filters))
    return scope.figures() | {
        "by_status": _tally(received, lambda c: c.status),
        "by_compound": _tally(received, lambda c: c.compound_id),
        "by_community": _tally(received, lambda c: c.community_id),
        "by_responder": _tally(received, lambda c: c.lead_id),
    }


def compute(
    complaints: list[ComplaintRecord],
    notifications: list[NotificationRecord],
    period: str,
    filters: Filters,
    now: datetime,
    *,
    rejected: int | None = None,
    lookup: Mapping[str, ComplaintRecord] | None = None,
    breakdowns: bool = True,
    hotspots: Hotspots = Hotspots(),
) -> dict[str, Any]:
    """The figures of ``period`` under ``filters``: the ``GET /v1/stats`` document.

    ``lookup`` resolves notifications about complaints outside ``complaints`` (an
    older complaint alerted again this month) for the compound/community/category
    filters. ``rejected`` counts refused messages; it has no compound or responder,
    so it only appears unfiltered."""
    lookup = {**(lookup or {}), **{c.complaint_id: c for c in complaints}}
    figures: dict[str, Any] = {"period": period, "filters": filters.as_dict()}
    figures |= summary(complaints, notifications, period, filters, now, lookup, hotspots)
    if rejected is not None and not filters.as_dict():
        figures["counts"]["rejected"] = rejected
    if not breakdowns:
        return figures
    responders = sorted(
        {c.lead_id for c in complaints if c.lead_id and filters.admits(c)}
        | {n.responder_id for n in notifications if filters.admits_notification(n, lookup)}
        | {r for h in hotspots.records if filters.admits_hotspot(h) for r in h.alerted}
        | {
            n.responder_id
            for n in hotspots.alerts
            if filters.admits_hotspot_alert(n, hotspots.by_id)
        }
    )
    if filters.responder:
        responders = [r for r in responders if r == filters.responder]
    communities = sorted(
        {c.community_id for c in complaints if c.community_id and filters.admits(c)}
        | {h.community_id for h in hotspots.records if h.community_id and filters.admits_hotspot(h)}
    )
    figures["responders"] = {
        r: _scope_part(
            complaints,
            notifications,
            period,
            filters.narrowed(responder=r),
            now,
            lookup,
            hotspots,
        )
        for r in responders
    }
    figures["communities"] = {
        m: _scope_part(
            complaints,
            notifications,
            period,
            filters.narrowed(community=m),
            now,
            lookup,
            hotspots,
        )
        for m in communities
    }
    if is_month(period):
        figures["daily"] = daily(complaints, period, filters)
    return figures


def _scope_part(
    complaints: list[ComplaintRecord],
    notifications: list[NotificationRecord],
    period: str,
    filters: Filters,
    now: datetime,
    lookup: Mapping[str, ComplaintRecord],
    hotspots: Hotspots,
) -> dict[str, Any]:
    part = summary(complaints, notifications, period, filters, now, lookup, hotspots)
    return {k: part[k] for k in ("counts", "rates", "medians_seconds", "by_category")}


def daily(
    complaints: list[ComplaintRecord], month: str, filters: Filters
) -> dict[str, dict[str, Any]]:
    """Received volume by category for every day of the month (the dashboard's chart)."""
    days: dict[str, dict[str, Any]] = {
        d: {"received": 0, "by_category": {}} for d in days_of_month(month)
    }
    for c in complaints:
        if c.received_month == month and c.received_day in days and filters.admits(c):
            entry = days[c.received_day]
            entry["received"] += 1
            category = c.category or UNKNOWN
            entry["by_category"][category] = entry["by_category"].get(category, 0) + 1
    return days


def flatten(figures: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(scope, metric, value)`` rows: the CSV form, the same numbers as the JSON."""
    rows: list[tuple[str, str, str]] = []

    def part(scope: str, data: Mapping[str, Any]) -> None:
        for section in ("counts", "rates", "medians_seconds"):
            for name, value in data.get(section, {}).items():
                rows.append((scope, f"{section}.{name}", _cell(value)))
        for section in ("by_category", "by_status", "by_compound", "by_community", "by_responder"):
            for name, value in data.get(section, {}).items():
                rows.append((scope, f"{section}.{name}", _cell(value)))

    part("all", figures)
    for kind in ("responders", "communities"):
        prefix = "responder" if kind == "responders" else "community"
        for subject, data in figures.get(kind, {}).items():
            part(f"{prefix}:{subject}", data)
    for day, data in figures.get("daily", {}).items():
        rows.append((f"day:{day}", "counts.received", _cell(data["received"])))
        for name, value in data["by_category"].items():
            rows.append((f"day:{day}", f"by_category.{name}", _cell(value)))
    return rows


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
