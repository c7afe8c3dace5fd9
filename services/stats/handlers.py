"""Stats' handlers: what a consumed batch says, complaint by complaint (pure), and the
batch handler that hands it to the owner.

Several events of one complaint arrive on different topics, often in one batch; a
batch's facts are gathered per complaint so that its document is written once per
batch however many of its events the batch held. Hot spots and their alerts are
gathered per hot spot the same way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import TYPE_CHECKING

from pydantic import BaseModel

from services.stats.facts import (
    Fact,
    complaint_fact,
    fact_key,
    notification_fact,
    rejection_fact,
)
from services.stats.hotspots import hotspot_fact, periods_of_hotspot
from services.stats.periods import periods_of
from shared.consuming import Origin, PermanentError, Record, Refusal, decode_each
from shared.events import (
    ComplaintEscalated,
    ComplaintReceived,
    ComplaintRejected,
    ComplaintReminded,
    ComplaintRouted,
    ComplaintUpdated,
    HotspotClosed,
    HotspotDetected,
    NotificationFailed,
    NotificationReason,
    NotificationSent,
    ScopeChanged,
)
from shared.topics import (
    COMPLAINTS_ESCALATED,
    COMPLAINTS_RECEIVED,
    COMPLAINTS_REJECTED,
    COMPLAINTS_REMINDED,
    COMPLAINTS_ROUTED,
    COMPLAINTS_UPDATED,
    HOTSPOTS_CLOSED,
    HOTSPOTS_DETECTED,
    NOTIFICATIONS_FAILED,
    NOTIFICATIONS_SENT,
    STATS_CHANGED,
)

if TYPE_CHECKING:
    from services.stats.owner import StatsOwner

MODELS: dict[str, type[BaseModel]] = {
    COMPLAINTS_RECEIVED: ComplaintReceived,
    COMPLAINTS_REJECTED: ComplaintRejected,
    COMPLAINTS_ROUTED: ComplaintRouted,
    COMPLAINTS_UPDATED: ComplaintUpdated,
    COMPLAINTS_ESCALATED: ComplaintEscalated,
    COMPLAINTS_REMINDED: ComplaintReminded,
    NOTIFICATIONS_SENT: NotificationSent,
    NOTIFICATIONS_FAILED: NotificationFailed,
    HOTSPOTS_DETECTED: HotspotDetected,
    HOTSPOTS_CLOSED: HotspotClosed,
}
COMPLAINT_EVENTS = (
    ComplaintReceived,
    ComplaintRouted,
    ComplaintUpdated,
    ComplaintEscalated,
    ComplaintReminded,
)


def parse(topic: str, body: bytes) -> BaseModel:
    """The event on ``topic`` (its public name); raises what the consumer parks."""
    model = MODELS.get(topic)
    if model is None:
        raise PermanentError(f"stats does not consume {topic}")
    event = model.model_validate_json(body)
    if isinstance(event, COMPLAINT_EVENTS) and not event.complaint_id.strip():
        raise PermanentError("event names no complaint")
    if isinstance(event, NotificationSent | NotificationFailed) and not event.complaint_id:
        raise PermanentError("notification names no complaint")
    if isinstance(event, HotspotDetected | HotspotClosed) and not event.hotspot_id.strip():
        raise PermanentError("event names no hot spot")
    return event


@dataclass
class ComplaintChanges:
    """What one batch says about one complaint (or one hot spot: ``events`` then holds
    its ``detected`` and ``closed`` facts)."""

    partition: int
    events: dict[str, Fact] = field(default_factory=dict)
    notified: dict[str, Fact] = field(default_factory=dict)
    periods: set[str] = field(default_factory=set)


@dataclass
class Batch:
    complaints: dict[str, ComplaintChanges] = field(default_factory=dict)
    hotspots: dict[str, ComplaintChanges] = field(default_factory=dict)
    rejections: dict[str, Fact] = field(default_factory=dict)
    changed_scopes: set[str] = field(default_factory=set)
    """Scopes other instances (or this one) changed, from ``stats.changed``."""

    def add(self, event: BaseModel, origin: Origin, tz: tzinfo) -> None:
        if isinstance(event, ComplaintRejected):
            self.rejections[fact_key(event.event_id)] = rejection_fact(event) | {
                "periods": periods_of(event.occurred_at, tz),
                "partition": origin.partition,
            }
            return
        if isinstance(event, HotspotDetected | HotspotClosed):
            fact = hotspot_fact(event)
            changes = self._of(event.hotspot_id, origin, self.hotspots)
            changes.events["closed" if isinstance(event, HotspotClosed) else "detected"] = fact
            changes.periods.update(periods_of_hotspot(fact, tz))
            return
        if isinstance(event, NotificationSent | NotificationFailed):
            fact = notification_fact(event)
            about_hotspot = event.reason == NotificationReason.HOTSPOT
            changes = self._of(
                event.complaint_id, origin, self.hotspots if about_hotspot else self.complaints
            )
            changes.notified[fact_key(event.event_id)] = {
                "delivery_id": event.delivery_id,
                "responder_id": event.responder_id,
                "channel": event.channel,
                "reason": fact["reason"],
                "outcome": fact["outcome"],
                "at": fact["at"],
            }
            changes.periods.update(periods_of(fact["at"], tz))
            return
        assert isinstance(event, COMPLAINT_EVENTS)
        fact = complaint_fact(event)
        changes = self._of(event.complaint_id, origin)
        changes.events[fact_key(event.event_id)] = fact
        changes.periods.update(periods_of(fact["at"], tz))

    def _of(
        self, key: str, origin: Origin, within: dict[str, ComplaintChanges] | None = None
    ) -> ComplaintChanges:
        changes = self.complaints if within is None else within
        found = changes.get(key)
        if found is None:
            found = changes[key] = ComplaintChanges(origin.partition)
        return found


def read_batch(
    records: Sequence[Record], topics: Mapping[str, str], tz: tzinfo
) -> tuple[Batch, list[Refusal]]:
    """A consumed batch gathered per complaint; what cannot be read, refused."""
    batch = Batch()
    events, refused = decode_each(
        [r for r in records if topics.get(r.topic) != STATS_CHANGED],
        lambda record: parse(topics[record.topic], record.value or b""),
    )
    for origin, event in events:
        batch.add(event, origin, tz)
    notices, unreadable = decode_each(
        [r for r in records if topics.get(r.topic) == STATS_CHANGED],
        lambda record: ScopeChanged.model_validate_json(record.value or b""),
    )
    batch.changed_scopes = {notice.scope for _, notice in notices}
    return batch, refused + unreadable


@dataclass(frozen=True)
class StatsDeps:
    owner: StatsOwner
    topics: Mapping[str, str]
    """Public topic name by full name (with any prefix)."""
    tz: tzinfo


async def count_batch(records: Sequence[Record], deps: StatsDeps) -> list[Refusal]:
    batch, refused = read_batch(records, deps.topics, deps.tz)
    async with deps.owner.lock:
        await deps.owner.apply(batch)
    return refused
