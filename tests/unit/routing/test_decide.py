"""Deciding a batch: one version per complaint, answers to every update, and the same
decisions when a batch is replayed."""

from __future__ import annotations

from datetime import timedelta

from services.routing.decide import (
    Arrived,
    Commanded,
    Context,
    Due,
    Input,
    Malformed,
    Requested,
    plan,
)
from services.routing.index import OpenIndex
from services.routing.policy import RoutingPolicy
from services.routing.state import ComplaintState
from shared.consuming import Origin
from shared.directory import Directory
from shared.events import ComplaintStatus, IngressUpdate, RejectionReason, RoutingCommand
from shared.topics import (
    COMPLAINTS_ESCALATED,
    COMPLAINTS_ROUTED,
    COMPLAINTS_UPDATED,
    ROUTING_COMMANDS,
)
from tests.unit.routing.conftest import T0, events_of, received

ORIGIN = Origin("ingress.updates", 0, 7, b"c-1")


def context(policy: RoutingPolicy, directory: Directory) -> Context:
    return Context(policy, directory, OpenIndex(policy))


def arrived(complaint_id: str, description: str, compound_id: str = "cx-001") -> Arrived:
    event = received(compound_id, description, complaint_id=complaint_id)
    return Arrived(event, Origin("complaints.received", 0, 1, complaint_id.encode()))


def update(
    complaint_id: str, kind: str, actor: str, request_id: str | None = None, **more: str
) -> Requested:
    body = IngressUpdate.model_validate(
        {
            "complaint_id": complaint_id,
            "type": kind,
            "actor_id": actor,
            "request_id": request_id,
            **more,
        }
    )
    return Requested(body, request_id or f"key-{kind}", T0 + timedelta(minutes=5), ORIGIN)


def routed_state(policy: RoutingPolicy, directory: Directory) -> ComplaintState:
    [state] = plan(
        [arrived("c-1", "小区车辆乱停乱放")], {}, set(), context(policy, directory)
    ).changed.values()
    return state


def test_a_complaint_and_its_duplicate_in_one_batch_are_routed_once_and_linked(
    policy: RoutingPolicy, directory: Directory
) -> None:
    decided = plan(
        [
            arrived("c-1", "3号楼电梯又坏了，老人上不了楼"),
            arrived("c-2", "3号楼电梯又坏了！老人都上不了楼"),
        ],
        {},
        set(),
        context(policy, directory),
    )
    first, second = decided.changed["c-1"], decided.changed["c-2"]
    assert (first.status, first.version) == (ComplaintStatus.ROUTED, 1)
    assert (second.status, second.duplicate_of) == (ComplaintStatus.DUPLICATE, "c-1")
    assert len(events_of(first, COMPLAINTS_ROUTED)) == 1
    assert events_of(second, COMPLAINTS_ROUTED) == []


def test_a_replayed_batch_decides_the_same_versions_with_the_same_event_ids(
    policy: RoutingPolicy, directory: Directory
) -> None:
    inputs: list[Input] = [
        arrived("c-1", "院里停水三天了", "cx-003"),
        arrived("c-2", "小区车辆乱停乱放"),
    ]
    first = plan(inputs, {}, set(), context(policy, directory))
    replay = plan(inputs, {}, set(), context(policy, directory))
    assert {c: s.model_dump() for c, s in first.changed.items()} == {
        c: s.model_dump() for c, s in replay.changed.items()
    }
    assert first.causes == replay.causes
    # Routed at the moment intake accepted it, not whenever routing got to it.
    assert first.changed["c-1"].routed_at == T0


def test_several_updates_of_one_complaint_make_one_new_version(
    policy: RoutingPolicy, directory: Directory
) -> None:
    state = routed_state(policy, directory)
    decided = plan(
        [
            update("c-1", "acknowledged", "pf-dianzhong", "r1"),
            update("c-1", "in_progress", "pf-dianzhong", "r2"),
            update("c-1", "resolved", "pf-dianzhong", "r3", note="已清理"),
        ],
        {"c-1": state},
        set(),
        context(policy, directory),
    )
    changed = decided.changed["c-1"]
    assert changed.version == state.version + 1
    assert [e["type"] for e in events_of(changed, COMPLAINTS_UPDATED)] == [
        "acknowledged",
        "in_progress",
        "resolved",
    ]
    assert [(r.request_id, r.outcome, r.status) for r in decided.replies] == [
        ("r1", "applied", ComplaintStatus.ACKNOWLEDGED),
        ("r2", "applied", ComplaintStatus.IN_PROGRESS),
        ("r3", "applied", ComplaintStatus.RESOLVED),
    ]
    assert decided.cause("c-1") == "update:r1|update:r2|update:r3"


def test_an_update_applied_before_is_answered_and_changes_nothing(
    policy: RoutingPolicy, directory: Directory
) -> None:
    state = routed_state(policy, directory)
    once = plan(
        [update("c-1", "acknowledged", "pf-dianzhong", "r1")],
        {"c-1": state},
        set(),
        context(policy, directory),
    )
    again = plan(
        [update("c-1", "acknowledged", "pf-dianzhong", "r1")],
        {"c-1": once.changed["c-1"]},
        set(),
        context(policy, directory),
    )
    assert again.changed == {}
    assert [(r.outcome, r.status) for r in again.replies] == [
        ("applied", ComplaintStatus.ACKNOWLEDGED)
    ]


def test_refusals_are_answered_in_words_to_intake_and_on_rejected_to_other_senders(
    policy: RoutingPolicy, directory: Directory
) -> None:
    state = routed_state(policy, directory)
    decided = plan(
        [
            update("c-1", "acknowledged", "fire", "r1"),
            update("c-1", "resolved", "pf-dianzhong"),
            update("c-9", "acknowledged", "fire", "r2"),
            update("c-closed", "acknowledged", "fire", "r3"),
            Malformed(
                {"complaint_id": "c-1"},
                [RejectionReason(field="type", message="Field required")],
                ORIGIN,
            ),
        ],
        {"c-1": state},
        {"c-closed"},
        context(policy, directory),
    )
    assert decided.changed == {}
    replies = {r.request_id: r for r in decided.replies}
    assert (replies["r1"].outcome, replies["r1"].code, replies["r1"].field) == (
        "refused",
        "not_assigned",
        "actor_id",
    )
    assert replies["r2"].outcome == "unknown"
    assert (replies["r3"].outcome, replies["r3"].reason) == ("refused", "the complaint is closed")
    keys, rejected = zip(*decided.rejections, strict=True)
    assert keys == (b"c-1", b"c-1")  # keyed as their updates were sent
    assert [r.reasons[0].field for r in rejected] == ["type", "type"]
    assert rejected[0].reasons[0].message.startswith("the lead must acknowledge")


def test_a_due_timer_takes_its_step_at_its_due_time(
    policy: RoutingPolicy, directory: Directory
) -> None:
    state = routed_state(policy, directory)
    assert state.due is not None
    at = state.due.acknowledge_by
    reminded_at = state.next_check_at
    assert reminded_at is not None
    assert reminded_at < at
    reminded = plan([Due("c-1", reminded_at)], {"c-1": state}, set(), context(policy, directory))
    after_reminder = reminded.changed["c-1"]
    escalated = plan([Due("c-1", at)], {"c-1": after_reminder}, set(), context(policy, directory))
    [event] = events_of(escalated.changed["c-1"], COMPLAINTS_ESCALATED)
    assert (event["level"], event["occurred_at"]) == (1, at.isoformat().replace("+00:00", "Z"))
    # A timer set for an older version finds nothing to do.
    stale = plan(
        [Due("c-1", reminded_at)],
        {"c-1": escalated.changed["c-1"]},
        set(),
        context(policy, directory),
    )
    assert stale.changed == {}


def commands_of(state: ComplaintState) -> list[RoutingCommand]:
    return [
        RoutingCommand.model_validate_json(e.payload)
        for e in state.outbox
        if e.topic == ROUTING_COMMANDS
    ]


def test_a_linked_complaint_follows_its_original_to_resolution_and_is_rated(
    policy: RoutingPolicy, directory: Directory
) -> None:
    ctx = context(policy, directory)
    first = plan([arrived("c-1", "3号楼电梯又坏了，老人上不了楼")], {}, set(), ctx)
    original = first.changed["c-1"]
    linked = plan(
        [arrived("c-2", "3号楼电梯又坏了！老人都上不了楼")], {"c-1": original}, set(), ctx
    )
    duplicate = linked.changed["c-2"]
    [attach] = commands_of(duplicate)
    assert (attach.kind, attach.complaint_id, attach.duplicate_id) == ("attach", "c-1", "c-2")
    # The original's owner (another partition, perhaps) remembers its duplicate ...
    told = plan([Commanded(attach, ORIGIN)], {"c-1": original}, set(), ctx).changed["c-1"]
    assert told.duplicates == ["c-2"]
    # ... and when it is resolved, tells the duplicate's owner.
    handled = plan(
        [
            update("c-1", "acknowledged", "pf-dianzhong", "r1"),
            update("c-1", "resolved", "pf-dianzhong", "r2", note="已修好"),
        ],
        {"c-1": told},
        set(),
        ctx,
    ).changed["c-1"]
    [follow] = commands_of(handled)
    assert (follow.kind, follow.complaint_id, follow.original_id) == ("follow", "c-2", "c-1")
    followed = plan([Commanded(follow, ORIGIN)], {"c-2": duplicate}, set(), ctx).changed["c-2"]
    assert followed.status == ComplaintStatus.RESOLVED
    [event] = events_of(followed, COMPLAINTS_UPDATED)
    assert (event["type"], event["duplicate_of"]) == ("resolved", "c-1")
    # Its resident is asked for a rating, which closes it.
    rated = plan(
        [update("c-2", "rated", "resident", "r3", rating="satisfied")],
        {"c-2": followed},
        set(),
        ctx,
    )
    assert rated.changed["c-2"].status == ComplaintStatus.CLOSED


def test_a_desk_undoes_a_link_and_the_complaint_is_routed_on_its_own(
    policy: RoutingPolicy, directory: Directory
) -> None:
    ctx = context(policy, directory)
    original = plan([arrived("c-1", "3号楼电梯又坏了，老人上不了楼")], {}, set(), ctx).changed[
        "c-1"
    ]
    duplicate = plan(
        [arrived("c-2", "3号楼电梯又坏了！老人都上不了楼")], {"c-1": original}, set(), ctx
    ).changed["c-2"]
    refused = plan(
        [update("c-2", "unlinked", "pf-dianzhong", "r1")], {"c-2": duplicate}, set(), ctx
    )
    assert (refused.replies[0].outcome, refused.replies[0].code) == ("refused", "not_assigned")
    undone = plan(
        [update("c-2", "unlinked", "city-dispatch", "r2")], {"c-2": duplicate}, set(), ctx
    )
    state = undone.changed["c-2"]
    assert (state.status, state.duplicate_of) == (ComplaintStatus.ROUTED, None)
    assert [t.type for t in state.timeline][-2:] == ["unlinked", "routed"]
    assert len(events_of(state, COMPLAINTS_ROUTED)) == 1
