"""What one batch of inputs does to the complaints they name (pure: no I/O).

Inputs come in record order: complaints intake accepted, lifecycle updates, and due
timers of the owner's complaints. Each complaint changed by a batch gets exactly one
new version holding every event the batch caused for it, and its ``cause``: the inputs
it was made from. Times come from the inputs themselves (a complaint is routed at the
moment intake accepted it, an update takes effect when it was sent, a timer step at
its due time), so a batch replayed after a crash decides exactly what it decided
before, with the same event ids."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from services.routing.escalation import next_check, sweep
from services.routing.hotspot_signals import signals_of
from services.routing.index import OpenIndex
from services.routing.lifecycle import (
    UpdateRefusedError,
    apply_update,
    attach_duplicate,
    follow_original,
    join_hotspot,
)
from services.routing.policy import RoutingPolicy
from services.routing.route import classify_received, route_received
from services.routing.state import OPEN_STATUSES, ComplaintState, OutboxEntry
from shared.consuming import Origin
from shared.directory import Directory
from shared.events import (
    ComplaintReceived,
    ComplaintRejected,
    ComplaintStatus,
    IngressUpdate,
    RejectionReason,
    RoutingCommand,
    UpdateReply,
)
from shared.ids import stable_id
from shared.privacy import scrub_phones
from shared.topics import HOTSPOTS_SIGNALS

CLOSED_REASON = "the complaint is closed"


@dataclass(frozen=True)
class Arrived:
    """A complaint intake accepted (``complaints.received``)."""

    received: ComplaintReceived
    origin: Origin


@dataclass(frozen=True)
class Requested:
    """A lifecycle update (``ingress.updates``) and the moment it was sent."""

    update: IngressUpdate
    key: str
    """Makes a retried or redelivered update a no-op: intake's request id, else the
    record's position."""
    at: datetime
    origin: Origin


@dataclass(frozen=True)
class Malformed:
    """An update that is JSON but not a valid update: its sender hears why."""

    parsed: dict[str, object]
    reasons: list[RejectionReason]
    origin: Origin


@dataclass(frozen=True)
class Commanded:
    """Another owner's command about one of this owner's complaints."""

    command: RoutingCommand
    origin: Origin


@dataclass(frozen=True)
class Due:
    """One of the owner's complaints reached its next check."""

    complaint_id: str
    at: datetime


Input = Arrived | Requested | Malformed | Commanded | Due


@dataclass
class Plan:
    changed: dict[str, ComplaintState] = field(default_factory=dict)
    """The new version of every complaint the batch changed (its events in ``outbox``)."""
    causes: dict[str, list[str]] = field(default_factory=dict)
    replies: list[UpdateReply] = field(default_factory=list)
    rejections: list[tuple[bytes | None, ComplaintRejected]] = field(default_factory=list)
    """Each with the key its update was sent under, so the sender finds the answer."""

    def cause(self, complaint_id: str) -> str:
        return "|".join(self.causes.get(complaint_id, []))


@dataclass(frozen=True)
class Context:
    policy: RoutingPolicy
    directory: Directory
    index: OpenIndex


def plan(
    inputs: Sequence[Input],
    states: Mapping[str, ComplaintState],
    closed: set[str],
    context: Context,
) -> Plan:
    """Decide a batch. ``states``: the owner's complaints; ``closed``: those among the
    inputs' complaints that were closed and put away."""
    result = Plan()
    for item in inputs:
        if isinstance(item, Arrived):
            _arrive(item, states, closed, context, result)
        elif isinstance(item, Requested):
            _request(item, states, closed, context, result)
        elif isinstance(item, Commanded):
            _command(item, states, context, result)
        elif isinstance(item, Malformed):
            result.rejections.append(
                (item.origin.key, _rejection(item.origin, item.parsed, item.reasons))
            )
        else:
            _due(item, states, context, result)
    return result


def _current(
    complaint_id: str, states: Mapping[str, ComplaintState], result: Plan
) -> ComplaintState | None:
    """The complaint as the batch has left it so far, as the next version to change."""
    if complaint_id in result.changed:
        return result.changed[complaint_id]
    stored = states.get(complaint_id)
    return None if stored is None else stored.next_version()


def _record(
    state: ComplaintState,
    cause: str,
    context: Context,
    result: Plan,
    before: ComplaintState | None,
) -> None:
    for signal in signals_of(before, state):
        state.outbox.append(
            OutboxEntry(
                event_id=stable_id("signal", *signal.identity),
                topic=HOTSPOTS_SIGNALS,
                payload=signal.model_dump_json(),
                created_at=state.timeline[-1].at if state.timeline else state.received_at,
                key=signal.partition_key,
            )
        )
    result.changed[state.complaint_id] = state
    result.causes.setdefault(state.complaint_id, []).append(cause)
    context.index.observe_state(
        state.complaint_id,
        state.summary,
        state.received_at,
        open_=state.status in OPEN_STATUSES,
    )


def _arrive(
    item: Arrived,
    states: Mapping[str, ComplaintState],
    closed: set[str],
    context: Context,
    result: Plan,
) -> None:
    received = item.received
    cid = received.complaint_id
    if cid in states or cid in result.changed or cid in closed:
        return  # a redelivery or a resend: routed once already
    classification = classify_received(context.policy, received)
    state = route_received(
        received,
        classification,
        policy=context.policy,
        directory=context.directory,
        open_candidates=context.index.candidates(
            received.compound_id,
            classification.category.code,
            received.occurred_at - context.policy.duplicate_window,
        ),
        now=received.occurred_at,
    )
    state.version = 1
    _record(state, f"received:{received.event_id}", context, result, None)


def _request(
    item: Requested,
    states: Mapping[str, ComplaintState],
    closed: set[str],
    context: Context,
    result: Plan,
) -> None:
    update = item.update
    cid = update.complaint_id
    current = _current(cid, states, result)
    if current is None:
        if cid in closed:
            _refuse(item, "not_allowed", "type", CLOSED_REASON, result)
        elif update.request_id:
            result.replies.append(
                UpdateReply(request_id=update.request_id, complaint_id=cid, outcome="unknown")
            )
        else:
            result.rejections.append(
                (
                    item.origin.key,
                    _rejection(
                        item.origin,
                        update.model_dump(mode="json", exclude_none=True),
                        [RejectionReason(field="complaint_id", message="unknown complaint")],
                    ),
                )
            )
        return
    try:
        changed = apply_update(
            current,
            update,
            key=item.key,
            policy=context.policy,
            directory=context.directory,
            now=item.at,
        )
    except UpdateRefusedError as refusal:
        _refuse(item, refusal.code, refusal.field, refusal.reason, result)
        return
    if changed is not current:
        _record(changed, f"update:{item.key}", context, result, current)
    if update.request_id:
        result.replies.append(
            UpdateReply(
                request_id=update.request_id,
                complaint_id=cid,
                outcome="applied",
                status=changed.status,
                lead=changed.lead.responder_id if changed.lead else None,
            )
        )


def _refuse(item: Requested, code: str, field_name: str, reason: str, result: Plan) -> None:
    update = item.update
    if update.request_id:
        result.replies.append(
            UpdateReply(
                request_id=update.request_id,
                complaint_id=update.complaint_id,
                outcome="refused",
                code=code,
                field=field_name,
                reason=reason,
            )
        )
        return
    result.rejections.append(
        (
            item.origin.key,
            _rejection(
                item.origin,
                update.model_dump(mode="json", exclude_none=True),
                [RejectionReason(field=field_name, message=reason)],
            ),
        )
    )


def _command(
    item: Commanded, states: Mapping[str, ComplaintState], context: Context, result: Plan
) -> None:
    command = item.command
    current = _current(command.complaint_id, states, result)
    if current is None:
        return  # closed and put away, or never routed here: nothing follows
    if command.kind == "attach" and command.duplicate_id:
        changed = attach_duplicate(current, command.duplicate_id, command.at)
    elif command.kind == "follow" and command.original_id:
        changed = follow_original(current, command.original_id, command.note, command.at)
    elif command.kind == "hotspot" and command.hotspot_id:
        factor = command.factor or context.policy.hotspots.acknowledge_factor
        changed = join_hotspot(current, command.hotspot_id, factor, command.at)
        if changed is not None:
            changed.next_check_at = next_check(changed, context.policy)
    else:
        changed = None
    if changed is not None:
        _record(changed, f"command:{command.command_id}", context, result, current)


def _due(item: Due, states: Mapping[str, ComplaintState], context: Context, result: Plan) -> None:
    current = _current(item.complaint_id, states, result)
    if current is None or current.next_check_at is None or current.next_check_at > item.at:
        return  # changed since the timer was set: its own timer stands
    changed = sweep(current, policy=context.policy, directory=context.directory, now=item.at)
    if changed is not None:
        _record(changed, f"due:{item.at.isoformat()}", context, result, current)


def timer_after_nothing_due(
    state: ComplaintState, policy: RoutingPolicy, at: datetime
) -> datetime | None:
    """When to look again at a complaint whose timer found nothing to do (the policy
    changed under it): its next check, never sooner than ``at``."""
    later = next_check(state, policy)
    return None if later is None else max(later, at)


def _rejection(
    origin: Origin, parsed: Mapping[str, object], reasons: list[RejectionReason]
) -> ComplaintRejected:
    """The answer to a refused update; its id is fixed by the record's position, so a
    redelivered update is refused with the same event."""
    complaint_id = parsed.get("complaint_id")
    actor_id = parsed.get("actor_id")
    return ComplaintRejected(
        event_id=stable_id(origin.topic, origin.partition, origin.offset, "rejected"),
        complaint_id=complaint_id if isinstance(complaint_id, str) else "",
        kind="update",
        actor_id=actor_id if isinstance(actor_id, str) else None,
        reasons=reasons,
        origin_topic=origin.topic,
        origin_partition=origin.partition,
        origin_offset=origin.offset,
        excerpt=scrub_phones(orjson.dumps(dict(parsed)).decode())[:500],
    )


def status_is_final(state: ComplaintState) -> bool:
    """Closed complaints are put away: nothing can change them any more."""
    return state.status == ComplaintStatus.CLOSED
