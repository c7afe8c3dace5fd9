"""Turning a consumed batch of events into per-document groups of facts.

Several events of one complaint arrive on different topics, often in one batch; a
group holds everything one batch says about one complaint (its facts, its
deliveries and the tallies it keeps of them), so the store writes each complaint's
document once per batch instead of once per event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo

from pydantic import BaseModel

from services.stats.facts import (
    Fact,
    complaint_fact,
    fact_key,
    notification_fact,
    rejection_fact,
)
from services.stats.periods import periods_of
from shared.consuming import PermanentError, RecordInfo
from shared.events import (
    ComplaintEscalated,
    ComplaintReceived,
    ComplaintRejected,
    ComplaintReminded,
    ComplaintRouted,
    ComplaintUpdated,
    NotificationFailed,
    NotificationSent,
)
from shared.topics import (
    COMPLAINTS_ESCALATED,
    COMPLAINTS_RECEIVED,
    COMPLAINTS_REJECTED,
    COMPLAINTS_REMINDED,
    COMPLAINTS_ROUTED,
    COMPLAINTS_UPDATED,
    NOTIFICATIONS_FAILED,
    NOTIFICATIONS_SENT,
)

MODELS: dict[str, type[BaseModel]] = {
    COMPLAINTS_RECEIVED: ComplaintReceived,
    COMPLAINTS_REJECTED: ComplaintRejected,
    COMPLAINTS_ROUTED: ComplaintRouted,
    COMPLAINTS_UPDATED: ComplaintUpdated,
    COMPLAINTS_ESCALATED: ComplaintEscalated,
    COMPLAINTS_REMINDED: ComplaintReminded,
    NOTIFICATIONS_SENT: NotificationSent,
    NOTIFICATIONS_FAILED: NotificationFailed,
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
    return event


@dataclass
class Source:
    """A record a group was built from: replayed one by one if the group cannot be stored."""

    topic: str
    body: bytes
    record: RecordInfo


@dataclass
class Group:
    """What one batch says about one document family: a complaint with its deliveries,
    a delivery that names no complaint, or the rejections."""

    complaint_id: str | None = None
    facts: dict[str, Fact] = field(default_factory=dict)
    """Complaint facts by fact key."""
    periods: set[str] = field(default_factory=set)
    """The days and months the complaint facts happened in."""
    notified: dict[str, Fact] = field(default_factory=dict)
    """The complaint's tally entries by fact key."""
    deliveries: dict[str, dict[str, Fact]] = field(default_factory=dict)
    """Delivery facts by delivery id, then fact key."""
    alerted: set[tuple[str, str]] = field(default_factory=set)
    """(period, responder) pairs the deliveries count in."""
    rejections: dict[str, Fact] = field(default_factory=dict)
    sources: list[Source] = field(default_factory=list)


class Batch:
    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self.groups: dict[tuple[str, str], Group] = {}

    def _group(self, kind: str, key: str, complaint_id: str | None = None) -> Group:
        group = self.groups.get((kind, key))
        if group is None:
            group = self.groups[(kind, key)] = Group(complaint_id=complaint_id)
        return group

    def add(self, event: BaseModel, source: Source) -> None:
        if isinstance(event, ComplaintRejected):
            group = self._group("rejections", "")
            periods = periods_of(event.occurred_at, self.tz)
            group.rejections[fact_key(event.event_id)] = rejection_fact(event) | {
                "periods": periods
            }
        elif isinstance(event, NotificationSent | NotificationFailed):
            fact = notification_fact(event)
            key = fact_key(event.event_id)
            if fact["complaint_id"]:
                group = self._group("complaint", fact["complaint_id"], fact["complaint_id"])
                group.notified[key] = {
                    "delivery_id": event.delivery_id,
                    "outcome": fact["outcome"],
                    "at": fact["at"],
                }
            else:
                group = self._group("delivery", event.delivery_id)
            group.deliveries.setdefault(event.delivery_id, {})[key] = fact
            for period in periods_of(fact["at"], self.tz):
                group.alerted.add((period, fact["responder_id"]))
        else:
            assert isinstance(event, COMPLAINT_EVENTS)
            group = self._group("complaint", event.complaint_id, event.complaint_id)
            fact = complaint_fact(event)
            group.facts[fact_key(event.event_id)] = fact
            group.periods.update(periods_of(fact["at"], self.tz))
        group.sources.append(source)
