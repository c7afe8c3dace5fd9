"""Escalations, reminders and reopenings alert the right responders, once per occasion."""

from __future__ import annotations

import pytest

from devtools.receivers import HttpReceiver
from services.notify.settings import NotifySettings
from shared.events import UpdateKind
from shared.topics import COMPLAINTS_ESCALATED, COMPLAINTS_REMINDED, COMPLAINTS_UPDATED
from tests.integration.notify.helpers import outcomes, publish, running, settle
from tests.unit.notify.builders import escalated, reminded, reopened

pytestmark = pytest.mark.integration


async def test_escalation_reminder_and_reopening_alert_their_responders(
    notify_settings: NotifySettings, http_receiver: HttpReceiver
) -> None:
    async with running(notify_settings):
        await publish(
            notify_settings,
            COMPLAINTS_ESCALATED,
            escalated("c-esc", level=1, to=["housing", "cm-xueqiao"]),
            escalated("c-esc", level=1, to=["housing", "cm-xueqiao"]),
            escalated("c-esc", level=2, to=["housing"]),
        )
        await publish(notify_settings, COMPLAINTS_REMINDED, reminded("c-rem"))
        await publish(
            notify_settings,
            COMPLAINTS_UPDATED,
            reopened("c-reo"),
            reopened("c-ack", type_=UpdateKind.ACKNOWLEDGED),
        )
        results = await outcomes(notify_settings, 7)
        await settle()

    assert sorted(
        (r["complaint_id"], r["responder_id"], r["channel"], r["reason"]) for r in results
    ) == [
        ("c-esc", "cm-xueqiao", "webhook", "escalated"),
        ("c-esc", "housing", "webhook", "escalated"),
        ("c-esc", "housing", "webhook", "escalated"),
        ("c-rem", "fire", "email", "reminder"),
        ("c-rem", "fire", "webhook", "reminder"),
        ("c-reo", "fire", "email", "reopened"),
        ("c-reo", "fire", "webhook", "reopened"),
    ]
    titles = sorted(r.json()["title"] for r in http_receiver.requests("/hooks/housing"))
    assert [t.split("】")[0] for t in titles] == ["【督辦·第1級", "【督辦·第2級"]
    [community] = http_receiver.requests("/hooks/cm-xueqiao")
    assert community.json()["escalation"]["why"] == "物業公司超過1小時未簽收"
    assert "原因：物業公司超過1小時未簽收" in community.json()["text"]
    fire_titles = sorted(r.json()["title"] for r in http_receiver.requests("/hooks/fire"))
    assert [t.split("】")[0] for t in fire_titles] == ["【催辦", "【重新辦理"]
