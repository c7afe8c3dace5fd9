"""What a silent or late responder has earned, decided from one complaint's state.

- 75% of the acknowledge window passed without acknowledgement: remind the lead.
- Acknowledge due time passed: level 1, to the lead's ``escalates_to``.
- Still not acknowledged one more acknowledge window later: level 2, to the
  directory's coordination desk.
- Resolve due time passed: the next level, marked overdue.
Each step happens once per handling cycle (a re-route or a reopening starts a new one);
the store applies a step only to the version it was decided from, so however many
routing copies sweep, each level is escalated exactly once."""

from __future__ import annotations

from datetime import datetime

from services.routing.assign import assignee, expand
from services.routing.due import reminder_at, second_acknowledge_breach_at
from services.routing.policy import RoutingPolicy
from services.routing.state import OPEN_STATUSES, ComplaintState
from shared.directory import Directory
from shared.events import (
    Assignee,
    Breach,
    ComplaintEscalated,
    ComplaintReminded,
    ComplaintStatus,
)
from shared.ids import stable_id
from shared.topics import COMPLAINTS_ESCALATED, COMPLAINTS_REMINDED

SWEEPER = "routing"


def _pending_times(state: ComplaintState, policy: RoutingPolicy) -> list[datetime]:
    if state.status not in OPEN_STATUSES or state.due is None or state.routed_at is None:
        return []
    due = state.due
    times: list[datetime] = []
    if state.status == ComplaintStatus.ROUTED:
        remind = reminder_at(state.routed_at, due.acknowledge_by, policy.reminder_fraction)
        if not state.reminded and state.escalation_level == 0:
            times.append(remind)
        if state.escalation_level < 1:
            times.append(due.acknowledge_by)
        if state.escalation_level < 2:
            times.append(second_acknowledge_breach_at(state.routed_at, due.acknowledge_by))
    if not state.resolve_escalated:
        times.append(due.resolve_by)
    return times


def next_check(state: ComplaintState, policy: RoutingPolicy) -> datetime | None:
    """When the sweeper must look at this complaint again (None: never)."""
    return min(_pending_times(state, policy), default=None)


def escalation_targets(state: ComplaintState, level: int, directory: Directory) -> list[Assignee]:
    assert state.lead is not None
    lead_id = state.lead.responder_id
    coordination = directory.coordination_responder
    if level == 1:
        lead = directory.responders_by_id.get(lead_id)
        ids = expand(lead.escalates_to if lead else [], state.summary.compound_id, directory)
        ids = [i for i in ids if i != lead_id]
        if not ids:
            community = state.summary.community_id
            ids = [community] if community and community != lead_id else [coordination]
    else:
        ids = [coordination]
    return [assignee(directory.responder(i)) for i in ids]


def sweep(
    state: ComplaintState, *, policy: RoutingPolicy, directory: Directory, now: datetime
) -> ComplaintState | None:
    """The state after the one step that is due now (events queued), or None."""
    if state.status not in OPEN_STATUSES or state.due is None or state.routed_at is None:
        return None
    due = state.due
    changed = state.copy_for_change()
    if state.status == ComplaintStatus.ROUTED:
        if state.escalation_level < 1 and now >= due.acknowledge_by:
            _escalate(changed, 1, Breach.ACKNOWLEDGE, due.acknowledge_by, directory, now)
        elif state.escalation_level < 2 and now >= second_acknowledge_breach_at(
            state.routed_at, due.acknowledge_by
        ):
            _escalate(changed, 2, Breach.ACKNOWLEDGE, due.acknowledge_by, directory, now)
        elif (
            not state.reminded
            and state.escalation_level == 0
            and now >= reminder_at(state.routed_at, due.acknowledge_by, policy.reminder_fraction)
        ):
            _remind(changed, now)
    if changed.outbox == state.outbox and not state.resolve_escalated and now >= due.resolve_by:
        changed.overdue = True
        changed.resolve_escalated = True
        _escalate(
            changed, state.escalation_level + 1, Breach.RESOLVE, due.resolve_by, directory, now
        )
    if changed.outbox == state.outbox:
        return None
    changed.next_check_at = next_check(changed, policy)
    return changed


def _cycle(state: ComplaintState) -> str:
    """Names one handling cycle: a re-route or a reopening starts a new one."""
    return f"r{state.round}o{state.reopens}"


def _escalate(
    state: ComplaintState,
    level: int,
    breach: Breach,
    due_at: datetime,
    directory: Directory,
    now: datetime,
) -> None:
    assert state.lead is not None
    state.escalation_level = level
    state.reminded = True  # a reminder after an escalation would only be noise
    if breach == Breach.RESOLVE:
        reason = f"overdue: not resolved by {due_at.isoformat()}"
    elif level == 1:
        reason = f"not acknowledged by {due_at.isoformat()}"
    else:
        reason = "still not acknowledged one acknowledge window after its due time"
    state.note(f"escalated_level_{level}", now, SWEEPER)
    state.emit(
        COMPLAINTS_ESCALATED,
        ComplaintEscalated(
            event_id=stable_id(state.complaint_id, "escalated", _cycle(state), level),
            occurred_at=now,
            complaint_id=state.complaint_id,
            level=level,
            breach=breach,
            due_at=due_at,
            lead=state.lead,
            escalated_to=escalation_targets(state, level, directory),
            reason=reason,
            summary=state.summary,
        ),
        now,
    )


def _remind(state: ComplaintState, now: datetime) -> None:
    assert state.lead is not None
    assert state.due is not None
    state.reminded = True
    state.note("reminded", now, SWEEPER)
    state.emit(
        COMPLAINTS_REMINDED,
        ComplaintReminded(
            event_id=stable_id(state.complaint_id, "reminded", _cycle(state)),
            occurred_at=now,
            complaint_id=state.complaint_id,
            lead=state.lead,
            acknowledge_by=state.due.acknowledge_by,
            summary=state.summary,
        ),
        now,
    )
