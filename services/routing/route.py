"""Routing a newly received complaint: classify, assign, set due times, or link it
to the open complaint it surely duplicates (``services.routing.duplicates``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.routing.assign import assign
from services.routing.classify import Classification, classify
from services.routing.due import due_times
from services.routing.duplicates import Fingerprint, Verdict, best_match, fingerprint
from services.routing.escalation import next_check
from services.routing.policy import CategoryPolicy, RoutingPolicy
from services.routing.state import ComplaintState
from shared.directory import Directory
from shared.events import (
    ComplaintReceived,
    ComplaintRouted,
    ComplaintStatus,
    ComplaintSummary,
    ComplaintUpdated,
    RoutingCommand,
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


def fingerprint_of(
    summary: ComplaintSummary, received_at: datetime, policy: RoutingPolicy
) -> Fingerprint:
    """How the duplicate check sees a complaint (computed once per complaint)."""
    return fingerprint(
        summary.description,
        summary.location,
        policy.duplicates,
        compound_id=summary.compound_id,
        category=summary.category,
        received_at=received_at,
    )


def route_received(
    received: ComplaintReceived,
    classification: Classification,
    *,
    policy: RoutingPolicy,
    directory: Directory,
    open_candidates: Sequence[tuple[str, Fingerprint]],
    now: datetime,
) -> ComplaintState:
    """The first state of a complaint, with its routed (or duplicate_linked) event
    queued: linked only when the duplicate check is sure (``Verdict.LINK``), routed and
    marked ``possible_duplicate_of`` when it only suspects it."""
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
    mine = fingerprint_of(summary, received.occurred_at, policy)
    others = [(cid, fp) for cid, fp in open_candidates if cid != received.complaint_id]
    judgement = best_match(mine, others, policy.duplicates)
    if judgement is not None and judgement.verdict is Verdict.LINK:
        assert judgement.candidate_id is not None
        link_as_duplicate(state, judgement.candidate_id, judgement.reason, now)
        return state
    if judgement is not None:
        state.possible_duplicate_of = judgement.candidate_id
        state.duplicate_note = judgement.reason
    route_on_its_own(state, classification.category, policy=policy, directory=directory, now=now)
    return state


def own_step(
    state: ComplaintState, kind: UpdateKind, cause: Sequence[str], now: datetime, **fields: object
) -> None:
    """A change routing makes by itself, not asked by anyone: noted in the timeline and
    told on ``complaints.updated`` with the complaint's status as it now is. ``cause``
    names it, so a replayed batch gives the same event id."""
    state.note(kind, now, ROUTING_ACTOR)
    event = ComplaintUpdated.model_validate(
        {
            "event_id": stable_id(state.complaint_id, *cause),
            "occurred_at": now,
            "complaint_id": state.complaint_id,
            "type": kind,
            "actor_id": ROUTING_ACTOR,
            "status": state.status,
            "summary": state.summary,
            **fields,
        }
    )
    state.emit(COMPLAINTS_UPDATED, event, now)


def link_as_duplicate(state: ComplaintState, original_id: str, why: str, now: datetime) -> None:
    state.status = ComplaintStatus.DUPLICATE
    state.duplicate_of = original_id
    own_step(
        state, UpdateKind.DUPLICATE_LINKED, ("duplicate_linked",), now,
        duplicate_of=original_id, note=why,
    )  # fmt: skip
    # The original's owner keeps the list of its duplicates: they follow it when it
    # is resolved.
    state.ask(
        RoutingCommand(
            command_id=stable_id(state.complaint_id, "attach", original_id),
            kind="attach",
            complaint_id=original_id,
            duplicate_id=state.complaint_id,
            at=now,
        ),
        now,
    )


def route_on_its_own(
    state: ComplaintState,
    category: CategoryPolicy,
    *,
    policy: RoutingPolicy,
    directory: Directory,
    now: datetime,
) -> None:
    """Assign the lead and supports with due times, and queue the routed event."""
    assignment = assign(category, state.summary.compound_id, directory)
    state.status = ComplaintStatus.ROUTED
    state.unknown_compound = assignment.unknown_compound
    state.lead = assignment.lead
    state.support = list(assignment.support)
    state.past_leads = [assignment.lead.responder_id]
    state.routed_at = now
    state.due = due_times(policy.window(state.summary.urgency), now)
    state.next_check_at = next_check(state, policy)
    state.note("routed", now, ROUTING_ACTOR)
    state.emit(COMPLAINTS_ROUTED, routed_event(state, now, reason="initial"), now)


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
        possible_duplicate_of=state.possible_duplicate_of,
        duplicate_note=state.duplicate_note,
    )
