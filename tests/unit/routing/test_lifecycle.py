"""The lifecycle: who may move a complaint where, and what each move publishes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.routing.lifecycle import UpdateRefusedError, apply_update
from services.routing.policy import RoutingPolicy
from services.routing.state import ComplaintState
from shared.directory import Directory
from shared.events import ComplaintUpdateRequest, Rating
from shared.topics import COMPLAINTS_ROUTED, COMPLAINTS_UPDATED
from tests.unit.routing.conftest import T0, events_of, received, routed


def request(kind: str, actor: str, **fields: object) -> ComplaintUpdateRequest:
    return ComplaintUpdateRequest.model_validate({"type": kind, "actor_id": actor, **fields})


class Flow:
    """Applies updates one after another, as routing would, and keeps the state."""

    def __init__(self, policy: RoutingPolicy, directory: Directory, state: ComplaintState):
        self.policy, self.directory, self.state = policy, directory, state
        self.clock = T0
        self.count = 0

    def do(self, kind: str, actor: str, **fields: object) -> ComplaintState:
        after = fields.pop("after", timedelta(minutes=1))
        assert isinstance(after, timedelta)
        self.clock += after
        self.count += 1
        self.state = apply_update(
            self.state.model_copy(update={"outbox": []}),
            request(kind, actor, **fields),
            key=f"k{self.count}",
            policy=self.policy,
            directory=self.directory,
            now=self.clock,
        )
        return self.state

    def refused(self, kind: str, actor: str, **fields: object) -> UpdateRefusedError:
        with pytest.raises(UpdateRefusedError) as caught:
            self.do(kind, actor, **fields)
        return caught.value


@pytest.fixture
def flow(policy: RoutingPolicy, directory: Directory) -> Flow:
    # Flying wire in cx-001: fire leads, pf-dianzhong and cm-xueqiao support.
    return Flow(policy, directory, routed(policy, directory))


def test_lead_walks_the_complaint_to_closed(flow: Flow) -> None:
    acknowledged = flow.do("acknowledged", "fire")
    assert events_of(acknowledged, COMPLAINTS_UPDATED)[0]["on_time"] is True
    assert flow.do("in_progress", "fire", note="已上門").status == "in_progress"
    assert flow.do("resolved", "fire").status == "resolved"
    closed = flow.do("rated", "resident", rating="satisfied")
    assert closed.status == "closed"
    [event] = events_of(closed, COMPLAINTS_UPDATED)
    assert (event["type"], event["rating"], event["status"]) == ("rated", "satisfied", "closed")
    assert [t.type for t in closed.timeline] == [
        "received", "routed", "acknowledged", "in_progress", "resolved", "rated",
    ]  # fmt: skip


def test_late_acknowledgement_is_marked_not_on_time(flow: Flow) -> None:
    state = flow.do("acknowledged", "fire", after=timedelta(hours=2))  # urgent: 1 hour
    assert events_of(state, COMPLAINTS_UPDATED)[0]["on_time"] is False


def test_same_update_key_applies_once(
    flow: Flow, policy: RoutingPolicy, directory: Directory
) -> None:
    state = flow.do("acknowledged", "fire")
    again = apply_update(
        state, request("acknowledged", "fire"), key="k1", policy=policy, directory=directory, now=T0
    )
    assert again is state


def test_only_an_assigned_responder_may_act(flow: Flow) -> None:
    refusal = flow.refused("acknowledged", "housing")
    assert (refusal.code, refusal.field) == ("not_assigned", "actor_id")


def test_support_may_report_progress_but_not_acknowledge_or_resolve(flow: Flow) -> None:
    assert flow.refused("acknowledged", "pf-dianzhong").code == "not_assigned"
    assert flow.refused("in_progress", "pf-dianzhong").code == "not_allowed"  # lead first
    flow.do("acknowledged", "fire")
    assert flow.do("in_progress", "pf-dianzhong", note="已清理樓道").status == "in_progress"
    assert flow.refused("resolved", "cm-xueqiao").code == "not_assigned"
    assert flow.refused("returned", "pf-dianzhong", note="不歸我們").code == "not_assigned"


@pytest.mark.parametrize(
    ("steps", "kind", "code"),
    [
        ([], "resolved", "not_allowed"),
        ([], "in_progress", "not_allowed"),
        ([("acknowledged", "fire")], "acknowledged", "not_allowed"),
        ([("acknowledged", "fire"), ("resolved", "fire")], "resolved", "not_allowed"),
        ([("acknowledged", "fire"), ("resolved", "fire")], "returned", "not_allowed"),
    ],
)
def test_nonsense_transitions_are_refused_with_a_reason(
    flow: Flow, steps: list[tuple[str, str]], kind: str, code: str
) -> None:
    for step, actor in steps:
        flow.do(step, actor)
    refusal = flow.refused(kind, "fire", note="x")
    assert refusal.code == code
    assert refusal.reason


def test_rating_comes_only_after_resolved_and_from_resident_or_callback_desk(flow: Flow) -> None:
    assert flow.refused("rated", "resident", rating="satisfied").code == "not_allowed"
    flow.do("acknowledged", "fire")
    flow.do("resolved", "fire")
    assert flow.refused("rated", "fire", rating="satisfied").code == "not_assigned"
    assert flow.refused("rated", "cm-xueqiao", rating="satisfied").code == "not_assigned"
    assert flow.refused("rated", "pf-dianzhong", rating="satisfied").code == "not_assigned"
    assert flow.refused("rated", "resident").code == "invalid"
    assert flow.do("rated", "city-dispatch", rating="basically_satisfied").status == "closed"
    assert flow.refused("rated", "resident", rating="satisfied").code == "not_allowed"


def test_rating_is_refused_on_other_update_types(flow: Flow) -> None:
    assert flow.refused("acknowledged", "fire", rating="satisfied").code == "invalid"


def test_dissatisfied_rating_reopens_with_the_same_lead_and_a_fresh_resolve_due(
    flow: Flow, policy: RoutingPolicy
) -> None:
    flow.do("acknowledged", "fire")
    flow.do("resolved", "fire", after=timedelta(hours=30))
    state = flow.do("rated", "resident", rating="dissatisfied", note="電線還在")
    rated, reopened = events_of(state, COMPLAINTS_UPDATED)
    assert (rated["type"], rated["rating"]) == ("rated", "dissatisfied")
    assert reopened["type"] == "reopened"
    assert reopened["lead"]["responder_id"] == "fire"
    # The reporter travels as intake sealed it: masked, the contact sealed, untouched.
    assert reopened["summary"]["reporter"]["masked_phone"] == "138****5678"
    sealed = state.summary.reporter
    assert sealed is not None
    assert sealed.contact is not None
    assert reopened["summary"]["reporter"]["contact"] == sealed.contact.model_dump()
    assert state.status == "in_progress"
    assert state.rating == Rating.DISSATISFIED
    assert state.due is not None
    assert state.due.resolve_by == flow.clock + policy.window(state.summary.urgency).resolve_within
    assert state.reopens == 1
    # Re-handling goes on as before.
    assert flow.do("resolved", "fire").status == "resolved"


def test_returned_goes_to_the_next_responder_and_never_back(
    policy: RoutingPolicy, directory: Directory
) -> None:
    # Parking in cx-001: pf-dianzhong leads; it returns to @community, which returns to
    # city-dispatch, which returns to city-coordination; nobody is left after that.
    flow = Flow(policy, directory, routed(policy, directory, received("cx-001", "小区车辆乱停")))
    assert flow.refused("returned", "pf-dianzhong").code == "invalid"  # reason required
    state = flow.do("returned", "pf-dianzhong", note="占道的是市政道路，不屬物業")
    (returned,) = events_of(state, COMPLAINTS_UPDATED)
    (rerouted,) = events_of(state, COMPLAINTS_ROUTED)
    assert (returned["type"], returned["actor_id"]) == ("returned", "pf-dianzhong")
    assert rerouted["reason"] == "rerouted"
    assert rerouted["round"] == 2
    assert rerouted["previous_lead"] == "pf-dianzhong"
    assert rerouted["lead"]["responder_id"] == "cm-xueqiao"
    assert rerouted["due"]["acknowledge_by"] == (
        flow.clock + timedelta(hours=24)
    ).isoformat().replace("+00:00", "Z")
    assert state.bounces == 1
    assert flow.refused("acknowledged", "pf-dianzhong").code == "not_assigned"
    state = flow.do("returned", "cm-xueqiao", note="請派單中心核實")
    assert state.lead is not None
    assert state.lead.responder_id == "city-dispatch"
    state = flow.do("returned", "city-dispatch", note="轉協調中心")
    assert state.lead is not None
    assert state.lead.responder_id == "city-coordination"
    assert flow.refused("returned", "city-coordination", note="無人可轉").code == "not_allowed"
    assert state.bounces == 3
    assert state.past_leads == ["pf-dianzhong", "cm-xueqiao", "city-dispatch", "city-coordination"]


def test_supports_stay_when_the_complaint_is_rerouted(
    policy: RoutingPolicy, directory: Directory
) -> None:
    # Flying wire in cx-002: fire leads; fire returns to city-dispatch (its returns_to).
    flow = Flow(policy, directory, routed(policy, directory, received("cx-002")))
    state = flow.do("returned", "fire", note="未發現飛線")
    assert state.lead is not None
    assert state.lead.responder_id == "city-dispatch"
    assert [s.responder_id for s in state.support] == ["cx-002-committee", "cm-xueqiao"]


def test_a_support_that_becomes_lead_is_dropped_from_the_supports(
    policy: RoutingPolicy, directory: Directory
) -> None:
    raw = directory.model_dump()
    for responder in raw["responders"]:
        if responder["id"] == "fire":
            responder["returns_to"] = ["@community"]
    changed = Directory.model_validate(raw)
    flow = Flow(policy, changed, routed(policy, changed, received("cx-001")))
    state = flow.do("returned", "fire", note="屬物業管理範圍")
    assert state.lead is not None
    assert state.lead.responder_id == "cm-xueqiao"
    assert [s.responder_id for s in state.support] == ["pf-dianzhong"]


def test_duplicates_and_closed_complaints_refuse_every_update(
    policy: RoutingPolicy, directory: Directory
) -> None:
    first = routed(policy, directory)
    first = first.model_copy(update={"version": 1})
    second = routed(policy, directory, received(complaint_id="c-2"), candidates=[first], now=T0)
    assert second.status == "duplicate"
    with pytest.raises(UpdateRefusedError) as caught:
        apply_update(
            second,
            request("acknowledged", "fire"),
            key="x",
            policy=policy,
            directory=directory,
            now=T0,
        )
    assert "duplicate of c-1" in caught.value.reason
    assert caught.value.code == "not_allowed"


def test_update_before_routing_is_not_routed(policy: RoutingPolicy, directory: Directory) -> None:
    state = routed(policy, directory).model_copy(
        update={"lead": None, "due": None, "status": "received"}
    )
    with pytest.raises(UpdateRefusedError) as caught:
        apply_update(
            state,
            request("acknowledged", "fire"),
            key="x",
            policy=policy,
            directory=directory,
            now=T0,
        )
    assert caught.value.code == "not_routed"
