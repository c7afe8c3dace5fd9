"""Which alerts a trigger calls for, and their delivery ids."""

from __future__ import annotations

from services.notify.planning import NO_CHANNEL, plan_deliveries
from services.notify.triggers import from_escalated, from_reminded, from_routed, from_updated
from shared.events import NotificationReason, UpdateKind
from tests.unit.notify.builders import (
    directory,
    escalated,
    reminded,
    reopened,
    responder,
    routed,
)

DIRECTORY = directory(
    [
        responder(
            "fire",
            "fire",
            contact_details=True,
            channels=[
                {"type": "webhook", "url": "http://127.0.0.1:1/hooks/fire"},
                {"type": "email", "to": ["fire@example.org"]},
                {"type": "webhook", "url": "http://127.0.0.1:1/hooks/fire"},
            ],
        ),
        responder(
            "pf-dianzhong",
            "property_firm",
            contact_details=False,
            channels=[{"type": "wecom", "key": "k-1"}],
        ),
        responder("housing", "housing", contact_details=True, channels=[]),
    ]
)


def test_routed_alerts_lead_and_each_support_on_each_channel_once() -> None:
    trigger = from_routed(routed(support=["pf-dianzhong", "fire"]))
    planned = plan_deliveries(trigger, DIRECTORY)
    assert trigger.reason == NotificationReason.ROUTED
    assert [(p.responder_id, p.channel) for p in planned] == [
        ("fire", "webhook"),
        ("fire", "email"),
        ("pf-dianzhong", "wecom"),
    ]
    assert len({p.delivery_id for p in planned}) == 3


def test_redelivered_event_plans_the_same_delivery_ids() -> None:
    first = plan_deliveries(from_routed(routed()), DIRECTORY)
    again = plan_deliveries(from_routed(routed()), DIRECTORY)
    assert [p.delivery_id for p in first] == [p.delivery_id for p in again]


def test_each_routing_round_and_escalation_level_gets_its_own_delivery() -> None:
    round_1 = plan_deliveries(from_routed(routed()), DIRECTORY)
    round_2 = from_routed(routed(round_=2, rerouted=True))
    assert round_2.reason == NotificationReason.REROUTED
    assert not {p.delivery_id for p in round_1} & {
        p.delivery_id for p in plan_deliveries(round_2, DIRECTORY)
    }
    level_1 = plan_deliveries(from_escalated(escalated(level=1, to=["fire"])), DIRECTORY)
    level_2 = plan_deliveries(from_escalated(escalated(level=2, to=["fire"])), DIRECTORY)
    assert not {p.delivery_id for p in level_1} & {p.delivery_id for p in level_2}


def test_escalation_carries_why_and_level() -> None:
    trigger = from_escalated(escalated(level=2))
    assert (trigger.reason, trigger.level, trigger.why) == (
        NotificationReason.ESCALATED,
        2,
        "物業公司超過1小時未簽收",
    )
    assert trigger.recipients == ["housing", "cm-xueqiao"]


def test_responder_without_channel_or_unknown_gets_a_failing_delivery() -> None:
    planned = plan_deliveries(from_escalated(escalated(to=["housing", "nobody"])), DIRECTORY)
    assert [(p.responder_id, p.channel) for p in planned] == [
        ("housing", NO_CHANNEL),
        ("nobody", NO_CHANNEL),
    ]


def test_reminder_goes_to_the_lead() -> None:
    trigger = from_reminded(reminded())
    assert (trigger.reason, trigger.recipients) == (NotificationReason.REMINDER, ["fire"])


def test_only_a_reopening_update_alerts_anyone() -> None:
    trigger = from_updated(reopened())
    assert trigger is not None
    assert (trigger.reason, trigger.recipients) == (NotificationReason.REOPENED, ["fire"])
    assert from_updated(reopened(type_=UpdateKind.ACKNOWLEDGED)) is None
