"""Exactly once per delivery, retries with backoff, dead letters, and no partition
held up by a dead receiver."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from devtools.loopback import produce
from devtools.receivers import HttpReceiver, SmtpReceiver
from services.notify.planning import plan_deliveries
from services.notify.settings import NotifySettings
from services.notify.store import DeliveryStore
from services.notify.triggers import from_routed
from shared.consuming import Origin
from shared.directory import load_directory
from shared.mongo import now_ms
from shared.ownership import partition_of
from shared.privacy import contains_full_phone
from shared.topics import COMPLAINTS_ROUTED, dead_letter_topic
from tests.integration.notify.helpers import deliveries, outcomes, publish, running, settle
from tests.support import collect
from tests.unit.notify.builders import routed

pytestmark = pytest.mark.integration


async def test_receiver_failing_twice_gets_exactly_one_delivery_on_the_third_attempt(
    notify_settings: NotifySettings, http_receiver: HttpReceiver
) -> None:
    http_receiver.fail("/hooks/housing", status=503, times=2)
    async with running(notify_settings):
        await publish(
            notify_settings, COMPLAINTS_ROUTED, routed("c-flaky", lead="housing", support=[])
        )
        [result] = await outcomes(notify_settings, 1)
        await settle()

    assert (result["outcome"], result["attempts"]) == ("sent", 3)
    requests = http_receiver.requests("/hooks/housing")
    assert [r.status for r in requests] == [503, 503, 200]
    assert {r.delivery_id for r in requests} == {result["delivery_id"]}
    [stored] = await deliveries(notify_settings)
    assert (stored["state"], stored["attempts"], stored["resends"]) == ("sent", 3, 0)
    assert [h["outcome"] for h in stored["history"]] == ["retry", "retry", "sent"]


async def test_dead_receiver_is_dead_lettered_while_other_alerts_keep_flowing(
    notify_settings: NotifySettings, http_receiver: HttpReceiver
) -> None:
    http_receiver.fail("/hooks/cm-xueqiao", status=503)
    http_receiver.delay("/hooks/cm-xueqiao", 1.5)
    events = [routed(f"c-dead-{i}", lead="housing", support=["cm-xueqiao"]) for i in range(5)]
    async with running(notify_settings):
        await publish(notify_settings, COMPLAINTS_ROUTED, *events)
        results = await outcomes(notify_settings, 10)
        dead_letters = await collect(
            notify_settings.kafka.bootstrap_servers,
            [notify_settings.kafka.topic(dead_letter_topic("notify"))],
            until=lambda r: len(r) >= 5,
            timeout=20,
        )

    sent = [r for r in results if r["outcome"] == "sent"]
    failed = [r for r in results if r["outcome"] == "failed"]
    assert sorted(r["complaint_id"] for r in sent) == sorted(e.complaint_id for e in events)
    assert {r["responder_id"] for r in sent} == {"housing"}
    assert len(failed) == 5
    assert all(
        (f["responder_id"], f["permanent"], f["attempts"]) == ("cm-xueqiao", False, 3)
        and f["error"].startswith("HTTP 503")
        for f in failed
    )
    # The dead receiver hangs 1.5 s on each attempt; every housing alert arrived before
    # any dead delivery was retried (a consumer that retried in place would have sent
    # the later complaints' alerts only after the earlier ones' retries ran out).
    dead = http_receiver.requests("/hooks/cm-xueqiao")
    assert len(dead) == 15
    first_attempt: dict[str | None, float] = {}
    for request in sorted(dead, key=lambda r: r.at):
        first_attempt.setdefault(request.delivery_id, request.at)
    first_retry = min(r.at for r in dead if r.at > first_attempt[r.delivery_id])
    assert max(r.at for r in http_receiver.accepted("/hooks/housing")) < first_retry

    assert len(dead_letters) == 5
    for letter in dead_letters:
        headers = letter["headers"]
        assert headers["x-origin-topic"] == notify_settings.kafka.topic(COMPLAINTS_ROUTED)
        assert (headers["x-service"], headers["x-attempts"]) == ("notify", "3")
        assert "cm-xueqiao" in headers["x-error"]
        assert letter["value"]["responder_id"] == "cm-xueqiao"
        assert not contains_full_phone(json.dumps(letter, ensure_ascii=False))


async def test_errors_retrying_cannot_fix_fail_at_once_with_the_reason(
    notify_settings: NotifySettings, http_receiver: HttpReceiver
) -> None:
    http_receiver.fail("/hooks/housing", status=410)
    http_receiver.answer(
        "/cgi-bin/webhook/send", {"errcode": 93000, "errmsg": "invalid webhook url"}
    )
    event = routed("c-gone", lead="housing", support=["pf-dianzhong", "nobody"])
    async with running(notify_settings):
        await publish(notify_settings, COMPLAINTS_ROUTED, event)
        results = await outcomes(notify_settings, 4)
        await settle()

    by_channel = {(r["responder_id"], r["channel"]): r for r in results}
    assert by_channel[("pf-dianzhong", "webhook")]["outcome"] == "sent"
    for key, reason in [
        (("housing", "webhook"), "HTTP 410"),
        (("pf-dianzhong", "wecom"), "errcode 93000: invalid webhook url"),
        (("nobody", "none"), "responder not in the directory"),
    ]:
        result = by_channel[key]
        assert (result["outcome"], result["permanent"], result["attempts"]) == ("failed", True, 1)
        assert result["error"].startswith(reason)
    assert len(http_receiver.requests("/hooks/housing")) == 1
    assert len(http_receiver.requests("/cgi-bin/webhook/send")) == 1


async def test_two_instances_and_a_redelivered_event_send_one_alert_per_delivery(
    notify_settings: NotifySettings, http_receiver: HttpReceiver, smtp_receiver: SmtpReceiver
) -> None:
    events = [routed(f"c-twice-{i}", lead="fire", support=["pf-dianzhong"]) for i in range(4)]
    topic = notify_settings.kafka.topic(COMPLAINTS_ROUTED)
    async with running(notify_settings), running(notify_settings):
        bodies = [e.model_dump_json().encode() for e in events]
        # The copy under another key lands on another partition, often another instance.
        await produce(
            notify_settings.kafka.bootstrap_servers,
            topic,
            [(e.complaint_id.encode(), b) for e, b in zip(events, bodies, strict=True)]
            + [
                (f"{e.complaint_id}/again".encode(), b) for e, b in zip(events, bodies, strict=True)
            ],
        )
        results = await outcomes(notify_settings, 16)
        await settle(3)

    assert {r["outcome"] for r in results} == {"sent"}
    assert len({r["delivery_id"] for r in results}) == 16
    assert len({r["event_id"] for r in results}) == 16
    for event in events:
        link = f"/v1/complaints/{event.complaint_id}"
        for path in ("/hooks/fire", "/hooks/pf-dianzhong"):
            assert sum(link in r.json()["link"] for r in http_receiver.requests(path)) == 1
        assert sum(event.complaint_id in r.json()["markdown"]["content"]
                   for r in http_receiver.requests("/cgi-bin/webhook/send")) == 1  # fmt: skip
        assert sum(link in m.part("text/plain") for m in smtp_receiver.mails) == 1
    stored = await deliveries(notify_settings)
    assert len(stored) == 16
    assert {(d["state"], d["attempts"], d["resends"]) for d in stored} == {("sent", 1, 0)}


async def test_a_delivery_left_by_a_dead_instance_is_attempted_by_the_partitions_next_owner(
    notify_settings: NotifySettings, http_receiver: HttpReceiver, infra: Any
) -> None:
    trigger = from_routed(routed("c-lost", lead="housing", support=[]))
    [planned] = plan_deliveries(trigger, load_directory(notify_settings.directory_path or ""))
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    store = DeliveryStore(client[notify_settings.mongo.database])
    # What an instance leaves when it dies after recording a delivery (the trigger's
    # offset committed), before its outcome was recorded: the delivery and its marker.
    partition = partition_of("c-lost", 2)
    document = store.delivery_document(
        planned, trigger, Origin("t", partition, 0), partition=partition, now=now_ms()
    )
    assert await store.claim([document]) == {planned.delivery_id}
    try:
        async with running(notify_settings):
            [result] = await outcomes(notify_settings, 1, timeout=20)
        [stored] = await deliveries(notify_settings)
    finally:
        await client.close()
    assert (result["outcome"], result["delivery_id"]) == ("sent", planned.delivery_id)
    # It may have gone out before the old owner died: counted as a possible resend.
    assert (stored["attempts"], stored["resends"]) == (1, 1)
    [request] = http_receiver.requests("/hooks/housing")
    assert request.delivery_id == planned.delivery_id


async def test_of_instances_recording_the_same_deliveries_exactly_one_holds_each(
    notify_settings: NotifySettings, infra: Any
) -> None:
    directory = load_directory(notify_settings.directory_path or "")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    stores = [DeliveryStore(client[notify_settings.mongo.database]) for _ in range(4)]
    try:
        for round_ in range(10):
            triggers = [
                from_routed(routed(f"c-race-{round_}-{i}", lead="housing", support=["fire"]))
                for i in range(25)
            ]
            documents = [
                stores[0].delivery_document(p, t, Origin("t", 0, 0), partition=0, now=now_ms())
                for t in triggers
                for p in plan_deliveries(t, directory)
            ]
            won = await asyncio.gather(*(store.claim(documents) for store in stores))
            every = [i for ids in won for i in ids]
            assert sorted(every) == sorted(d["_id"] for d in documents), f"round {round_}"
    finally:
        await client.close()
