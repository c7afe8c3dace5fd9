"""Intake against the real broker and MongoDB-protocol server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from devtools.loopback import produce
from services.intake.app import create_app
from services.intake.settings import DEMO_API_KEY, IntakeSettings
from shared.auth import hash_key
from shared.settings import KafkaSettings, MongoSettings
from shared.topics import COMPLAINTS_RECEIVED, COMPLAINTS_REJECTED, INGRESS_COMPLAINTS
from tests.support import collect, serving

pytestmark = pytest.mark.integration

DEMO = {"Authorization": f"Bearer {DEMO_API_KEY}"}


def complaint(ref: str = "HL-1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": "hotline-12345",
        "source_ref": ref,
        "channel": "hotline",
        "compound_id": "cx-001",
        "category": "flying_wire_charging",
        "description": "3棟2單元樓道有人飛線充電",
        "location": "3棟2單元",
        "reporter": {"name": "張女士", "phone": "13812345678", "hide_identity": True},
        "occurred_at": "2026-11-28T08:00:00+08:00",
    }
    body.update(overrides)
    return body


def settings_for(kafka: KafkaSettings, mongo: MongoSettings, **extra: Any) -> IntakeSettings:
    return IntakeSettings(environment="test", kafka=kafka, mongo=mongo, **extra)


async def received_events(kafka: KafkaSettings, count: int, timeout: float = 15) -> list[Any]:
    records = await collect(
        kafka.bootstrap_servers,
        [kafka.topic(COMPLAINTS_RECEIVED)],
        until=lambda r: len(r) > count,
        timeout=timeout,
    )
    return [r["value"] for r in records]


async def test_a_complaint_posted_twice_is_published_once_with_one_id(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings
) -> None:
    app = create_app(settings_for(kafka_settings, mongo_settings))
    async with serving(app) as client:
        first = await client.post("/v1/complaints", json=complaint(), headers=DEMO)
        again = await client.post("/v1/complaints", json=complaint(), headers=DEMO)
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "received"
    assert again.json()["complaint_id"] == first.json()["complaint_id"]
    events = await received_events(kafka_settings, 1, timeout=5)
    assert len(events) == 1
    event = events[0]
    assert event["complaint_id"] == first.json()["complaint_id"]
    assert event["description"] == "3棟2單元樓道有人飛線充電"
    assert event["ingress"] == "http"
    assert event["schema_version"] == 2
    # The reporter asked to stay hidden: masked phone, no name, the contact sealed.
    assert event["reporter"]["name"] is None
    assert event["reporter"]["masked_phone"] == "138****5678"
    assert event["reporter"]["contact"]["key_id"] == "dev"
    assert "13812345678" not in json.dumps(event, ensure_ascii=False)
    assert "張女士" not in json.dumps(event, ensure_ascii=False)


async def test_bad_requests_get_clear_errors(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings
) -> None:
    app = create_app(settings_for(kafka_settings, mongo_settings, max_body_bytes=4096))
    async with serving(app) as client:
        missing = await client.post(
            "/v1/complaints", json={"source": "hotline-12345"}, headers=DEMO
        )
        ill_typed = await client.post(
            "/v1/complaints", json=complaint(channel="fax", reporter="13812345678"), headers=DEMO
        )
        unknown_field = await client.post(
            "/v1/complaints", json=complaint(priority="high"), headers=DEMO
        )
        malformed = await client.post(
            "/v1/complaints",
            content=b'{"source": "x",',
            headers={**DEMO, "content-type": "application/json"},
        )
        oversized = await client.post(
            "/v1/complaints", json=complaint(description="飛" * 3000), headers=DEMO
        )
        no_key = await client.post("/v1/complaints", json=complaint())
        wrong_key = await client.post(
            "/v1/complaints", json=complaint(), headers={"Authorization": "Bearer nope"}
        )
    assert missing.status_code == 422
    assert missing.json()["code"] == "invalid"
    missing_fields = {e["field"] for e in missing.json()["errors"] if e["code"] == "missing"}
    assert {"source_ref", "channel", "compound_id", "description"} <= missing_fields
    assert ill_typed.status_code == 422
    assert "13812345678" not in ill_typed.text  # errors never echo a phone number
    assert unknown_field.status_code == 422
    assert "priority" in unknown_field.text
    assert malformed.status_code == 422
    assert oversized.status_code == 413
    assert no_key.status_code == 401
    assert wrong_key.status_code == 401
    assert await received_events(kafka_settings, 0, timeout=3) == []


async def test_scopes_limit_what_a_key_may_do(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings
) -> None:
    keys = json.dumps(
        [
            {"name": "hotline", "sha256": hash_key("hl-key"), "scopes": ["submit:hotline-12345"]},
            {"name": "firm", "sha256": hash_key("pf-key"), "scopes": ["update:pf-dianzhong"]},
        ]
    )
    app = create_app(settings_for(kafka_settings, mongo_settings, api_keys=keys))
    hotline = {"Authorization": "Bearer hl-key"}
    firm = {"Authorization": "Bearer pf-key"}
    async with serving(app) as client:
        own_source = await client.post("/v1/complaints", json=complaint(), headers=hotline)
        other_source = await client.post(
            "/v1/complaints", json=complaint(source="wechat-mp"), headers=hotline
        )
        firm_submits = await client.post("/v1/complaints", json=complaint(), headers=firm)
        demo = await client.post("/v1/complaints", json=complaint(), headers=DEMO)
        firm_as_fire = await client.post(
            "/v1/complaints/c-x/updates",
            json={"type": "acknowledged", "actor_id": "fire"},
            headers=firm,
        )
    assert own_source.status_code == 202
    assert other_source.status_code == 403
    assert firm_submits.status_code == 403
    assert demo.status_code == 401  # configured keys replace the demo key
    assert firm_as_fire.status_code == 403
    assert (other_source.json()["code"], other_source.json()["field"]) == ("forbidden", "source")
    assert (firm_as_fire.json()["code"], firm_as_fire.json()["field"]) == ("forbidden", "actor_id")
    assert demo.json()["code"] == "unknown_key"


async def test_rate_limit_answers_429_with_retry_after(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings
) -> None:
    app = create_app(settings_for(kafka_settings, mongo_settings, rate_per_second=1, rate_burst=2))
    async with serving(app) as client:
        answers = [
            await client.post("/v1/complaints", json=complaint(f"R{i}"), headers=DEMO)
            for i in range(3)
        ]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert int(answers[2].headers["Retry-After"]) >= 1
    assert answers[2].json()["code"] == "rate_limited"


async def test_idempotency_key_same_body_once_different_body_refused(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings
) -> None:
    app = create_app(settings_for(kafka_settings, mongo_settings))
    headers = {**DEMO, "Idempotency-Key": "req-42"}
    async with serving(app) as client:
        together = await asyncio.gather(
            *(
                client.post("/v1/complaints", json=complaint("IK-1"), headers=headers)
                for _ in range(2)
            )
        )
        changed = await client.post(
            "/v1/complaints",
            json=complaint("IK-1", description="另一件事：垃圾堆放"),
            headers=headers,
        )
    assert [a.status_code for a in together] == [202, 202]
    assert together[0].json() == together[1].json()
    assert changed.status_code == 422
    assert (changed.json()["code"], changed.json()["field"]) == (
        "idempotency_conflict",
        "Idempotency-Key",
    )
    assert "Idempotency-Key" in changed.text
    assert len(await received_events(kafka_settings, 1, timeout=5)) == 1


async def test_ingress_topic_accepts_valid_and_rejects_invalid_with_reasons(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings
) -> None:
    app = create_app(settings_for(kafka_settings, mongo_settings))
    valid = json.dumps(complaint("K-1"), ensure_ascii=False).encode()
    missing = json.dumps({"source": "hotline-12345", "source_ref": "K-2"}).encode()
    async with serving(app):
        await produce(
            kafka_settings.bootstrap_servers,
            kafka_settings.topic(INGRESS_COMPLAINTS),
            [
                (b"hotline-12345:K-1", valid),
                (b"garbage", b"\xff\x00 not json"),
                (b"hotline-12345:K-2", missing),
                (b"hotline-12345:K-1", valid),  # a resend: same id, no second event
            ],
        )
        records = await collect(
            kafka_settings.bootstrap_servers,
            [kafka_settings.topic(COMPLAINTS_RECEIVED), kafka_settings.topic(COMPLAINTS_REJECTED)],
            until=lambda r: len(r) >= 3,
            timeout=30,
        )
        await asyncio.sleep(1)  # give a wrong second "received" the chance to show up
        records = await collect(
            kafka_settings.bootstrap_servers,
            [kafka_settings.topic(COMPLAINTS_RECEIVED), kafka_settings.topic(COMPLAINTS_REJECTED)],
            until=lambda r: len(r) > 3,
            timeout=2,
        )
    received = [r["value"] for r in records if r["topic"].endswith(COMPLAINTS_RECEIVED)]
    rejected = [r["value"] for r in records if r["topic"].endswith(COMPLAINTS_REJECTED)]
    assert len(received) == 1
    assert received[0]["ingress"] == "kafka"
    assert len(rejected) == 2
    by_ref = {r.get("source_ref"): r for r in rejected}
    assert by_ref[None]["reasons"][0]["message"] == "not valid JSON"
    named = {reason["field"] for reason in by_ref["K-2"]["reasons"]}
    assert {"channel", "compound_id", "description"} <= named
    assert all(r["origin_offset"] is not None for r in rejected)


async def test_a_complaint_whose_record_a_crash_lost_is_published_again_on_resend(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings
) -> None:
    app = create_app(settings_for(kafka_settings, mongo_settings))
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_settings.url.get_secret_value()
    )
    async with serving(app) as http:
        first = await http.post("/v1/complaints", json=complaint("CRASH-1"), headers=DEMO)
        # What a process leaves when it dies after publishing, before recording: the
        # event is out, intake has no record of it.
        await client[mongo_settings.database]["intake_submissions"].delete_one(
            {"_id": first.json()["complaint_id"]}
        )
        again = await http.post("/v1/complaints", json=complaint("CRASH-1"), headers=DEMO)
        events = await received_events(kafka_settings, 1, timeout=15)
    doc = await client[mongo_settings.database]["intake_submissions"].find_one(
        {"_id": first.json()["complaint_id"]}
    )
    await client.close()
    assert again.json() == first.json()
    # Published again under the same event id (consumers drop the copy), and recorded.
    assert [e["event_id"] for e in events] == [events[0]["event_id"]] * 2
    assert doc is not None
    assert doc["body_hash"]
    assert "reporter" not in doc
