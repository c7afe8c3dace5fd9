"""Turning one consumed event into stored facts and dirty scopes."""

from __future__ import annotations

from pydantic import BaseModel

from services.stats.facts import complaint_fact, notification_fact, rejection_fact
from services.stats.store import StatsStore
from shared.consuming import PermanentError
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


async def ingest(store: StatsStore, topic: str, body: bytes) -> set[str]:
    """Record the event on ``topic`` (its public name); returns the scopes it changed."""
    model = MODELS.get(topic)
    if model is None:
        raise PermanentError(f"stats does not consume {topic}")
    event = model.model_validate_json(body)
    if isinstance(event, ComplaintRejected):
        return await store.record_rejection(
            event.event_id, event.occurred_at, rejection_fact(event)
        )
    if isinstance(event, NotificationSent | NotificationFailed):
        return await store.record_notification_fact(
            event.event_id, event.delivery_id, notification_fact(event)
        )
    assert isinstance(
        event,
        ComplaintReceived
        | ComplaintRouted
        | ComplaintUpdated
        | ComplaintEscalated
        | ComplaintReminded,
    )
    if not event.complaint_id.strip():
        raise PermanentError("event names no complaint")
    return await store.record_complaint_fact(
        event.complaint_id, event.event_id, complaint_fact(event)
    )
