"""The whole pipeline, four processes, 400 complaints: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import datetime
from typing import Any

import httpx
import orjson
import pytest
from pymongo import AsyncMongoClient

from devtools.loopback import produce
from devtools.samples import complaint
from services.intake.settings import DEMO_API_KEY
from shared.topics import (
    COMPLAINTS_RECEIVED,
    COMPLAINTS_REJECTED,
    COMPLAINTS_ROUTED,
    COMPLAINTS_UPDATED,
    INGRESS_COMPLAINTS,
)
from tests.e2e.conftest import PipelineFactory
from tests.support import collect, wait_for

pytestmark = pytest.mark.e2e

AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}"}
PER_PATH = 200


async def post_all(client: httpx.AsyncClient, bodies: list[dict[str, Any]]) -> list[str]:
    gate = asyncio.Semaphore(16)

    async def post(body: dict[str, Any]) -> str:
        async with gate:
            answer = await client.post("/v1/complaints", json=body, headers=AUTH)
        assert answer.status_code == 202, answer.text
        complaint_id: str = answer.json()["complaint_id"]
        return complaint_id

    return list(await asyncio.gather(*(post(body) for body in bodies)))


async def test_four_hundred_complaints_routed_once_alerted_once_counted_once(
    start_pipeline: PipelineFactory,
) -> None:
    pipeline = start_pipeline()
    rng = random.Random(2026)
    over_http = [complaint(i, rng, run="http") for i in range(PER_PATH)]
    over_kafka = [complaint(i, rng, source="wechat-mp", run="kafka") for i in range(PER_PATH)]
    over_http[0]["compound_id"] = "cx-does-not-exist"  # not bad input: the fallback desk

    async with httpx.AsyncClient(base_url=pipeline.url("intake"), timeout=30) as client:
        http_ids = await post_all(client, over_http)
        # Bad input over HTTP: each refused with a clear reason, none given an id.
        malformed = await client.post(
            "/v1/complaints",
            content=b'{"source": "x", "description": ',
            headers={**AUTH, "content-type": "application/json"},
        )
        missing = await client.post("/v1/complaints", json={"source": "x"}, headers=AUTH)
        ill_typed = await client.post(
            "/v1/complaints", json={**over_http[1], "channel": 42}, headers=AUTH
        )
        oversized = await client.post(
            "/v1/complaints", json={**over_http[2], "description": "臟" * 40_000}, headers=AUTH
        )
        resent = await client.post("/v1/complaints", json=over_http[3], headers=AUTH)
    assert malformed.status_code == 422
    assert missing.status_code == 422
    assert {e["field"] for e in missing.json()["errors"]} >= {"channel", "description"}
    assert ill_typed.status_code == 422
    assert oversized.status_code == 413
    assert resent.json()["complaint_id"] == http_ids[3]

    bad_kafka = [
        (b"junk", b"\x00\xff not json at all"),
        (b"x:1", orjson.dumps({"source": "wechat-mp", "source_ref": "bad-1"})),
        (b"x:2", orjson.dumps({**over_kafka[0], "source_ref": "bad-2", "channel": "pigeon"})),
    ]
    good_kafka = [
        (f"{body['source']}:{body['source_ref']}".encode(), orjson.dumps(body))
        for body in over_kafka
    ]
    await produce(
        pipeline.bootstrap_servers, pipeline.topic(INGRESS_COMPLAINTS), good_kafka + bad_kafka
    )

    topics = [
        pipeline.topic(t)
        for t in (COMPLAINTS_RECEIVED, COMPLAINTS_ROUTED, COMPLAINTS_UPDATED, COMPLAINTS_REJECTED)
    ]

    def settled(records: list[dict[str, Any]]) -> bool:
        routed = {r["value"]["complaint_id"] for r in records if r["topic"] == topics[1]}
        linked = {
            r["value"]["complaint_id"]
            for r in records
            if r["topic"] == topics[2] and r["value"]["type"] == "duplicate_linked"
        }
        rejected = [r for r in records if r["topic"] == topics[3]]
        return len(routed | linked) >= 2 * PER_PATH and len(rejected) >= len(bad_kafka)

    records = await collect(pipeline.bootstrap_servers, topics, until=settled, timeout=180)
    by_topic: dict[str, list[dict[str, Any]]] = {t: [] for t in topics}
    for record in records:
        by_topic[record["topic"]].append(record["value"])
    received, routed, updated, rejected = (by_topic[t] for t in topics)

    received_ids = {e["complaint_id"] for e in received}
    assert len(received_ids) == 2 * PER_PATH
    assert set(http_ids) <= received_ids
    # Each complaint routed once: one distinct routed event per complaint, or linked as
    # a duplicate of an open one instead (and then not routed at all).
    routed_events = {e["event_id"]: e for e in routed}
    routed_per_complaint = Counter(e["complaint_id"] for e in routed_events.values())
    linked = {e["complaint_id"] for e in updated if e["type"] == "duplicate_linked"}
    assert all(n == 1 for n in routed_per_complaint.values()), routed_per_complaint.most_common(3)
    assert not linked & set(routed_per_complaint)
    assert set(routed_per_complaint) | linked == received_ids
    assert len(routed_per_complaint) > 0.8 * len(received_ids)
    fallback = [e for e in routed_events.values() if e["complaint_id"] == http_ids[0]]
    assert fallback[0]["lead"]["responder_id"] == "city-dispatch"
    assert fallback[0]["unknown_compound"] is True
    assert len(rejected) == len(bad_kafka)
    assert all(r["reasons"] for r in rejected)

    # One alert per assignment (lead and each support) at the webhook receiver.
    expected = Counter(
        (e["complaint_id"], who["responder_id"])
        for e in routed_events.values()
        for who in [e["lead"], *e["support"]]
    )

    def routed_alerts() -> Counter[tuple[str, str]]:
        return Counter(
            (r.json()["complaint_id"], r.json()["responder_id"])
            for r in pipeline.receiver.accepted("/hooks/")
            if r.json().get("reason") == "routed"
        )

    await wait_for(lambda: sum(routed_alerts().values()) >= sum(expected.values()), timeout=120)
    await asyncio.sleep(2)  # a second alert for anything would show up now
    assert routed_alerts() == expected

    # MongoDB holds exactly 400 received complaints, through stats' figures and directly.
    month = datetime.now().astimezone().strftime("%Y-%m")
    async with httpx.AsyncClient(base_url=pipeline.url("stats"), timeout=30) as client:

        async def received_count() -> int:
            figures = (await client.get("/v1/stats", params={"period": month})).json()
            return int(figures["counts"]["received"])

        await wait_for(lambda: received_count(), timeout=60)
        await wait_for(lambda: _equals(received_count(), 2 * PER_PATH), timeout=60)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(pipeline.mongodb_url)
    try:
        stored = len(await mongo[pipeline.database]["stats_complaints"].distinct("complaint_id"))
    finally:
        await mongo.close()
    assert stored == 2 * PER_PATH


async def _equals(value: Any, expected: int) -> bool:
    return bool(await value == expected)
