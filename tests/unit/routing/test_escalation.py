"""Escalation decisions: reminders, the two acknowledge levels, the overdue resolve."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.routing.escalation import next_check, sweep
from services.routing.lifecycle import apply_update
from services.routing.policy import RoutingPolicy
from services.routing.state import ComplaintState
from shared.directory import Directory
from shared.events import ComplaintUpdateRequest, UpdateType, Urgency
from shared.topics import COMPLAINTS_ESCALATED, COMPLAINTS_REMINDED
from tests.unit.routing.conftest import T0, events_of, received, routed


def run_until(
    state: ComplaintState, policy: RoutingPolicy, directory: Directory, end: datetime
) -> tuple[ComplaintState, list[tuple[str, dict[str, Any]]]]:
    """Sweep at every moment something is due, as the sweeper would, up to ``end``."""
    emitted: list[tuple[str, dict[str, Any]]] = []
    while (when := next_check(state, policy)) is not None and when <= end:
        changed = sweep(
            state.model_copy(update={"outbox": []}), policy=policy, directory=directory, now=when
        )
        assert changed is not None, f"nothing due at {when}"
        for topic in (COMPLAINTS_REMINDED, COMPLAINTS_ESCALATED):
            emitted += [(topic, e) for e in events_of(changed, topic)]
        state = changed
    return state, emitted


def test_silent_firm_is_reminded_then_escalated_twice(
    policy: RoutingPolicy, directory: Directory
) -> None:
    # Parking in cx-001: pf-dianzhong leads, normal urgency (acknowledge within 24 h).
    state = routed(policy, directory, received("cx-001", "小区车辆乱停"))
    state, emitted = run_until(state, policy, directory, T0 + timedelta(hours=48))
    kinds = [(topic, e.get("level")) for topic, e in emitted]
    assert kinds == [
        (COMPLAINTS_REMINDED, None),
        (COMPLAINTS_ESCALATED, 1),
        (COMPLAINTS_ESCALATED, 2),
    ]
    reminder, level1, level2 = (e for _, e in emitted)
    assert reminder["occurred_at"].startswith("2026-11-29T02:00")  # 75% of 24 h after 08:00
    assert [a["responder_id"] for a in level1["escalated_to"]] == ["housing", "cm-xueqiao"]
    assert level1["breach"] == "acknowledge"
    assert [a["responder_id"] for a in level2["escalated_to"]] == ["city-coordination"]
    assert level2["occurred_at"].startswith("2026-11-30T08:00")  # one more window later
    assert state.escalation_level == 2


def test_each_level_is_escalated_once_however_often_swept(
    policy: RoutingPolicy, directory: Directory
) -> None:
    state = routed(policy, directory, received("cx-001", "小区车辆乱停"))
    late = T0 + timedelta(hours=25)
    first = sweep(state, policy=policy, directory=directory, now=late)
    assert first is not None
    assert [e["level"] for e in events_of(first, COMPLAINTS_ESCALATED)] == [1]
    assert first.reminded  # the missed reminder is not sent after the escalation
    assert (
        sweep(first.model_copy(update={"outbox": []}), policy=policy, directory=directory, now=late)
        is None
    )


def test_acknowledged_complaint_is_not_escalated_for_acknowledge(
    policy: RoutingPolicy, directory: Directory
) -> None:
    state = routed(policy, directory, received("cx-001", "小区车辆乱停"))
    state = apply_update(
        state,
        ComplaintUpdateRequest(type=UpdateType.ACKNOWLEDGED, actor_id="pf-dianzhong"),
        key="a",
        policy=policy,
        directory=directory,
        now=T0 + timedelta(hours=1),
    )
    assert next_check(state, policy) == T0 + timedelta(days=7)
    assert sweep(state, policy=policy, directory=directory, now=T0 + timedelta(days=2)) is None


def test_unresolved_past_due_is_escalated_overdue_at_the_next_level(
    policy: RoutingPolicy, directory: Directory
) -> None:
    state = routed(policy, directory, received("cx-001", "小区车辆乱停"))
    state = apply_update(
        state,
        ComplaintUpdateRequest(type=UpdateType.ACKNOWLEDGED, actor_id="pf-dianzhong"),
        key="a",
        policy=policy,
        directory=directory,
        now=T0 + timedelta(hours=1),
    )
    state, emitted = run_until(state, policy, directory, T0 + timedelta(days=30))
    [(_, overdue)] = emitted
    assert (overdue["level"], overdue["breach"]) == (1, "resolve")
    assert "overdue" in str(overdue["reason"])
    assert state.overdue
    assert next_check(state, policy) is None


def test_escalation_after_two_acknowledge_levels_goes_to_level_three(
    policy: RoutingPolicy, directory: Directory
) -> None:
    state = routed(policy, directory)  # flying wire: urgent, resolve within 24 h
    state, emitted = run_until(state, policy, directory, T0 + timedelta(days=2))
    levels = [(e["level"], e["breach"]) for topic, e in emitted if topic == COMPLAINTS_ESCALATED]
    assert levels == [(1, "acknowledge"), (2, "acknowledge"), (3, "resolve")]


def test_agency_escalates_to_coordination_and_unknown_compound_too(
    policy: RoutingPolicy, directory: Directory
) -> None:
    state = routed(policy, directory, received("cx-999", "有人飞线充电"))
    changed = sweep(state, policy=policy, directory=directory, now=T0 + timedelta(hours=1))
    assert changed is not None
    [event] = events_of(changed, COMPLAINTS_ESCALATED)
    assert [a["responder_id"] for a in event["escalated_to"]] == ["city-coordination"]
    assert event["summary"]["compound_id"] == "cx-999"


def test_due_scale_shrinks_every_window(policy: RoutingPolicy) -> None:
    fast = policy.with_due_scale(1 / 3600)
    assert fast.window(Urgency.URGENT).acknowledge_within == timedelta(seconds=1)
    assert fast.window(Urgency.COMPLEX).resolve_within == timedelta(days=15) / 3600
