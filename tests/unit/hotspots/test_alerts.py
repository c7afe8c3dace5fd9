"""Notify's side of a hot spot: who gets an alert, that a redelivered event plans the
same deliveries, and what the Chinese alert lists."""

from __future__ import annotations

from services.hotspots.detector import Detector
from services.hotspots.messages import event_for
from services.notify.planning import plan_deliveries
from services.notify.rendering import Renderer
from services.notify.triggers import from_hotspot
from services.routing.policy import RoutingPolicy
from shared.directory import Directory
from shared.events import HotspotDetected, NotificationReason
from tests.unit.hotspots.conftest import WIRES, reported
from tests.unit.notify.builders import CONTACTS

RENDERER = Renderer(public_base_url="https://gongzhi.example/", contacts=CONTACTS)


def detected(
    policy: RoutingPolicy, directory: Directory, *, recurring: bool = False
) -> HotspotDetected:
    detector = Detector(policy.hotspots)
    if recurring:
        history = [reported(f"r{i}", i * 24 * 9, category="parking_disorder") for i in range(3)]
    else:
        history = [
            reported("c1", 0, category=WIRES, place="3栋2单元楼道"),
            reported("c2", 3, category=WIRES, place="5栋车棚 13812345678"),
        ]
    kind = "recurring" if recurring else "cluster"
    opened = next(
        c for c in detector.observe_all(history) if c.type == "opened" and c.hotspot.kind == kind
    )
    published = event_for(opened, policy, directory)
    assert published is not None
    event = published[1]
    assert isinstance(event, HotspotDetected)
    return event


def test_everyone_the_event_names_gets_one_delivery_per_channel_and_the_same_ids_again(
    policy: RoutingPolicy, directory: Directory
) -> None:
    event = detected(policy, directory)
    trigger = from_hotspot(event)
    assert (trigger.complaint_id, trigger.reason) == (event.hotspot_id, NotificationReason.HOTSPOT)
    planned = plan_deliveries(trigger, directory)
    assert {p.responder_id for p in planned} == {"cm-xueqiao", "fire"}
    assert len(planned) == sum(
        len(directory.responder(r).channels) or 1 for r in ("cm-xueqiao", "fire")
    )
    again = plan_deliveries(
        from_hotspot(HotspotDetected.model_validate_json(event.model_dump_json())), directory
    )
    assert [p.delivery_id for p in again] == [p.delivery_id for p in planned]


def test_the_alert_lists_the_complaints_and_places_in_chinese(
    policy: RoutingPolicy, directory: Directory
) -> None:
    event = detected(policy, directory)
    community = directory.responder("cm-xueqiao")
    message = RENDERER.render(from_hotspot(event), community, directory, "d-1")
    assert message.title.startswith("【熱點預警·聚集】飛線充電")
    assert "24小時內達到2件" in message.text
    assert "屬地先行處置" in message.text
    assert "3栋2单元楼道" in message.text
    assert "5栋车棚" in message.text
    assert "1. " in message.text
    assert "2. " in message.text
    assert f"https://gongzhi.example/v1/hotspots/{event.hotspot_id}" in message.text
    assert "13812345678" not in message.text + message.markdown + message.html + message.sms
    assert "<ol>" in message.html
    assert "涉及投訴" in message.markdown
    assert len(message.sms) <= 140
    assert message.data["hotspot"]["complaint_ids"] == ["c1", "c2"]
    assert message.data["complaint_id"] == event.hotspot_id


def test_a_recurring_hot_spot_asks_the_coordination_desk_to_supervise(
    policy: RoutingPolicy, directory: Directory
) -> None:
    event = detected(policy, directory, recurring=True)
    desk = directory.coordination_responder
    assert desk in {a.responder_id for a in event.alerted}
    message = RENDERER.render(from_hotspot(event), directory.responder(desk), directory, "d-2")
    assert "【熱點預警·反復】" in message.title
    assert "督辦" in message.text
    assert "反復出現" in message.text
