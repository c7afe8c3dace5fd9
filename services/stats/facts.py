"""Events as the compact facts stats keeps, one per event id.

Facts hold only what the figures and the complaint view need, and never a full phone
number: phones are masked and free text is scrubbed before anything is stored. A
reporter who asked to stay hidden leaves no name either. The reporter's contact is kept
as the event sealed it, for the callback desk's audited opening (``contact``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from services.stats.periods import day_of, month_of
from shared.events import (
    Assignee,
    ComplaintEscalated,
    ComplaintReceived,
    ComplaintRejected,
    ComplaintReminded,
    ComplaintRouted,
    ComplaintUpdated,
    NotificationFailed,
    NotificationSent,
    SealedReporter,
)
from shared.ids import stable_id
from shared.privacy import scrub_phones

Fact = dict[str, Any]
ComplaintEvent = (
    ComplaintReceived | ComplaintRouted | ComplaintUpdated | ComplaintEscalated | ComplaintReminded
)


def fact_key(event_id: str) -> str:
    """A map key for an event id: MongoDB-protocol servers refuse "." and a leading "$"."""
    if event_id and "." not in event_id and not event_id.startswith("$"):
        return event_id
    return stable_id("event", event_id)


def _text(value: str | None, limit: int = 500) -> str | None:
    return None if value is None else scrub_phones(value)[:limit]


def _assignee(value: Assignee | None) -> Fact | None:
    return None if value is None else {"responder_id": value.responder_id, "kind": str(value.kind)}


def _reporter(value: SealedReporter | None) -> Fact | None:
    if value is None:
        return None
    return {
        "name": None if value.hide_identity else value.name,
        "phone": value.masked_phone,
        "hide_identity": value.hide_identity,
    }


def _contact(value: SealedReporter | None) -> Fact | None:
    if value is None or value.contact is None:
        return None
    return value.contact.model_dump()


def complaint_fact(event: ComplaintEvent) -> Fact:
    """The fact one complaint event contributes to its complaint's document."""
    base: Fact = {"at": event.occurred_at}
    if isinstance(event, ComplaintReceived):
        return base | {
            "type": "received",
            "source": event.source,
            "channel": str(event.channel),
            "compound_id": event.compound_id,
            "category": event.category,
            "description": _text(event.description, 1000),
            "location": _text(event.location),
            "reporter": _reporter(event.reporter),
            "contact": _contact(event.reporter),
        }
    if isinstance(event, ComplaintRouted):
        return base | {
            "type": "routed",
            "category": event.summary.category,
            "urgency": str(event.summary.urgency),
            "compound_id": event.summary.compound_id,
            "community_id": event.summary.community_id,
            "lead": _assignee(event.lead),
            "support": [_assignee(s) for s in event.support],
            "acknowledge_by": event.due.acknowledge_by,
            "resolve_by": event.due.resolve_by,
            "round": event.round,
            "reason": event.reason,
            "previous_lead": event.previous_lead,
            "unknown_compound": event.unknown_compound,
            "possible_duplicate_of": event.possible_duplicate_of,
            "duplicate_note": _text(event.duplicate_note),
        }
    if isinstance(event, ComplaintUpdated):
        summary = event.summary
        return base | {
            "type": "updated",
            "kind": str(event.type),
            "actor_id": event.actor_id,
            "via": event.via,
            "status": str(event.status),
            "note": _text(event.note),
            "rating": None if event.rating is None else str(event.rating),
            "on_time": event.on_time,
            "duplicate_of": event.duplicate_of,
            "hotspot_id": event.hotspot_id,
            "lead": _assignee(event.lead),
            "acknowledge_by": None if event.due is None else event.due.acknowledge_by,
            "resolve_by": None if event.due is None else event.due.resolve_by,
            "category": None if summary is None else summary.category,
            "compound_id": None if summary is None else summary.compound_id,
            "community_id": None if summary is None else summary.community_id,
        }
    if isinstance(event, ComplaintEscalated):
        return base | {
            "type": "escalated",
            "level": event.level,
            "breach": str(event.breach),
            "due_at": event.due_at,
            "lead": _assignee(event.lead),
            "escalated_to": [a.responder_id for a in event.escalated_to],
            "reason": _text(event.reason),
            "category": event.summary.category,
            "compound_id": event.summary.compound_id,
            "community_id": event.summary.community_id,
        }
    return base | {
        "type": "reminded",
        "lead": _assignee(event.lead),
        "acknowledge_by": event.acknowledge_by,
        "category": event.summary.category,
        "compound_id": event.summary.compound_id,
        "community_id": event.summary.community_id,
    }


def notification_fact(event: NotificationSent | NotificationFailed) -> Fact:
    failed = isinstance(event, NotificationFailed)
    return {
        "at": event.occurred_at,
        "outcome": "failed" if failed else "sent",
        "complaint_id": event.complaint_id,
        "responder_id": event.responder_id,
        "channel": event.channel,
        "reason": str(event.reason),
        "attempts": event.attempts,
        "permanent": event.permanent if isinstance(event, NotificationFailed) else None,
        "error": _text(event.error, 300) if isinstance(event, NotificationFailed) else None,
    }


def rejection_fact(event: ComplaintRejected) -> Fact:
    return {
        "at": event.occurred_at,
        "kind": event.kind,
        "source": event.source,
        "complaint_id": event.complaint_id or None,
    }


def delivery_fields(facts: Mapping[str, Fact], tz: tzinfo) -> Fact:
    """A delivery counts once: sent if any attempt got through, else failed."""
    ordered = sorted(facts.items(), key=lambda kv: (kv[1]["at"], kv[0]))
    sent = [f for _, f in ordered if f["outcome"] == "sent"]
    decisive = sent[0] if sent else ordered[-1][1]
    at: datetime = decisive["at"]
    return {
        "complaint_id": decisive["complaint_id"],
        "responder_id": decisive["responder_id"],
        "channel": decisive["channel"],
        "reason": decisive["reason"],
        "outcome": decisive["outcome"],
        "at": at,
        "day": day_of(at, tz),
        "month": month_of(at, tz),
        "periods": [day_of(at, tz), month_of(at, tz)],
    }
