"""The public events of hot spots: what they carry, and that computing them again
(a redelivery, a replay, another instance) gives the same event, id included."""

from __future__ import annotations

from datetime import timedelta

from services.hotspots.changes import Change
from services.hotspots.detector import Detector
from services.hotspots.messages import closed_event_id, detected_event_id, event_for
from services.routing.policy import RoutingPolicy
from shared.directory import Directory
from shared.events import HotspotClosed, HotspotDetected
from shared.topics import HOTSPOTS_CLOSED, HOTSPOTS_DETECTED, topic_specs
from tests.unit.hotspots.conftest import WIRES, at, only, reported

HISTORY = [
    reported("c1", 0, category=WIRES, place="3栋2单元楼道"),
    reported("c2", 3, category=WIRES, place="5栋车棚"),
    reported("c3", 4, category=WIRES, place="3栋2单元楼道", duplicate_of="c1"),
]


def changes(policy: RoutingPolicy) -> list[Change]:
    detector = Detector(policy.hotspots)
    return only(detector.observe_all(HISTORY) + detector.expire(at(48)), "cluster")


def test_detected_carries_scope_window_complaints_places_and_who_is_alerted(
    policy: RoutingPolicy, directory: Directory
) -> None:
    opened, *_ = changes(policy)
    published = event_for(opened, policy, directory)
    assert published is not None
    topic, event = published
    assert topic == HOTSPOTS_DETECTED
    assert isinstance(event, HotspotDetected)
    assert event.event_id == detected_event_id(event.hotspot_id)
    assert event.hotspot_id == opened.hotspot.hotspot_id
    assert (event.scope.kind, event.scope.id, event.community_id) == (
        "compound", "cx-001", "cm-xueqiao",
    )  # fmt: skip
    assert (event.category, event.category_name) == (WIRES, "飛線充電")
    assert (event.kind, event.trigger, event.threshold) == ("cluster", "count", 2)
    assert event.within == timedelta(hours=24)
    assert event.occurred_at == event.opened_at == at(3)
    assert (event.window_start, event.window_end, event.count) == (at(0), at(3), 2)
    assert event.complaint_ids == ["c1", "c2"]
    assert event.places == ["3栋2单元楼道", "5栋车棚"]
    assert [c.excerpt for c in event.complaints] == ["c1 小区里车辆乱停", "c2 小区里车辆乱停"]
    assert [(a.responder_id, a.kind) for a in event.alerted] == [
        ("cm-xueqiao", "community"), ("fire", "fire"),
    ]  # fmt: skip
    assert HotspotDetected.model_validate_json(event.model_dump_json()) == event


def test_a_join_publishes_nothing(policy: RoutingPolicy, directory: Directory) -> None:
    _, joined, _ = changes(policy)
    assert joined.type == "joined"
    assert event_for(joined, policy, directory) is None


def test_closed_lists_every_complaint_that_joined(
    policy: RoutingPolicy, directory: Directory
) -> None:
    *_, closed = changes(policy)
    published = event_for(closed, policy, directory)
    assert published is not None
    topic, event = published
    assert topic == HOTSPOTS_CLOSED
    assert isinstance(event, HotspotClosed)
    assert event.event_id == closed_event_id(event.hotspot_id)
    assert event.event_id != detected_event_id(event.hotspot_id)
    assert (event.reason, event.occurred_at) == ("subsided", at(27))
    assert event.complaint_ids == ["c1", "c2", "c3"]
    assert event.places == ["3栋2单元楼道", "5栋车棚"]
    assert event.complaints[2].duplicate_of == "c1"


def test_computing_the_events_again_gives_the_same_events(
    policy: RoutingPolicy, directory: Directory
) -> None:
    first = [event_for(c, policy, directory) for c in changes(policy)]
    again = [event_for(c, policy, directory) for c in changes(policy)]
    assert first == again
    assert all(e is None or e[1].event_id for e in first)


def test_the_hotspot_topics_are_created_with_the_others() -> None:
    names = {spec.name for spec in topic_specs()}
    assert {HOTSPOTS_DETECTED, HOTSPOTS_CLOSED} <= names
