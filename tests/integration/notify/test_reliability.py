"""Exactly once per delivery, retries with backoff, dead letters, and no partition
held up by a dead receiver."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from devtools.loopback import produce
from devtools.receivers import HttpReceiver, SmtpReceiver
from services.notify.app import create_app
from services.notify.planning import plan_deliveries
from services.notify.settings import NotifySettings
from services.notify.triggers import from_routed
from shared.directory import load_directory
from shared.privacy import contains_full_phone
from shared.topics import COMPLAINTS_ROUTED, dead_letter_topic
from tests.integration.notify.helpers import deliveries, outcomes, publish, running, settle
from tests.support import collect, wait_for
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


async def test_attempt_lost_with_its_instance_is_taken_over_and_counted_as_a_resend(
    notify_settings: NotifySettings, http_receiver: HttpReceiver
) -> None:
    settings = notify_settings.model_copy(update={"delivery_lease_seconds": 0.5})
    trigger = from_routed(routed("c-lost", lead="housing", support=[]))
    [planned] = plan_deliveries(trigger, load_directory(settings.directory_path or ""))
    crashed = create_app(settings)
    async with crashed.router.lifespan_context(crashed):
        store = crashed.state.store
        from services.notify.store import Origin
        from shared.mongo import now_ms

        # An instance recorded the delivery, claimed its first attempt, then died. A long
        # handoff keeps this app's own retry worker from taking the first attempt before
        # the dead instance does; it steps in only when that attempt's lease runs out.
        await store.create(
            planned, trigger, Origin("t", 0, 0), now=now_ms(), handoff=timedelta(hours=1)
        )
        assert await store.claim(planned.delivery_id, "dead-instance", now=now_ms(), first=True)
        document = await wait_for(lambda: _sent(store, planned.delivery_id), timeout=15)

    assert (document["attempts"], document["resends"]) == (2, 1)
    [request] = http_receiver.requests("/hooks/housing")
    assert request.delivery_id == planned.delivery_id


async def test_racing_instances_win_each_attempt_exactly_once(
    notify_settings: NotifySettings,
) -> None:
    trigger = from_routed(routed("c-race", lead="housing", support=[]))
    directory = load_directory(notify_settings.directory_path or "")
    first, second = create_app(notify_settings), create_app(notify_settings)
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        stores = [first.state.store, second.state.store]
        from services.notify.store import Origin
        from shared.mongo import now_ms

        for round_ in range(20):
            trigger_n = trigger.model_copy(update={"occasion": f"race-{round_}"})
            [planned] = plan_deliveries(trigger_n, directory)
            # A long handoff keeps the instances' own retry workers out of the race.
            await stores[0].create(
                planned, trigger_n, Origin("t", 0, 0), now=now_ms(), handoff=timedelta(hours=1)
            )
            claims = await asyncio.gather(
                *(
                    store.claim(planned.delivery_id, f"instance-{i}", now=now_ms(), first=True)
                    for i, store in enumerate(stores * 3)
                )
            )
            assert sum(claim is not None for claim in claims) == 1


async def _sent(store: object, delivery_id: str) -> dict[str, object] | None:
    document = await store.get(delivery_id)  # type: ignore[attr-defined]
    return document if document and document["state"] == "sent" else None
