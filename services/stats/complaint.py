"""One complaint's state, derived from the set of its facts.

Facts arrive on several topics in any order and may be redelivered; the state is a
pure function of the set (keyed by event id), taken in ``occurred_at`` order, so the
same facts always give the same state whatever the arrival order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from services.stats.facts import Fact
from services.stats.periods import day_of, month_of

# Ties in occurred_at (MongoDB keeps milliseconds) are broken in lifecycle order, so a
# re-route lands after the return that caused it.
_RANK = {
    "received": 0,
    "routed": 1,
    "reminded": 2,
    "escalated": 3,
    "acknowledged": 4,
    "in_progress": 5,
    "returned": 6,
    "rerouted": 7,
    "resolved": 8,
    "rated": 9,
    "reopened": 10,
    "duplicate_linked": 11,
    "unlinked": 12,
}
RESOLVED_STATUSES = ("resolved", "closed")


def _label(fact: Fact) -> str:
    if fact["type"] == "updated":
        return str(fact["kind"])
    if fact["type"] == "routed" and fact.get("reason") == "rerouted":
        return "rerouted"
    return str(fact["type"])


def ordered(facts: Mapping[str, Fact]) -> list[tuple[str, Fact]]:
    return sorted(facts.items(), key=lambda kv: (kv[1]["at"], _RANK.get(_label(kv[1]), 99), kv[0]))


@dataclass
class ComplaintRecord:
    """What the figures need of one complaint, derived from its facts."""

    complaint_id: str
    status: str | None = None
    category: str | None = None
    compound_id: str | None = None
    community_id: str | None = None
    lead_id: str | None = None
    lead_kind: str | None = None
    leads: list[str] = field(default_factory=list)
    received_at: datetime | None = None
    routed_at: datetime | None = None
    acknowledge_by: datetime | None = None
    resolve_by: datetime | None = None
    acknowledged_at: datetime | None = None
    ack_on_time: bool | None = None
    ack_seconds: float | None = None
    resolved_at: datetime | None = None
    resolve_on_time: bool | None = None
    resolve_seconds: float | None = None
    rating: str | None = None
    bounces: int = 0
    escalations: int = 0
    escalation_level: int = 0
    ack_breached: bool = False
    resolve_breached: bool = False
    duplicate_of: str | None = None
    reopened: int = 0
    reminders: int = 0
    received_day: str | None = None
    received_month: str | None = None
    routed_day: str | None = None
    routed_month: str | None = None
    periods: list[str] = field(default_factory=list)

    def acknowledge_overdue(self, now: datetime) -> bool:
        if self.status == "duplicate" or self.acknowledge_by is None:
            return False
        if self.ack_breached or self.ack_on_time is False:
            return True
        return self.acknowledged_at is None and now > self.acknowledge_by

    def resolve_overdue(self, now: datetime) -> bool:
        if self.status == "duplicate" or self.resolve_by is None:
            return False
        if self.resolve_breached or self.resolve_on_time is False:
            return True
        return self.resolved_at is None and now > self.resolve_by

    def acknowledge_due(self, now: datetime) -> bool:
        """In the response rate's denominator: due time passed, or acknowledged."""
        if self.acknowledged_at is not None:
            return True
        return self.acknowledge_by is not None and now > self.acknowledge_by


@dataclass
class ComplaintState:
    record: ComplaintRecord
    timeline: list[dict[str, Any]]
    support: list[dict[str, Any]]
    lead: dict[str, Any] | None
    reporter: dict[str, Any] | None = None
    contact: dict[str, Any] | None = None
    """The sealed contact (``SealedContact`` fields): opened only by ``contact``."""
    description: str | None = None
    location: str | None = None
    channel: str | None = None
    source: str | None = None
    possible_duplicate_of: str | None = None
    duplicate_note: str | None = None
    hotspots: list[str] = field(default_factory=list)
    """Hot spots it joined (未訴先辦): its lead was asked to acknowledge sooner."""


def _entry(fact: Fact, label: str, actor: str | None, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": label, "at": fact["at"], "actor_id": actor}
    entry.update({k: v for k, v in extra.items() if v is not None})
    return entry


def derive(complaint_id: str, facts: Mapping[str, Fact], tz: tzinfo) -> ComplaintState:
    """The complaint as its facts, in occurred_at order, describe it."""
    rec = ComplaintRecord(complaint_id)
    state = ComplaintState(record=rec, timeline=[], support=[], lead=None)
    round_routed_at: datetime | None = None
    first_at: datetime | None = None
    for _, fact in ordered(facts):
        at: datetime = fact["at"]
        first_at = first_at or at
        label = _label(fact)
        for name in ("category", "compound_id", "community_id"):
            if fact.get(name) and (fact["type"] != "received" or getattr(rec, name) is None):
                setattr(rec, name, fact[name])
        if label == "received":
            rec.received_at = rec.received_at or at
            rec.status = rec.status or "received"
            state.reporter, state.contact = fact.get("reporter"), fact.get("contact")
            state.description, state.location = fact.get("description"), fact.get("location")
            state.channel, state.source = fact.get("channel"), fact.get("source")
            state.timeline.append(
                _entry(fact, label, fact.get("source"), channel=fact.get("channel"))
            )
        elif label in ("routed", "rerouted"):
            rec.routed_at = rec.routed_at or at
            round_routed_at = at
            state.lead, state.support = fact["lead"], list(fact.get("support") or [])
            rec.lead_id, rec.lead_kind = fact["lead"]["responder_id"], fact["lead"]["kind"]
            if rec.lead_id not in rec.leads:
                rec.leads.append(rec.lead_id)
            rec.acknowledge_by, rec.resolve_by = fact["acknowledge_by"], fact["resolve_by"]
            # A new lead starts a new round: its own acknowledgement is what counts.
            rec.acknowledged_at = rec.ack_on_time = rec.ack_seconds = None
            rec.escalation_level = 0
            rec.status = "routed"
            if fact.get("possible_duplicate_of"):
                state.possible_duplicate_of = fact["possible_duplicate_of"]
                state.duplicate_note = fact.get("duplicate_note")
            state.timeline.append(
                _entry(
                    fact,
                    label,
                    "routing",
                    lead=rec.lead_id,
                    support=[s["responder_id"] for s in state.support],
                    acknowledge_by=rec.acknowledge_by,
                    resolve_by=rec.resolve_by,
                    previous_lead=fact.get("previous_lead"),
                )
            )
        elif label == "escalated":
            rec.escalations += 1
            rec.escalation_level = max(rec.escalation_level, int(fact["level"]))
            if fact["breach"] == "acknowledge":
                rec.ack_breached = True
            else:
                rec.resolve_breached = True
            state.timeline.append(
                _entry(
                    fact,
                    label,
                    "routing",
                    level=fact["level"],
                    breach=fact["breach"],
                    escalated_to=fact.get("escalated_to"),
                )
            )
        elif label == "reminded":
            rec.reminders += 1
            state.timeline.append(_entry(fact, label, "routing"))
        else:
            _apply_update(rec, state, fact, label, round_routed_at)
    anchor = rec.received_at or rec.routed_at or first_at
    if anchor is not None:
        rec.received_day, rec.received_month = day_of(anchor, tz), month_of(anchor, tz)
    if rec.routed_at is not None:
        rec.routed_day, rec.routed_month = day_of(rec.routed_at, tz), month_of(rec.routed_at, tz)
    rec.periods = sorted(
        {p for p in (rec.received_day, rec.received_month, rec.routed_day, rec.routed_month) if p}
    )
    return state


def _apply_update(
    rec: ComplaintRecord,
    state: ComplaintState,
    fact: Fact,
    label: str,
    round_routed_at: datetime | None,
) -> None:
    at: datetime = fact["at"]
    rec.status = fact.get("status") or rec.status
    if fact.get("lead"):
        state.lead = fact["lead"]
        rec.lead_id, rec.lead_kind = fact["lead"]["responder_id"], fact["lead"]["kind"]
        if rec.lead_id not in rec.leads:
            rec.leads.append(rec.lead_id)
    if fact.get("acknowledge_by"):
        rec.acknowledge_by = fact["acknowledge_by"]
    if fact.get("resolve_by"):
        rec.resolve_by = fact["resolve_by"]
    # Starting or finishing the work also answers the acknowledge due time.
    if label in ("acknowledged", "in_progress", "resolved") and rec.acknowledged_at is None:
        rec.acknowledged_at = at
        stated = fact.get("on_time") if label == "acknowledged" else None
        if stated is not None:
            rec.ack_on_time = bool(stated)
        elif rec.acknowledge_by is not None:
            rec.ack_on_time = at <= rec.acknowledge_by
        if round_routed_at is not None:
            rec.ack_seconds = (at - round_routed_at).total_seconds()
    if label == "returned":
        rec.bounces += 1
    elif label == "resolved":
        rec.resolved_at = at
        stated = fact.get("on_time")
        if stated is not None:
            rec.resolve_on_time = bool(stated)
        elif rec.resolve_by is not None:
            rec.resolve_on_time = at <= rec.resolve_by
        start = rec.routed_at or rec.received_at
        rec.resolve_seconds = None if start is None else (at - start).total_seconds()
    elif label == "rated":
        rec.rating = fact.get("rating")
    elif label == "reopened":
        rec.reopened += 1
        rec.resolved_at = rec.resolve_on_time = rec.resolve_seconds = None
        if rec.status in RESOLVED_STATUSES:
            rec.status = "in_progress"
    elif label == "duplicate_linked":
        rec.duplicate_of = fact.get("duplicate_of")
        rec.status = "duplicate"
    elif label == "unlinked":
        rec.duplicate_of = None
    elif label == "hotspot" and fact.get("hotspot_id") not in state.hotspots:
        state.hotspots.append(fact["hotspot_id"])
    state.timeline.append(
        _entry(
            fact,
            label,
            fact.get("actor_id"),
            status=fact.get("status"),
            note=fact.get("note"),
            rating=fact.get("rating"),
            on_time=fact.get("on_time"),
            duplicate_of=fact.get("duplicate_of"),
            hotspot_id=fact.get("hotspot_id"),
            # The audit: the API key or Kafka principal the update came through.
            via=fact.get("via"),
            # What a hot spot changed: the lead's (shortened) acknowledge due time.
            acknowledge_by=fact.get("acknowledge_by") if label == "hotspot" else None,
        )
    )


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


def view(state: ComplaintState) -> dict[str, Any]:
    """What ``GET /v1/complaints/{id}`` answers: the public contract, reporter masked."""
    rec = state.record
    lead = state.lead
    answer: dict[str, Any] = _json(
        {
            "complaint_id": rec.complaint_id,
            "status": rec.status,
            "category": rec.category,
            "compound_id": rec.compound_id,
            "community_id": rec.community_id,
            "lead": None
            if lead is None
            else {"responder_id": lead["responder_id"], "kind": lead["kind"]},
            "support": [
                {"responder_id": s["responder_id"], "kind": s["kind"]} for s in state.support
            ],
            "due": {"acknowledge_by": rec.acknowledge_by, "resolve_by": rec.resolve_by},
            "escalation_level": rec.escalation_level,
            "duplicate_of": rec.duplicate_of,
            "possible_duplicate_of": state.possible_duplicate_of,
            "duplicate_note": state.duplicate_note,
            "hotspots": state.hotspots,
            "past_leads": [lead for lead in rec.leads if lead != rec.lead_id],
            "bounces": rec.bounces,
            "rating": rec.rating,
            "channel": state.channel,
            "description": state.description,
            "location": state.location,
            "reporter": state.reporter,
            "timeline": state.timeline,
        }
    )
    return answer
