"""Hot spots as stats keeps them: one record per hot spot from its ``hotspots.detected``
and ``hotspots.closed`` facts, what it adds to the figures, and how it is listed.

A hot spot counts in the period (day and month) it opened in, in the city, in its
community and for each responder it alerted: ``hotspots`` (all), ``recurring_hotspots``
and ``hotspots_open`` (not closed yet). Its alerts count like a complaint's
(``notifications_sent``/``failed``) in the same scopes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from services.stats.facts import Fact
from services.stats.periods import Scope, day_of, month_of
from services.stats.tallies import NotificationRecord, Tally, add_to, note_contributions
from shared.events import HotspotClosed, HotspotDetected

OPEN, CLOSED = "open", "closed"
STATUSES = (OPEN, CLOSED)


def hotspot_fact(event: HotspotDetected | HotspotClosed) -> Fact:
    """What stats stores of one hot-spot event: the event's own fields (excerpts are
    masked by the detector), with the instants kept as datetimes."""
    fact: Fact = event.model_dump(mode="python", exclude={"schema_version"})
    fact["within_seconds"] = int(event.within.total_seconds())
    del fact["within"]
    fact["scope"] = {"kind": str(event.scope.kind), "id": event.scope.id}
    fact["kind"], fact["trigger"] = str(event.kind), str(event.trigger)
    fact["alerted"] = [{"responder_id": a.responder_id, "kind": str(a.kind)} for a in event.alerted]
    fact["complaints"] = [{**c.model_dump(mode="python")} for c in event.complaints]
    if isinstance(event, HotspotClosed):
        fact["reason"] = str(event.reason)
    return fact


def periods_of_hotspot(fact: Fact, tz: tzinfo) -> list[str]:
    opened: datetime = fact["opened_at"]
    return [day_of(opened, tz), month_of(opened, tz)]


@dataclass(frozen=True)
class HotspotRecord:
    hotspot_id: str
    status: str
    kind: str
    category: str
    category_name: str | None
    scope_kind: str
    scope_id: str
    community_id: str | None
    opened_at: datetime
    closed_at: datetime | None
    close_reason: str | None
    count: int
    complaint_ids: tuple[str, ...]
    compound_ids: tuple[str, ...]
    places: tuple[str, ...]
    alerted: tuple[str, ...]
    day: str
    month: str
    detail: Mapping[str, Any] = field(compare=False, repr=False)

    def alerts(self, responder_id: str) -> bool:
        return responder_id in self.alerted


def record_of(hotspot_id: str, facts: Mapping[str, Fact], tz: tzinfo) -> HotspotRecord | None:
    """The hot spot its facts describe, or None before its ``hotspots.detected`` came
    (a closing read first keeps its facts until then)."""
    detected, closed = facts.get("detected"), facts.get("closed")
    if detected is None:
        return None
    latest = closed or detected
    return HotspotRecord(
        hotspot_id=hotspot_id,
        status=CLOSED if closed else OPEN,
        kind=detected["kind"],
        category=detected["category"],
        category_name=detected.get("category_name"),
        scope_kind=detected["scope"]["kind"],
        scope_id=detected["scope"]["id"],
        community_id=detected.get("community_id"),
        opened_at=_aware(detected["opened_at"]),
        closed_at=_aware(closed["occurred_at"]) if closed else None,
        close_reason=closed.get("reason") if closed else None,
        count=int(latest["count"]),
        complaint_ids=tuple(latest["complaint_ids"]),
        compound_ids=tuple(dict.fromkeys(c["compound_id"] for c in latest["complaints"])),
        places=tuple(latest.get("places") or ()),
        alerted=tuple(a["responder_id"] for a in detected["alerted"]),
        day=day_of(_aware(detected["opened_at"]), tz),
        month=month_of(_aware(detected["opened_at"]), tz),
        detail=latest,
    )


def _aware(moment: datetime) -> datetime:
    # MongoDB-protocol servers hand datetimes back naive, in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def hotspot_tally(record: HotspotRecord) -> Tally:
    counts: Counter[str] = Counter(hotspots=1)
    counts["recurring_hotspots"] += record.kind == "recurring"
    counts["hotspots_open"] += record.status == OPEN
    return Tally(+counts)


def hotspot_contributions(
    record: HotspotRecord | None, notes: Iterable[NotificationRecord]
) -> dict[str, Tally]:
    """What one hot spot and its alerts add, by snapshot scope."""
    community = record.community_id if record else None
    out = note_contributions(community, notes)
    if record is not None:
        tally = hotspot_tally(record)
        for period in (record.day, record.month):
            add_to(out, Scope("city", period).key, tally)
            if community:
                add_to(out, Scope("community", period, community).key, tally)
            for responder_id in record.alerted:
                add_to(out, Scope("responder", period, responder_id).key, tally)
    return out


def listing(record: HotspotRecord, *, detailed: bool) -> dict[str, Any]:
    """A hot spot as ``GET /v1/hotspots`` lists it; ``detailed`` adds its complaints
    with their places and excerpts (a key's holder only: excerpts are residents' words)."""
    shown: dict[str, Any] = {
        "hotspot_id": record.hotspot_id,
        "status": record.status,
        "kind": record.kind,
        "category": record.category,
        "category_name": record.category_name,
        "scope": {"kind": record.scope_kind, "id": record.scope_id},
        "community_id": record.community_id,
        "opened_at": record.opened_at.isoformat(),
        "closed_at": record.closed_at.isoformat() if record.closed_at else None,
        "close_reason": record.close_reason,
        "threshold": record.detail["threshold"],
        "within_seconds": record.detail["within_seconds"],
        "count": record.count,
        "alerted": list(record.alerted),
    }
    if detailed:
        shown["complaint_ids"] = list(record.complaint_ids)
        shown["places"] = list(record.places)
        shown["complaints"] = [
            {
                "complaint_id": c["complaint_id"],
                "compound_id": c["compound_id"],
                "reported_at": _aware(c["reported_at"]).isoformat(),
                "place": c.get("place"),
                "excerpt": c.get("excerpt") or "",
                "duplicate_of": c.get("duplicate_of"),
            }
            for c in record.detail["complaints"]
        ]
    return shown
