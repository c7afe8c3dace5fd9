"""What routing leaves in MongoDB once its batches are done: no unfinished-batch
markers, closed complaints put away, and a partition that loads only what is open."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.routing.store import CLOSED, INFLIGHT, RoutingStore
from shared.settings import KafkaSettings, MongoSettings
from shared.topics import COMPLAINTS_UPDATED
from tests.integration.routing.test_routing_service import (
    events_on,
    post,
    publish_received,
    received,
    routed_for,
    routing_behind_intake,
)
from tests.support import wait_for

pytestmark = pytest.mark.integration


async def test_finished_batches_leave_no_markers_and_closed_complaints_are_put_away(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings, infra: Any
) -> None:
    parking = received("cx-001", "小区车辆乱停乱放")
    water = received("cx-003", "院里停水三天了")
    lift = received("cx-004", "3号楼电梯又坏了，老人上不了楼")
    lift_again = received("cx-004", "3号楼电梯又坏了！老人都上不了楼")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    db = client[mongo_settings.database]
    try:
        async with routing_behind_intake(kafka_settings, mongo_settings) as http:
            await publish_received(kafka_settings, parking, water, lift)
            for complaint in (parking, water, lift):
                await routed_for(kafka_settings, complaint.complaint_id)
            await publish_received(kafka_settings, lift_again)
            await events_on(kafka_settings, COMPLAINTS_UPDATED, until=lambda r: len(r) >= 1)
            cid = parking.complaint_id
            for step in ("acknowledged", "resolved"):
                answer = await post(http, cid, type=step, actor_id="pf-dianzhong")
                assert answer.status_code == 202, answer.text
            rated = await post(http, cid, type="rated", actor_id="resident", rating="satisfied")
            assert rated.json()["status"] == "closed"
            # A closed complaint is no duplicate candidate: the same text is routed.
            parking_again = received("cx-001", "小区车辆乱停乱放")
            await publish_received(kafka_settings, parking_again)
            await routed_for(kafka_settings, parking_again.complaint_id)
            late = await post(http, cid, type="acknowledged", actor_id="pf-dianzhong")

            async def no_markers() -> bool:
                left: int = await db[INFLIGHT].count_documents({})
                return left == 0

            await wait_for(no_markers, timeout=10)
            closed = [d["_id"] async for d in db[CLOSED].find({})]
        # What a new owner of every partition finds.
        loaded = await RoutingStore(db).load({0, 1})
    finally:
        await client.close()
    assert late.status_code == 409
    assert late.json()["code"] == "not_allowed"
    assert late.json()["field"] == "type"
    assert "closed" in late.json()["message"]
    assert closed == [parking.complaint_id]
    open_heads = {c for c, s in loaded.heads.items() if s.status != "closed"}
    assert open_heads == {
        water.complaint_id,
        lift.complaint_id,
        lift_again.complaint_id,
        parking_again.complaint_id,
    }
    assert loaded.unfinished == []
