"""Every channel delivers a correct alert to a real receiver on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from devtools.receivers import HttpReceiver, SmtpReceiver
from services.notify.channels.dingtalk import dingtalk_sign
from services.notify.settings import NotifySettings
from services.notify.signing import verify_signature
from shared.events import NotificationSent
from shared.ids import stable_id
from shared.privacy import contains_full_phone
from shared.topics import COMPLAINTS_ROUTED
from tests.integration.notify.conftest import DING_SECRET, RESPONDER_PHONE
from tests.integration.notify.helpers import deliveries, outcomes, publish, running
from tests.unit.notify.builders import MASKED, PHONE, routed

pytestmark = pytest.mark.integration


async def test_each_channel_gets_one_chinese_alert_with_the_phone_only_for_agencies(
    notify_settings: NotifySettings, http_receiver: HttpReceiver, smtp_receiver: SmtpReceiver
) -> None:
    event = routed("c-channels", lead="fire", support=["pf-dianzhong", "cx-001-committee"])
    async with running(notify_settings):
        await publish(notify_settings, COMPLAINTS_ROUTED, event)
        results = await outcomes(notify_settings, 6)

    assert sorted((r["responder_id"], r["channel"], r["outcome"]) for r in results) == [
        ("cx-001-committee", "dingtalk", "sent"),
        ("cx-001-committee", "sms", "sent"),
        ("fire", "email", "sent"),
        ("fire", "webhook", "sent"),
        ("pf-dianzhong", "webhook", "sent"),
        ("pf-dianzhong", "wecom", "sent"),
    ]
    for result in results:
        sent = NotificationSent.model_validate({k: v for k, v in result.items() if k != "outcome"})
        assert sent.event_id == stable_id(sent.delivery_id, "sent")
        assert (sent.reason, sent.attempts, sent.trigger_event_id) == (
            "routed",
            1,
            event.event_id,
        )

    # Agency webhook: signed, full phone and name, Chinese text, link.
    [fire] = http_receiver.requests("/hooks/fire")
    timestamp, signature = fire.headers["x-gongzhi-timestamp"], fire.headers["x-gongzhi-signature"]
    assert verify_signature(fire.body, timestamp, signature, "old-hook-secret")
    assert verify_signature(fire.body, timestamp, signature, "new-hook-secret")
    assert not verify_signature(
        fire.body.replace(b"c-channels", b"c-forged"), timestamp, signature, "new-hook-secret"
    )
    body = fire.json()
    assert body["delivery_id"] == fire.delivery_id
    assert body["title"] == "【新派單】飛線充電 · 學橋小區"
    assert body["complaint"]["reporter"] == {"name": "張女士", "phone": PHONE}
    assert "請牽頭辦理" in body["text"]
    assert body["link"] == "https://gongzhi.example/v1/complaints/c-channels"
    assert body["console_link"] == "https://gongzhi.example/console/complaints/c-channels"

    # Firm webhook and WeCom robot: masked phone.
    [firm] = http_receiver.requests("/hooks/pf-dianzhong")
    assert firm.json()["complaint"]["reporter"]["phone"] == MASKED
    assert PHONE not in firm.body.decode()
    [wecom] = http_receiver.requests("/cgi-bin/webhook/send")
    assert wecom.query == {"key": "wecom-pf-key"}
    assert wecom.json()["msgtype"] == "markdown"
    content = wecom.json()["markdown"]["content"]
    assert content.startswith("### 【新派單】飛線充電")
    assert MASKED in content
    assert PHONE not in content

    # Committee: DingTalk robot signed with its secret, and an SMS without the reporter.
    [ding] = http_receiver.requests("/robot/send")
    assert ding.query["access_token"] == "ding-committee-token"
    assert ding.query["sign"] == dingtalk_sign(DING_SECRET, int(ding.query["timestamp"]))
    assert ding.json()["markdown"]["title"] == "【新派單】飛線充電 · 學橋小區"
    assert MASKED in ding.json()["markdown"]["text"]
    [sms] = http_receiver.requests("/sms")
    assert sms.json()["phones"] == [RESPONDER_PHONE]
    assert sms.json()["delivery_id"] == sms.delivery_id
    assert sms.json()["text"].startswith("【共治】【新派單】飛線充電")
    assert "138" not in sms.json()["text"]

    # Agency e-mail: text and HTML, delivery id in a header and in the text.
    [mail] = smtp_receiver.mails
    assert mail.rcpt_tos == ["fire@example.org"]
    message = mail.message
    assert str(message["Subject"]) == "【新派單】飛線充電 · 學橋小區"
    delivery_id = str(message["X-Gongzhi-Delivery-Id"])
    text = mail.part("text/plain")
    assert f"投遞編號：{delivery_id}" in text
    assert f"反映人：張女士 {PHONE}" in text
    assert "簽收時限：2026-11-28 09:00" in text
    assert "https://gongzhi.example/console/complaints/c-channels" in mail.part("text/html")

    stored = await deliveries(notify_settings)
    assert len(stored) == 6
    assert {d["state"] for d in stored} == {"sent"}
    assert not contains_full_phone(json.dumps(stored, default=str, ensure_ascii=False))
