"""The complaint lifecycle: which update is allowed, from whom, and what it changes.

routed → acknowledged → in_progress → resolved → rated (closed).
- Only the lead acknowledges, resolves or returns. A support may post ``in_progress``
  (its part of joint handling) once the lead has acknowledged; it may do nothing else.
- ``returned`` needs a reason; the complaint goes to the lead's ``returns_to``, else
  the compound's community, else the coordination desk, never to a responder who
  already had it, and the bounce is counted.
- A rating comes from the resident (actor ``resident``) or from a callback desk on
  their behalf: a responder of kind dispatch, coordination or community that is not
  assigned to the complaint (nobody rates their own work). Only after ``resolved``.
- ``dissatisfied`` reopens the complaint with the same lead and a fresh resolve due time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from services.routing.assign import assignee, expand
from services.routing.due import due_times
from services.routing.escalation import next_check
from services.routing.policy import RoutingPolicy
from services.routing.route import own_step, route_on_its_own, routed_event
from services.routing.state import OPEN_STATUSES, ComplaintState
from shared.directory import Directory
from shared.events import (
    ComplaintStatus,
    ComplaintUpdated,
    ComplaintUpdateRequest,
    DueTimes,
    IngressUpdate,
    Rating,
    ResponderKind,
    RoutingCommand,
    UpdateKind,
    UpdateType,
)
from shared.ids import stable_id
from shared.topics import COMPLAINTS_ROUTED, COMPLAINTS_UPDATED

RESIDENT = "resident"
CALLBACK_DESK_KINDS = frozenset(
    {ResponderKind.DISPATCH, ResponderKind.COORDINATION, ResponderKind.COMMUNITY}
)

RefusalCode = Literal["not_routed", "not_allowed", "not_assigned", "invalid"]


class UpdateRefusedError(Exception):
    """An update that must not be applied, and why (``code`` maps to an HTTP status)."""

    def __init__(self, code: RefusalCode, field: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.field, self.reason = code, field, reason


def apply_update(
    state: ComplaintState,
    request: ComplaintUpdateRequest,
    *,
    key: str,
    policy: RoutingPolicy,
    directory: Directory,
    now: datetime,
) -> ComplaintState:
    """The state after ``request`` (events queued); the same state if ``key`` was
    already applied; raises UpdateRefusedError if the update is not allowed."""
    if key in state.applied_updates:
        return state
    if request.type == UpdateType.UNLINKED:
        return _unlink(state, request, key, policy, directory, now)
    _check_applicable(state, request)
    changed = state.copy_for_change()
    changed.remember_update(key)
    if request.type == UpdateType.RATED:
        _rate(changed, request, key, policy, directory, now)
    else:
        _check_actor(state, request)
        handlers = {
            UpdateType.ACKNOWLEDGED: _acknowledge,
            UpdateType.IN_PROGRESS: _progress,
            UpdateType.RESOLVED: _resolve,
            UpdateType.RETURNED: _return,
        }
        handlers[request.type](changed, request, key, policy, directory, now)
    changed.next_check_at = next_check(changed, policy)
    return changed


def _check_applicable(state: ComplaintState, request: ComplaintUpdateRequest) -> None:
    if state.status == ComplaintStatus.DUPLICATE:
        raise UpdateRefusedError(
            "not_allowed",
            "type",
            f"the complaint is linked as a duplicate of {state.duplicate_of}; update that "
            "one, or undo the link (unlinked)",
        )
    if state.status == ComplaintStatus.CLOSED:
        raise UpdateRefusedError("not_allowed", "type", "the complaint is closed")
    followed = state.duplicate_of is not None and state.status == ComplaintStatus.RESOLVED
    if followed and request.type != UpdateType.RATED:
        raise UpdateRefusedError(
            "not_allowed",
            "type",
            f"the complaint was resolved with {state.duplicate_of}; only its rating is asked for",
        )
    if not followed and (state.lead is None or state.due is None):
        raise UpdateRefusedError(
            "not_routed", "complaint_id", "the complaint has not been routed yet"
        )
    if request.rating is not None and request.type != UpdateType.RATED:
        raise UpdateRefusedError("invalid", "rating", "a rating is only allowed with type 'rated'")


def _check_actor(state: ComplaintState, request: ComplaintUpdateRequest) -> None:
    assert state.lead is not None
    if request.actor_id == state.lead.responder_id:
        return
    if request.actor_id in (s.responder_id for s in state.support):
        if request.type == UpdateType.IN_PROGRESS:
            return
        raise UpdateRefusedError(
            "not_assigned",
            "actor_id",
            f"only the lead ({state.lead.responder_id}) may post '{request.type.value}'; "
            "a supporting responder may only post in_progress",
        )
    raise UpdateRefusedError(
        "not_assigned",
        "actor_id",
        f"{request.actor_id!r} is not assigned to this complaint",
    )


def _updated(
    state: ComplaintState,
    kind: UpdateKind,
    request: ComplaintUpdateRequest,
    key: str,
    now: datetime,
    **fields: object,
) -> None:
    state.note(kind.value, now, request.actor_id)
    event = ComplaintUpdated.model_validate(
        {
            "event_id": stable_id(state.complaint_id, kind.value, key),
            "occurred_at": now,
            "complaint_id": state.complaint_id,
            "type": kind,
            "actor_id": request.actor_id,
            "status": state.status,
            "note": request.note,
            # The audit: which key or principal the update came through.
            "via": request.via if isinstance(request, IngressUpdate) else None,
            **fields,
        }
    )
    state.emit(COMPLAINTS_UPDATED, event, now)


def _not_allowed(state: ComplaintState, wanted: str) -> UpdateRefusedError:
    return UpdateRefusedError(
        "not_allowed",
        "type",
        f"cannot {wanted} a complaint that is {state.status.value}",
    )


def _require_being_handled(state: ComplaintState, wanted: str) -> None:
    """Progress and resolution need the lead to have taken the complaint first."""
    if state.status == ComplaintStatus.ROUTED:
        raise UpdateRefusedError(
            "not_allowed", "type", f"the lead must acknowledge the complaint before you {wanted} it"
        )
    if state.status not in (ComplaintStatus.ACKNOWLEDGED, ComplaintStatus.IN_PROGRESS):
        raise _not_allowed(state, wanted)


def _acknowledge(
    state: ComplaintState,
    request: ComplaintUpdateRequest,
    key: str,
    policy: RoutingPolicy,
    directory: Directory,
    now: datetime,
) -> None:
    if state.status != ComplaintStatus.ROUTED:
        raise _not_allowed(state, "acknowledge")
    assert state.due is not None
    state.status = ComplaintStatus.ACKNOWLEDGED
    state.acknowledged_at = now
    on_time = now <= state.due.acknowledge_by
    _updated(state, UpdateKind.ACKNOWLEDGED, request, key, now, on_time=on_time, lead=state.lead)


def _progress(
    state: ComplaintState,
    request: ComplaintUpdateRequest,
    key: str,
    policy: RoutingPolicy,
    directory: Directory,
    now: datetime,
) -> None:
    _require_being_handled(state, "report progress on")
    state.status = ComplaintStatus.IN_PROGRESS
    _updated(state, UpdateKind.IN_PROGRESS, request, key, now)


def _resolve(
    state: ComplaintState,
    request: ComplaintUpdateRequest,
    key: str,
    policy: RoutingPolicy,
    directory: Directory,
    now: datetime,
) -> None:
    _require_being_handled(state, "resolve")
    state.status = ComplaintStatus.RESOLVED
    state.resolved_at = now
    _updated(state, UpdateKind.RESOLVED, request, key, now, lead=state.lead)
    for duplicate_id in state.duplicates:
        ask_to_follow(state, duplicate_id, now)


def ask_to_follow(state: ComplaintState, duplicate_id: str, now: datetime) -> None:
    """Tell the owner of a duplicate that its original is resolved."""
    state.ask(
        RoutingCommand(
            command_id=stable_id(duplicate_id, "follow", state.complaint_id, state.reopens),
            kind="follow",
            complaint_id=duplicate_id,
            original_id=state.complaint_id,
            at=now,
            note=f"resolved with {state.complaint_id}",
        ),
        now,
    )


def next_responder(state: ComplaintState, directory: Directory) -> str | None:
    """Where a returned complaint goes: never to a responder who already had it."""
    assert state.lead is not None
    lead = directory.responders_by_id.get(state.lead.responder_id)
    candidates = expand(lead.returns_to if lead else [], state.summary.compound_id, directory)
    if state.summary.community_id:
        candidates.append(state.summary.community_id)
    candidates.append(directory.coordination_responder)
    return next((c for c in candidates if c not in state.past_leads), None)


def _return(
    state: ComplaintState,
    request: ComplaintUpdateRequest,
    key: str,
    policy: RoutingPolicy,
    directory: Directory,
    now: datetime,
) -> None:
    if not (request.note or "").strip():
        raise UpdateRefusedError(
            "invalid", "note", "returning a complaint needs a reason in 'note'"
        )
    if state.status not in OPEN_STATUSES:
        raise _not_allowed(state, "return")
    target = next_responder(state, directory)
    if target is None:
        raise UpdateRefusedError(
            "not_allowed", "type", "every responder policy allows has already had this complaint"
        )
    assert state.lead is not None
    previous = state.lead.responder_id
    state.status = ComplaintStatus.ROUTED
    state.bounces += 1
    _updated(state, UpdateKind.RETURNED, request, key, now, lead=state.lead)
    state.lead = assignee(directory.responder(target))
    state.support = [s for s in state.support if s.responder_id != target]
    state.past_leads.append(target)
    state.round += 1
    state.routed_at = now
    state.due = due_times(policy.window(state.summary.urgency), now)
    state.acknowledged_at = None
    state.escalation_level = 0
    state.reminded = False
    state.resolve_escalated = False
    state.overdue = False
    state.note("rerouted", now, "routing")
    state.emit(
        COMPLAINTS_ROUTED,
        routed_event(state, now, reason="rerouted", previous_lead=previous),
        now,
    )


UNLINKERS = "the dispatch or coordination desk, or the compound's community"


def _unlink(
    state: ComplaintState,
    request: ComplaintUpdateRequest,
    key: str,
    policy: RoutingPolicy,
    directory: Directory,
    now: datetime,
) -> ComplaintState:
    """Undo a duplicate link: the complaint is routed on its own; the timeline shows
    both steps."""
    allowed = {
        directory.fallback_responder,
        directory.coordination_responder,
        state.summary.community_id,
    }
    if request.actor_id not in allowed:
        raise UpdateRefusedError("not_assigned", "actor_id", f"only {UNLINKERS} may undo a link")
    if state.status != ComplaintStatus.DUPLICATE:
        raise UpdateRefusedError(
            "not_allowed",
            "type",
            f"the complaint is {state.status.value}, not linked as a duplicate",
        )
    changed = state.copy_for_change()
    changed.remember_update(key)
    original = changed.duplicate_of
    changed.duplicate_of = None
    _updated(changed, UpdateKind.UNLINKED, request, key, now, duplicate_of=original)
    route_on_its_own(
        changed,
        policy.category(changed.summary.category),
        policy=policy,
        directory=directory,
        now=now,
    )
    return changed


def follow_original(
    state: ComplaintState, original_id: str, note: str | None, now: datetime
) -> ComplaintState | None:
    """A duplicate whose original was resolved is resolved with it (None: nothing to do,
    e.g. the link was undone meanwhile)."""
    if state.status != ComplaintStatus.DUPLICATE or state.duplicate_of != original_id:
        return None
    changed = state.copy_for_change()
    changed.status = ComplaintStatus.RESOLVED
    changed.resolved_at = now
    own_step(
        changed, UpdateKind.RESOLVED, ("followed", original_id), now,
        note=note, duplicate_of=original_id,
    )  # fmt: skip
    return changed


def attach_duplicate(
    state: ComplaintState, duplicate_id: str, now: datetime
) -> ComplaintState | None:
    """Remember a complaint linked to this one; an original already resolved tells it
    at once."""
    if duplicate_id in state.duplicates:
        return None
    changed = state.copy_for_change()
    changed.duplicates = [*changed.duplicates, duplicate_id]
    if changed.status in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED):
        ask_to_follow(changed, duplicate_id, now)
    return changed


def join_hotspot(
    state: ComplaintState, hotspot_id: str, factor: float, now: datetime
) -> ComplaintState | None:
    """A complaint found in an open hot spot (未訴先辦): its lead must acknowledge sooner.

    Only while it waits for acknowledgement does the due time move; the hot spot shows
    in its timeline either way."""
    if hotspot_id in state.hotspots or state.status not in OPEN_STATUSES:
        return None
    changed = state.copy_for_change()
    changed.hotspots = [*changed.hotspots, hotspot_id]
    if (
        changed.status == ComplaintStatus.ROUTED
        and changed.due is not None
        and changed.routed_at is not None
    ):
        raised = changed.routed_at + (changed.due.acknowledge_by - changed.routed_at) * factor
        if raised < changed.due.acknowledge_by:
            changed.due = DueTimes(acknowledge_by=raised, resolve_by=changed.due.resolve_by)
    own_step(
        changed, UpdateKind.HOTSPOT, ("hotspot", hotspot_id), now,
        hotspot_id=hotspot_id, lead=changed.lead, due=changed.due,
    )  # fmt: skip
    return changed


def _check_rater(state: ComplaintState, actor_id: str, directory: Directory) -> None:
    if actor_id == RESIDENT:
        return
    desk = directory.responders_by_id.get(actor_id)
    if desk is None or desk.kind not in CALLBACK_DESK_KINDS:
        raise UpdateRefusedError(
            "not_assigned",
            "actor_id",
            "a rating comes from the resident ('resident') or a callback desk",
        )
    if state.is_assigned(actor_id):
        raise UpdateRefusedError(
            "not_assigned", "actor_id", "a responder cannot rate its own handling"
        )


def _rate(
    state: ComplaintState,
    request: ComplaintUpdateRequest,
    key: str,
    policy: RoutingPolicy,
    directory: Directory,
    now: datetime,
) -> None:
    _check_rater(state, request.actor_id, directory)
    if request.rating is None:
        raise UpdateRefusedError("invalid", "rating", "type 'rated' needs a rating")
    if state.status != ComplaintStatus.RESOLVED:
        raise UpdateRefusedError(
            "not_allowed", "type", "a complaint can only be rated once it is resolved"
        )
    state.rating = request.rating
    if request.rating != Rating.DISSATISFIED:
        state.status = ComplaintStatus.CLOSED
        _updated(state, UpdateKind.RATED, request, key, now, rating=request.rating)
        return
    if state.lead is None:
        # A duplicate resolved with its original, and its resident is not satisfied:
        # the problem is not solved for them, so their complaint is handled on its own.
        _updated(state, UpdateKind.RATED, request, key, now, rating=request.rating)
        state.rating = None
        state.resolved_at = None
        state.duplicate_of = None
        route_on_its_own(
            state,
            policy.category(state.summary.category),
            policy=policy,
            directory=directory,
            now=now,
        )
        return
    # Re-handling: same lead, fresh resolve due time, a new escalation cycle.
    assert state.due is not None
    state.status = ComplaintStatus.IN_PROGRESS
    _updated(state, UpdateKind.RATED, request, key, now, rating=request.rating)
    state.reopens += 1
    state.resolved_at = None
    state.due = DueTimes(
        acknowledge_by=state.due.acknowledge_by,
        resolve_by=now + policy.window(state.summary.urgency).resolve_within,
    )
    state.escalation_level = 0
    state.resolve_escalated = False
    state.overdue = False
    _updated(
        state,
        UpdateKind.REOPENED,
        request,
        key,
        now,
        lead=state.lead,
        due=state.due,
        summary=state.summary,
    )
