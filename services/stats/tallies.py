"""What one complaint (or one delivery) adds to the figures of one scope (pure).

Every figure is a sum over complaints and deliveries: counts add up, the medians'
values are kept as lists, the per-category volume is a counter. So the figures of a
scope are the sum of each complaint's contribution, and a complaint that changes
moves its own contribution only: its old one is taken out, its new one put in. The
same arithmetic serves the recount of ``GET /v1/stats`` (``figures.summary``) and the
running tallies behind ``stats.snapshots``, so the two cannot disagree."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.stats.complaint import ComplaintRecord
from services.stats.periods import Scope

RATE_DIGITS = 4
UNKNOWN = "unknown"

COUNT_NAMES = (
    "received",
    "duplicates",
    "routed",
    "acknowledged",
    "acknowledged_on_time",
    "acknowledge_due",
    "acknowledge_overdue",
    "resolved",
    "resolve_overdue",
    "open",
    "rated",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
    "reopened",
    "bounces",
    "escalations",
    "escalated_complaints",
    "reminders",
    "notifications_sent",
    "notifications_failed",
    "hotspots",
    "recurring_hotspots",
    "hotspots_open",
)
RATE_NAMES = ("response_rate", "resolution_rate", "satisfaction_rate")
MEDIAN_NAMES = ("time_to_acknowledge", "time_to_resolve")


@dataclass(frozen=True)
class NotificationRecord:
    delivery_id: str
    complaint_id: str
    responder_id: str
    outcome: str  # "sent" | "failed"
    day: str
    month: str

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> NotificationRecord:
        return cls(
            delivery_id=str(doc["_id"]),
            complaint_id=doc["complaint_id"],
            responder_id=doc["responder_id"],
            outcome=doc["outcome"],
            day=doc["day"],
            month=doc["month"],
        )


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)
    ack_seconds: list[float] = field(default_factory=list)
    resolve_seconds: list[float] = field(default_factory=list)
    by_category: Counter[str] = field(default_factory=Counter)

    def __bool__(self) -> bool:
        return bool(self.counts or self.ack_seconds or self.resolve_seconds or self.by_category)

    def add(self, other: Tally) -> None:
        self.counts.update(other.counts)
        self.by_category.update(other.by_category)
        self.ack_seconds += other.ack_seconds
        self.resolve_seconds += other.resolve_seconds

    def remove(self, other: Tally) -> None:
        self.counts.subtract(other.counts)
        self.by_category.subtract(other.by_category)
        for value in other.ack_seconds:
            self.ack_seconds.remove(value)
        for value in other.resolve_seconds:
            self.resolve_seconds.remove(value)
        # Drop the zeros: every tally added holds positive counts only, so only the
        # names just subtracted can have fallen to zero (cheaper than ``+counter``,
        # which builds a new Counter; stats removes a tally on every recount).
        _drop_spent(self.counts, other.counts)
        _drop_spent(self.by_category, other.by_category)

    def to_document(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "ack_seconds": sorted(self.ack_seconds),
            "resolve_seconds": sorted(self.resolve_seconds),
            "by_category": dict(self.by_category),
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Tally:
        return cls(
            Counter(doc.get("counts") or {}),
            list(doc.get("ack_seconds") or []),
            list(doc.get("resolve_seconds") or []),
            Counter(doc.get("by_category") or {}),
        )

    def figures(self) -> dict[str, Any]:
        """Counts (every name, zeros included), the three rates and the medians."""
        counts = {name: int(self.counts.get(name, 0)) for name in COUNT_NAMES}
        if "rejected" in self.counts:
            counts["rejected"] = int(self.counts["rejected"])
        rates = {
            "response_rate": _rate(counts["acknowledged_on_time"], counts["acknowledge_due"]),
            "resolution_rate": _rate(counts["resolved"], counts["routed"]),
            "satisfaction_rate": _rate(
                counts["satisfied"] + counts["basically_satisfied"], counts["rated"]
            ),
        }
        medians = {
            "time_to_acknowledge": _median(self.ack_seconds),
            "time_to_resolve": _median(self.resolve_seconds),
        }
        return {
            "counts": counts,
            "rates": rates,
            "medians_seconds": medians,
            "by_category": dict(sorted((k, v) for k, v in self.by_category.items() if v)),
        }


def _drop_spent(counts: Counter[str], subtracted: Iterable[str]) -> None:
    for name in subtracted:
        if counts.get(name, 0) <= 0:
            counts.pop(name, None)


def total(tallies: Iterable[Tally]) -> Tally:
    summed = Tally()
    for tally in tallies:
        summed.add(tally)
    return summed


def in_period(period: str, day: str | None, month: str | None) -> bool:
    return period in (day, month)


def record_tally(c: ComplaintRecord, period: str, now: datetime) -> Tally:
    """What one complaint adds to a scope of ``period`` it is admitted to: the volume
    of the complaints received in the period, the handling of those routed in it."""
    tally = Tally()
    counts = tally.counts
    if in_period(period, c.received_day, c.received_month):
        counts["received"] += 1
        counts["duplicates"] += c.duplicate_of is not None
        tally.by_category[c.category or UNKNOWN] += 1
        if c.duplicate_of and c.routed_at is None and c.rating:
            # A linked complaint resolved with its original: its resident's rating
            # counts in the satisfaction rate of the period it was received in.
            counts["rated"] += 1
            counts[c.rating] += 1
    if in_period(period, c.routed_day, c.routed_month):
        counts["routed"] += 1
        counts["acknowledged"] += c.acknowledged_at is not None
        counts["acknowledged_on_time"] += c.ack_on_time is True
        counts["acknowledge_due"] += c.acknowledge_due(now)
        counts["acknowledge_overdue"] += c.acknowledge_overdue(now)
        counts["resolved"] += c.resolved_at is not None
        counts["resolve_overdue"] += c.resolve_overdue(now)
        counts["open"] += c.resolved_at is None and c.status != "duplicate"
        if c.rating:
            counts["rated"] += 1
            counts[c.rating] += 1
        counts["reopened"] += c.reopened
        counts["bounces"] += c.bounces
        counts["escalations"] += c.escalations
        counts["escalated_complaints"] += bool(c.escalations)
        counts["reminders"] += c.reminders
        if c.ack_seconds is not None:
            tally.ack_seconds.append(c.ack_seconds)
        if c.resolved_at and c.resolve_seconds is not None:
            tally.resolve_seconds.append(c.resolve_seconds)
    tally.counts = +counts
    return tally


def note_tally(n: NotificationRecord) -> Tally:
    return Tally(Counter({f"notifications_{n.outcome}": 1}))


def contributions(
    record: ComplaintRecord, notes: Iterable[NotificationRecord], now: datetime
) -> dict[str, Tally]:
    """Everything one complaint and its deliveries add, by snapshot scope (city, its
    community, its lead; each delivery also to its own responder), for each day and
    month it was received or routed in."""
    out = record_contributions(record, now)
    for key, tally in note_contributions(record.community_id, notes).items():
        add_to(out, key, tally)
    return out


def record_contributions(record: ComplaintRecord, now: datetime) -> dict[str, Tally]:
    """What the complaint itself adds (``contributions`` without its deliveries): it
    changes only with the complaint's events or a due time passing."""
    out: dict[str, Tally] = {}
    periods = {
        p
        for p in (
            record.received_day,
            record.received_month,
            record.routed_day,
            record.routed_month,
        )
        if p
    }
    for period in periods:
        tally = record_tally(record, period, now)
        add_to(out, Scope("city", period).key, tally)
        if record.community_id:
            add_to(out, Scope("community", period, record.community_id).key, tally)
        if record.lead_id:
            add_to(out, Scope("responder", period, record.lead_id).key, tally)
    return out


def note_contributions(
    community_id: str | None, notes: Iterable[NotificationRecord]
) -> dict[str, Tally]:
    """What the deliveries of a complaint (or hot spot) in ``community_id`` add: to the
    city, the community and the responder each went to (``contributions`` without the
    complaint)."""
    out: dict[str, Tally] = {}
    for note in notes:
        tally = note_tally(note)  # only read by add_to: one serves every scope
        for period in (note.day, note.month):
            add_to(out, Scope("city", period).key, tally)
            if community_id:
                add_to(out, Scope("community", period, community_id).key, tally)
            add_to(out, Scope("responder", period, note.responder_id).key, tally)
    return out


def add_to(out: dict[str, Tally], scope: str, tally: Tally) -> None:
    """Add ``tally`` to ``out[scope]`` (a tally of its own: ``tally`` may serve others)."""
    if tally:
        found = out.get(scope)
        if found is None:
            found = out[scope] = Tally()
        found.add(tally)


def _rate(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(numerator / denominator, RATE_DIGITS)


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return None if not present else float(statistics.median(present))
