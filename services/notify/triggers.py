"""What asks notify to alert someone: routed, escalated, reminded and reopened events,
and opened hot spots, reduced to one ``Trigger`` each (pure; no I/O)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict

from shared.events import (
    Breach,
    ComplaintEscalated,
    ComplaintReminded,
    ComplaintRouted,
    ComplaintSummary,
    ComplaintUpdated,
    HotspotDetected,
    NotificationReason,
    UpdateKind,
)


class Trigger(BaseModel):
    """One reason to alert some responders about one complaint.

    ``occasion`` tells apart two triggers of the same reason for the same complaint
    (routing round, escalation level, acknowledge window), so each gets its own alert
    while a redelivered event gets none."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    complaint_id: str
    """The complaint, or for a hot-spot alert the hot spot (the key of its deliveries)."""
    event_id: str
    occurred_at: AwareDatetime
    reason: NotificationReason
    occasion: str
    recipients: list[str]
    summary: ComplaintSummary | None = None
    acknowledge_by: AwareDatetime | None = None
    resolve_by: AwareDatetime | None = None
    breach: Breach | None = None
    breached_due_at: AwareDatetime | None = None
    level: int | None = None
    why: str | None = None
    lead_id: str | None = None
    previous_lead: str | None = None
    hotspot: HotspotDetected | None = None


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def from_routed(event: ComplaintRouted) -> Trigger:
    return Trigger(
        complaint_id=event.complaint_id,
        event_id=event.event_id,
        occurred_at=event.occurred_at,
        reason=(
            NotificationReason.REROUTED if event.reason == "rerouted" else NotificationReason.ROUTED
        ),
        occasion=f"round-{event.round}",
        recipients=_unique([event.lead.responder_id, *(s.responder_id for s in event.support)]),
        summary=event.summary,
        acknowledge_by=event.due.acknowledge_by,
        resolve_by=event.due.resolve_by,
        lead_id=event.lead.responder_id,
        previous_lead=event.previous_lead,
    )


def from_escalated(event: ComplaintEscalated) -> Trigger:
    return Trigger(
        complaint_id=event.complaint_id,
        event_id=event.event_id,
        occurred_at=event.occurred_at,
        reason=NotificationReason.ESCALATED,
        occasion=f"{event.breach.value}-level-{event.level}",
        recipients=_unique([a.responder_id for a in event.escalated_to]),
        summary=event.summary,
        breach=event.breach,
        breached_due_at=event.due_at,
        level=event.level,
        why=event.reason,
        lead_id=event.lead.responder_id,
    )


def from_reminded(event: ComplaintReminded) -> Trigger:
    return Trigger(
        complaint_id=event.complaint_id,
        event_id=event.event_id,
        occurred_at=event.occurred_at,
        reason=NotificationReason.REMINDER,
        occasion=f"acknowledge-by-{_instant(event.acknowledge_by)}",
        recipients=[event.lead.responder_id],
        summary=event.summary,
        acknowledge_by=event.acknowledge_by,
        lead_id=event.lead.responder_id,
    )


def from_updated(event: ComplaintUpdated) -> Trigger | None:
    """Only a reopening alerts anyone; other lifecycle changes are the responders' own acts."""
    if event.type != UpdateKind.REOPENED or event.lead is None:
        return None
    # A complaint can be reopened more than once; each reopening has a fresh resolve due
    # time, and without one the event itself is the only thing that tells them apart.
    occasion = (
        f"resolve-by-{_instant(event.due.resolve_by)}" if event.due else f"event-{event.event_id}"
    )
    return Trigger(
        complaint_id=event.complaint_id,
        event_id=event.event_id,
        occurred_at=event.occurred_at,
        reason=NotificationReason.REOPENED,
        occasion=occasion,
        recipients=[event.lead.responder_id],
        summary=event.summary,
        acknowledge_by=event.due.acknowledge_by if event.due else None,
        resolve_by=event.due.resolve_by if event.due else None,
        why=event.note,
        lead_id=event.lead.responder_id,
    )


def _instant(moment: datetime) -> str:
    return str(int(moment.timestamp()))


def from_hotspot(event: HotspotDetected) -> Trigger:
    """One alert per hot spot and recipient: routing publishes one ``hotspots.detected``
    per hot spot, and its fixed occasion makes a redelivered one plan the same ids."""
    return Trigger(
        complaint_id=event.hotspot_id,
        event_id=event.event_id,
        occurred_at=event.occurred_at,
        reason=NotificationReason.HOTSPOT,
        occasion="detected",
        recipients=_unique([a.responder_id for a in event.alerted]),
        hotspot=event,
    )
