"""Routing against the real Kafka broker and MongoDB-protocol server."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from services.intake.app import create_app as create_intake
from services.intake.settings import DEMO_API_KEY, IntakeSettings
from services.routing.app import create_app
from services.routing.settings import RoutingSettings
from shared.datafile import DataFileError
from shared.events import Channel, ComplaintReceived, Reporter
from shared.ids import stable_id
from shared.sealing import dev_key_ring
from shared.settings import KafkaSettings, MongoSettings
from shared.topics import (
    COMPLAINTS_ESCALATED,
    COMPLAINTS_RECEIVED,
    COMPLAINTS_REJECTED,
    COMPLAINTS_REMINDED,
    COMPLAINTS_ROUTED,
    COMPLAINTS_UPDATED,
    INGRESS_UPDATES,
    dead_letter_topic,
    responder_updates_topic,
)
from tests.support import collect, produce, serving, unique_name, wait_for

pytestmark = pytest.mark.integration


def settings_for(kafka: KafkaSettings, mongo: MongoSettings, **extra: Any) -> RoutingSettings:
    return RoutingSettings(environment="test", kafka=kafka, mongo=mongo, **extra)


@contextlib.asynccontextmanager
async def routing_behind_intake(
    kafka: KafkaSettings, mongo: MongoSettings
) -> AsyncIterator[httpx.AsyncClient]:
    """Routing, and intake's public API in front of it: updates posted to intake reach
    routing over ingress.updates and come back as routing's answer."""
    intake = create_intake(IntakeSettings(environment="test", kafka=kafka, mongo=mongo))
    async with serving(create_app(settings_for(kafka, mongo))), serving(intake) as client:
        client.headers["Authorization"] = f"Bearer {DEMO_API_KEY}"
        yield client


def received(compound_id: str, description: str, category: str | None = None) -> ComplaintReceived:
    complaint_id = unique_name("c")
    return ComplaintReceived(
        complaint_id=complaint_id,
        source="hotline-12345",
        source_ref=complaint_id,
        channel=Channel.HOTLINE,
        compound_id=compound_id,
        category=category,
        description=description,
        reporter=dev_key_ring().sealed_reporter(
            complaint_id, Reporter(name="張女士", phone="13812345678", hide_identity=True)
        ),
        ingress="kafka",
    )


async def publish_received(kafka: KafkaSettings, *events: ComplaintReceived) -> None:
    await produce(
        kafka.bootstrap_servers,
        kafka.topic(COMPLAINTS_RECEIVED),
        [(e.complaint_id.encode(), e.model_dump_json().encode()) for e in events],
    )


async def events_on(
    kafka: KafkaSettings, topic: str, until: Any, timeout: float = 30
) -> list[dict[str, Any]]:
    records = await collect(
        kafka.bootstrap_servers, [kafka.topic(topic)], until=until, timeout=timeout
    )
    return [r["value"] for r in records]


def distinct(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events as a consumer sees them: a re-published copy (same event id) dropped."""
    seen: dict[str, dict[str, Any]] = {}
    for event in events:
        seen.setdefault(event["event_id"], event)
    return list(seen.values())


async def routed_for(
    kafka: KafkaSettings, complaint_id: str, count: int = 1, timeout: float = 30
) -> list[dict[str, Any]]:
    """The distinct routed events of one complaint, once ``count`` of them arrived."""

    def mine(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return distinct([r["value"] for r in records if r["key"] == complaint_id])

    records = await collect(
        kafka.bootstrap_servers,
        [kafka.topic(COMPLAINTS_ROUTED)],
        until=lambda r: len(mine(r)) >= count,
        timeout=timeout,
    )
    return mine(records)


async def post(client: httpx.AsyncClient, complaint_id: str, **body: Any) -> httpx.Response:
    return await client.post(f"/v1/complaints/{complaint_id}/updates", json=body)


async def test_received_complaint_is_routed_once_even_when_delivered_twice(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings
) -> None:
    flying = received("cx-002", "供销社宿舍2号楼有人飞线充电")
    app = create_app(settings_for(kafka_settings, mongo_settings))
    async with serving(app):
        await publish_received(kafka_settings, flying, flying)
        [routed] = await routed_for(kafka_settings, flying.complaint_id)
        # A later redelivery finds the complaint routed and publishes nothing.
        await publish_received(kafka_settings, flying)
        await asyncio.sleep(2)
    assert routed["event_id"] == stable_id(flying.complaint_id, "routed", 1)
    assert routed["lead"] == {"responder_id": "fire", "kind": "fire"}
    assert [s["responder_id"] for s in routed["support"]] == ["cx-002-committee", "cm-xueqiao"]
    assert routed["summary"]["category"] == "flying_wire_charging"
    # Routing passes the reporter on as intake sealed it: masked, no name, sealed contact.
    assert routed["summary"]["reporter"] == flying.model_dump(mode="json")["reporter"]
    assert routed["summary"]["reporter"]["masked_phone"] == "138****5678"
    assert "13812345678" not in json.dumps(routed, ensure_ascii=False)
    assert routed["category_source"] == "classified"
    everything = await events_on(
        kafka_settings, COMPLAINTS_ROUTED, until=lambda r: False, timeout=2
    )
    assert [e["event_id"] for e in everything] == [routed["event_id"]]


async def test_similar_complaint_within_a_day_is_linked_not_routed(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings
) -> None:
    first = received("cx-004", "3号楼电梯又坏了，老人上不了楼")
    second = received("cx-004", "3号楼电梯又坏了！老人都上不了楼")
    app = create_app(settings_for(kafka_settings, mongo_settings))
    async with serving(app):
        await publish_received(kafka_settings, first)
        await routed_for(kafka_settings, first.complaint_id)
        await publish_received(kafka_settings, second)
        [linked] = await events_on(
            kafka_settings, COMPLAINTS_UPDATED, until=lambda r: len(r) >= 1, timeout=20
        )
        routed = await events_on(
            kafka_settings, COMPLAINTS_ROUTED, until=lambda r: False, timeout=1
        )
    assert (linked["complaint_id"], linked["type"], linked["status"]) == (
        second.complaint_id,
        "duplicate_linked",
        "duplicate",
    )
    assert linked["duplicate_of"] == first.complaint_id
    assert {r["complaint_id"] for r in routed} == {first.complaint_id}


async def test_updates_over_http_follow_the_lifecycle(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings
) -> None:
    parking = received("cx-001", "小区车辆乱停乱放")
    async with routing_behind_intake(kafka_settings, mongo_settings) as client:
        unknown = await post(client, "c-nope", type="acknowledged", actor_id="x")
        assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
        await publish_received(kafka_settings, parking)
        await routed_for(kafka_settings, parking.complaint_id)
        cid = parking.complaint_id
        not_the_lead = await post(client, cid, type="acknowledged", actor_id="fire")
        assert not_the_lead.status_code == 403
        # Routing's refusal, in the shared error model: its code and the field at fault.
        assert (not_the_lead.json()["code"], not_the_lead.json()["field"]) == (
            "not_assigned",
            "actor_id",
        )
        too_early = await post(client, cid, type="resolved", actor_id="pf-dianzhong")
        assert (too_early.status_code, too_early.json()["code"]) == (409, "not_allowed")
        assert (await post(client, cid, type="bogus", actor_id="pf-dianzhong")).status_code == 422
        assert (
            await post(client, cid, type="returned", actor_id="pf-dianzhong")
        ).status_code == 422
        answer = await post(client, cid, type="acknowledged", actor_id="pf-dianzhong")
        assert answer.status_code == 202, answer.text
        assert answer.json()["status"] == "acknowledged"
        resolved = await post(client, cid, type="resolved", actor_id="pf-dianzhong", note="已清理")
        assert resolved.json()["status"] == "resolved"
        rated = await post(client, cid, type="rated", actor_id="resident", rating="dissatisfied")
        assert rated.status_code == 202, rated.text
        assert rated.json() == {
            "complaint_id": cid,
            "status": "in_progress",
            "lead": "pf-dianzhong",
        }
        updates = await events_on(
            kafka_settings, COMPLAINTS_UPDATED, until=lambda r: len(r) >= 4, timeout=15
        )
    kinds = [(u["type"], u["status"]) for u in updates]
    assert kinds == [
        ("acknowledged", "acknowledged"),
        ("resolved", "resolved"),
        ("rated", "in_progress"),
        ("reopened", "in_progress"),
    ]
    assert updates[0]["on_time"] is True
    # The audit: each change names the API key it came through (the reopening too: the
    # dissatisfied rating caused it).
    assert [u["via"] for u in updates] == ["key:demo"] * 4
    assert updates[3]["lead"]["responder_id"] == "pf-dianzhong"
    assert updates[3]["summary"]["compound_id"] == "cx-001"


async def test_returned_complaint_is_rerouted_to_another_responder(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings
) -> None:
    parking = received("cx-001", "东门外车辆占道")
    async with routing_behind_intake(kafka_settings, mongo_settings) as client:
        await publish_received(kafka_settings, parking)
        await routed_for(kafka_settings, parking.complaint_id)
        answer = await post(
            client, parking.complaint_id, type="returned", actor_id="pf-dianzhong",
            note="占道的是小区外市政道路",
        )  # fmt: skip
        assert answer.status_code == 202, answer.text
        first, second = await routed_for(kafka_settings, parking.complaint_id, count=2)
    assert first["lead"]["responder_id"] == "pf-dianzhong"
    assert (second["reason"], second["round"], second["previous_lead"]) == (
        "rerouted",
        2,
        "pf-dianzhong",
    )
    assert second["lead"]["responder_id"] == "cm-xueqiao"
    assert second["event_id"] != first["event_id"]


async def test_ingress_updates_are_applied_or_answered_with_reasons(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings
) -> None:
    noise = received("cx-001", "楼上邻居半夜噪音扰民")
    app = create_app(settings_for(kafka_settings, mongo_settings))
    async with serving(app):
        await publish_received(kafka_settings, noise)
        await routed_for(kafka_settings, noise.complaint_id)
        cid = noise.complaint_id
        await produce(
            kafka_settings.bootstrap_servers,
            kafka_settings.topic(INGRESS_UPDATES),
            [
                (cid.encode(), f'{{"complaint_id":"{cid}","type":"acknowledged","actor_id":"pf-dianzhong"}}'.encode()),
                (cid.encode(), f'{{"complaint_id":"{cid}","type":"acknowledged","actor_id":"cm-xueqiao"}}'.encode()),
                (cid.encode(), f'{{"complaint_id":"{cid}","type":"acknowledged"}}'.encode()),
                (cid.encode(), b"not json at all"),
            ],
        )  # fmt: skip
        rejected = await events_on(kafka_settings, COMPLAINTS_REJECTED, until=lambda r: len(r) >= 2)
        [accepted] = await events_on(
            kafka_settings, COMPLAINTS_UPDATED, until=lambda r: len(r) >= 1
        )
        dead = await events_on(
            kafka_settings, dead_letter_topic("routing"), until=lambda r: len(r) >= 1
        )
    assert (accepted["type"], accepted["actor_id"]) == ("acknowledged", "cm-xueqiao")
    assert [r["kind"] for r in rejected] == ["update", "update"]
    assert rejected[0]["reasons"][0]["field"] == "actor_id"
    assert rejected[0]["actor_id"] == "pf-dianzhong"
    assert rejected[1]["reasons"][0]["field"] == "actor_id"  # missing field
    assert len(dead) == 1


async def test_a_responder_system_posts_on_its_own_topic_and_only_as_itself(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings, tmp_path: Path
) -> None:
    """The firm's principal may write only ingress.updates.pf-dianzhong (the ACLs, see
    tests/integration/deploy/test_kafka_acls.py); routing makes sure the updates on it
    are the firm's own and records the principal they came through."""
    systems = tmp_path / "kafka-systems.yaml"
    systems.write_text("responders: [pf-dianzhong]\n")
    parking = received("cx-001", "小区车辆乱停乱放")
    cid = parking.complaint_id
    firm_topic = kafka_settings.topic(responder_updates_topic("pf-dianzhong"))
    app = create_app(settings_for(kafka_settings, mongo_settings, kafka_systems_path=str(systems)))
    async with serving(app):
        await publish_received(kafka_settings, parking)
        [routed] = await routed_for(kafka_settings, cid)
        assert routed["lead"]["responder_id"] == "pf-dianzhong"
        await produce(
            kafka_settings.bootstrap_servers,
            firm_topic,
            [
                # The firm posting as the community: refused, the complaint untouched.
                (cid.encode(), f'{{"complaint_id":"{cid}","type":"acknowledged","actor_id":"cm-xueqiao"}}'.encode()),
                # Keyed by something else: forwarded to the complaint's owner, still checked.
                (b"x", f'{{"complaint_id":"{cid}","type":"in_progress","actor_id":"fire"}}'.encode()),
                (cid.encode(), f'{{"complaint_id":"{cid}","type":"acknowledged","actor_id":"pf-dianzhong"}}'.encode()),
            ],
        )  # fmt: skip
        rejected = await events_on(kafka_settings, COMPLAINTS_REJECTED, until=lambda r: len(r) >= 2)
        updated = await events_on(kafka_settings, COMPLAINTS_UPDATED, until=lambda r: len(r) >= 1)
    assert sorted(r["actor_id"] for r in rejected) == ["cm-xueqiao", "fire"]
    for refusal in rejected:
        assert refusal["origin_topic"] == firm_topic
        [reason] = refusal["reasons"]
        assert reason["field"] == "actor_id"
        assert "pf-dianzhong only" in reason["message"]
    [accepted] = updated
    assert (accepted["type"], accepted["actor_id"]) == ("acknowledged", "pf-dianzhong")
    assert accepted["via"] == "kafka:pf-dianzhong"


def test_a_responder_system_unknown_to_the_directory_stops_routing(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings, tmp_path: Path
) -> None:
    systems = tmp_path / "kafka-systems.yaml"
    systems.write_text("responders: [pf-nowhere]\n")
    with pytest.raises(DataFileError, match="pf-nowhere"):
        create_app(settings_for(kafka_settings, mongo_settings, kafka_systems_path=str(systems)))


@contextlib.asynccontextmanager
async def two_routing_copies(settings: RoutingSettings) -> AsyncIterator[None]:
    async with serving(create_app(settings)), serving(create_app(settings)):
        yield


async def test_two_copies_escalate_a_silent_complaint_once_per_level(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings
) -> None:
    # Parking (normal): acknowledge within 24 h, scaled to 2 s; level 2 one window later
    # (4 s); resolve within 7 days, scaled to 14 s, beyond this test.
    settings = settings_for(kafka_settings, mongo_settings, due_scale=2 / 86400)
    parking = received("cx-001", "小区车辆乱停乱放，早上车都开不出去")
    async with two_routing_copies(settings):
        await publish_received(kafka_settings, parking)
        await routed_for(kafka_settings, parking.complaint_id)
        await events_on(
            kafka_settings, COMPLAINTS_ESCALATED, until=lambda r: len(r) >= 2, timeout=30
        )
        await asyncio.sleep(1.5)  # time for a wrongful second escalation to show up
        escalated = await events_on(
            kafka_settings, COMPLAINTS_ESCALATED, until=lambda r: False, timeout=1.5
        )
        reminded = await events_on(
            kafka_settings, COMPLAINTS_REMINDED, until=lambda r: False, timeout=1
        )
    # Each level exactly once: only the owner of the complaint's partition runs its
    # timers. (A copy after a crash would carry the same event id: count distinct ids.)
    escalated, reminded = distinct(escalated), distinct(reminded)
    assert [(e["level"], e["breach"]) for e in escalated] == [
        (1, "acknowledge"),
        (2, "acknowledge"),
    ]
    level1, level2 = escalated
    assert [a["responder_id"] for a in level1["escalated_to"]] == ["housing", "cm-xueqiao"]
    assert [a["responder_id"] for a in level2["escalated_to"]] == ["city-coordination"]
    assert level1["lead"]["responder_id"] == "pf-dianzhong"
    assert level1["summary"]["description"] == parking.description
    assert len(reminded) == 1


async def test_events_of_a_batch_that_died_before_its_flush_are_sent_by_the_next_owner(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings, infra: Any
) -> None:
    # What an owner leaves when it dies after writing a batch's versions, before its
    # events were acknowledged: the marker naming them and the versions themselves.
    from services.routing.app import load_data
    from services.routing.route import classify_received, route_received
    from services.routing.store import INFLIGHT, RoutingStore, VersionRecord
    from shared.mongo import now_ms
    from shared.ownership import partition_of

    settings = settings_for(kafka_settings, mongo_settings)
    policy, directory = load_data(settings)
    lost = received("cx-003", "院里停水三天了")
    state = route_received(
        lost, classify_received(policy, lost), policy=policy, directory=directory,
        open_candidates=[], now=lost.occurred_at,
    )  # fmt: skip
    state.version = 1
    record = VersionRecord(state, partition_of(lost.complaint_id, 2), f"received:{lost.event_id}")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    db = client[mongo_settings.database]
    try:
        store = RoutingStore(db)
        await store.begin(
            {"_id": "dead-batch", "partition": [record.partition], "versions": [record.id]}
        )
        await store.write([record], now_ms())
        async with serving(create_app(settings)):
            [routed] = await routed_for(kafka_settings, lost.complaint_id)
            await wait_for(lambda: _no_markers(db[INFLIGHT]), timeout=10)
            # The received event comes late (it was never committed): nothing more.
            await publish_received(kafka_settings, lost)
            await asyncio.sleep(2)
            everything = await events_on(
                kafka_settings, COMPLAINTS_ROUTED, until=lambda r: False, timeout=1
            )
    finally:
        await client.close()
    assert routed["lead"]["responder_id"] == "cm-xueqiao"
    assert routed["event_id"] == stable_id(lost.complaint_id, "routed", 1)
    assert [e["event_id"] for e in everything] == [routed["event_id"]]


async def _no_markers(collection: Any) -> bool:
    left: int = await collection.count_documents({})
    return left == 0


async def test_a_linked_complaint_follows_its_original_and_a_desk_can_undo_a_link(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings
) -> None:
    original = received("cx-004", "3号楼电梯又坏了，老人上不了楼")
    copy = received("cx-004", "3号楼电梯又坏了！老人都上不了楼")
    another = received("cx-004", "3号楼电梯又坏了，老人上不去楼")
    async with routing_behind_intake(kafka_settings, mongo_settings) as client:
        await publish_received(kafka_settings, original)
        await routed_for(kafka_settings, original.complaint_id)
        await publish_received(kafka_settings, copy, another)

        def updates_of(records: list[dict[str, Any]], cid: str) -> list[dict[str, Any]]:
            return [r["value"] for r in records if r["key"] == cid]

        await collect(
            kafka_settings.bootstrap_servers,
            [kafka_settings.topic(COMPLAINTS_UPDATED)],
            until=lambda r: (
                updates_of(r, copy.complaint_id) and updates_of(r, another.complaint_id)
            ),
            timeout=30,
        )
        # A firm may not undo a link; the community of the compound may.
        refused = await post(client, another.complaint_id, type="unlinked", actor_id="pf-dianzhong")
        undone = await post(client, another.complaint_id, type="unlinked", actor_id="cm-xueqiao")
        [rerouted] = await routed_for(kafka_settings, another.complaint_id)
        lead = (await routed_for(kafka_settings, original.complaint_id))[0]["lead"]["responder_id"]
        for step in ("acknowledged", "resolved"):
            answer = await post(
                client, original.complaint_id, type=step, actor_id=lead, note="修好了"
            )
            assert answer.status_code == 202, answer.text
        records = await collect(
            kafka_settings.bootstrap_servers,
            [kafka_settings.topic(COMPLAINTS_UPDATED)],
            until=lambda r: any(u["type"] == "resolved" for u in updates_of(r, copy.complaint_id)),
            timeout=30,
        )
        rated = await post(
            client, copy.complaint_id, type="rated", actor_id="resident", rating="satisfied"
        )
    assert refused.status_code == 403
    assert undone.status_code == 202, undone.text
    assert undone.json()["status"] == "routed"
    assert rerouted["reason"] == "initial"
    [followed] = [u for u in updates_of(records, copy.complaint_id) if u["type"] == "resolved"]
    assert (followed["actor_id"], followed["duplicate_of"]) == ("routing", original.complaint_id)
    # The complaint routed on its own does not follow the original.
    assert not [u for u in updates_of(records, another.complaint_id) if u["type"] == "resolved"]
    assert rated.json()["status"] == "closed"
