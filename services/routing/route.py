"""Routing a newly received complaint: classify, assign, set due times, or link it
to the open complaint it duplicates."""

from __future__ import annotations

from datetime import datetime

from services.routing.assign import assign
from services.routing.classify import Classification, classify
from services.routing.due import due_times
from services.routing.duplicates import find_duplicate
from services.routing.escalation import next_check
from services.routing.policy import RoutingPolicy
from services.routing.state import ComplaintState
from shared.directory import Directory
from shared.events import (
    ComplaintReceived,
    ComplaintRouted,
    ComplaintStatus,
    ComplaintSummary,
    ComplaintUpdated,
    UpdateKind,
)
from shared.ids import stable_id
from shared.topics import COMPLAINTS_ROUTED, COMPLAINTS_UPDATED

ROUTING_ACTOR = "routing"


def classify_received(policy: RoutingPolicy, received: ComplaintReceived) -> Classification:
    return classify(policy, received.category, received.description)


def summary_of(
    received: ComplaintReceived, classification: Classification, directory: Directory
) -> ComplaintSummary:
    compound = directory.compound(received.compound_id)
    category = classification.category
    return ComplaintSummary(
        category=category.code,
        category_name=category.name,
        urgency=category.urgency,
        compound_id=received.compound_id,
        compound_name=compound.name if compound else None,
        community_id=compound.community if compound else None,
        description=received.description,
        location=received.location,
        reporter=received.reporter,
        channel=received.channel,
    )


def route_received(
    received: ComplaintReceived,
    classification: Classification,
    *,
    policy: RoutingPolicy,
    directory: Directory,
    open_candidates: list[ComplaintState],
    now: datetime,
) -> ComplaintState:
    """The first state of a complaint, with its routed (or duplicate_linked) event queued."""
    summary = summary_of(received, classification, directory)
    state = ComplaintState(
        complaint_id=received.complaint_id,
        status=ComplaintStatus.RECEIVED,
        summary=summary,
        received_at=received.occurred_at,
        category_source=classification.source,
        matched_keyword=classification.matched_keyword,
    )
    state.note("received", received.occurred_at, received.source)
    original = find_duplicate(
        complaint_id=received.complaint_id,
        compound_id=received.compound_id,
        category=summary.category,
        description=received.description,
        received_at=received.occurred_at,
        candidates=open_candidates,
        window=policy.duplicate_window,
        threshold=policy.duplicate_similarity,
    )
    if original is not None:
        state.status = ComplaintStatus.DUPLICATE
        state.duplicate_of = original.complaint_id
        state.note(UpdateKind.DUPLICATE_LINKED, now, ROUTING_ACTOR)
        state.emit(
            COMPLAINTS_UPDATED,
            ComplaintUpdated(
                event_id=stable_id(received.complaint_id, "duplicate_linked"),
                occurred_at=now,
                complaint_id=received.complaint_id,
                type=UpdateKind.DUPLICATE_LINKED,
                actor_id=ROUTING_ACTOR,
                status=ComplaintStatus.DUPLICATE,
                duplicate_of=original.complaint_id,
                summary=summary,
            ),
            now,
        )
        return state
    assignment = assign(classification.category, received.compound_id, directory)
    state.status = ComplaintStatus.ROUTED
    state.unknown_compound = assignment.unknown_compound
    state.lead = assignment.lead
    state.support = list(assignment.support)
    state.past_leads = [assignment.lead.responder_id]
    state.routed_at = now
    state.due = due_times(policy.window(summary.urgency), now)
    state.next_check_at = next_check(state, policy)
    state.note("routed", now, ROUTING_ACTOR)
    state.emit(COMPLAINTS_ROUTED, routed_event(state, now, reason="initial"), now)
    return state


def routed_event(
    state: ComplaintState,
    now: datetime,
    *,
    reason: str,
    previous_lead: str | None = None,
) -> ComplaintRouted:
    assert state.lead is not None
    assert state.due is not None
    return ComplaintRouted(
        event_id=stable_id(state.complaint_id, "routed", state.round),
        occurred_at=now,
        complaint_id=state.complaint_id,
        summary=state.summary,
        category_source=state.category_source,
        matched_keyword=state.matched_keyword,
        lead=state.lead,
        support=state.support,
        due=state.due,
        unknown_compound=state.unknown_compound,
        round=state.round,
        reason="rerouted" if reason == "rerouted" else "initial",
        previous_lead=previous_lead,
    )
