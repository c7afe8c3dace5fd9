"""The sweeper and the relay read small collections of pending work, not every
complaint: once complaints are handled, only what still needs a check is left there."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.routing.app import create_app
from services.routing.store import PENDING, TIMERS
from shared.settings import KafkaSettings, MongoSettings
from shared.topics import COMPLAINTS_UPDATED
from tests.integration.routing.test_routing_service import (
    events_on,
    post,
    publish_received,
    received,
    routed_for,
    settings_for,
)
from tests.support import serving, wait_for

pytestmark = pytest.mark.integration


async def test_handled_complaints_leave_no_pending_markers_and_timers_only_for_open_ones(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings, infra: Any
) -> None:
    parking = received("cx-001", "小区车辆乱停乱放")
    water = received("cx-003", "院里停水三天了")
    lift = received("cx-004", "3号楼电梯又坏了，老人上不了楼")
    lift_again = received("cx-004", "3号楼电梯又坏了！老人都上不了楼")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    db = client[mongo_settings.database]
    app = create_app(settings_for(kafka_settings, mongo_settings))
    try:
        async with serving(app) as http:
            await publish_received(kafka_settings, parking, water, lift)
            for complaint in (parking, water, lift):
                await routed_for(kafka_settings, complaint.complaint_id)
            await publish_received(kafka_settings, lift_again)
            await events_on(kafka_settings, COMPLAINTS_UPDATED, until=lambda r: len(r) >= 1)
            cid = parking.complaint_id
            for step in ("acknowledged", "resolved"):
                answer = await post(http, cid, type=step, actor_id="pf-dianzhong")
                assert answer.status_code == 202, answer.text
            # A resolved complaint is no duplicate candidate: the same text is routed.
            parking_again = received("cx-001", "小区车辆乱停乱放")
            await publish_received(kafka_settings, parking_again)
            await routed_for(kafka_settings, parking_again.complaint_id)

            async def no_pending() -> bool:
                return await db[PENDING].count_documents({}) == 0

            await wait_for(no_pending, timeout=10)
            timers = [t async for t in db[TIMERS].find({})]
            everyone = (parking, water, lift, lift_again, parking_again)
            states = {c.complaint_id: await app.state.router.store.get(c.complaint_id)
                      for c in everyone}  # fmt: skip
    finally:
        await client.close()
    # The resolved complaint and the linked duplicate need no check; each open one has
    # exactly the timer of its stored version.
    assert sorted((t["complaint_id"], t["version"], t["at"]) for t in timers) == sorted(
        (c, s.version, s.next_check_at)
        for c, s in states.items()
        if s is not None and s.next_check_at is not None
    )
    assert {t["complaint_id"] for t in timers} == {
        water.complaint_id,
        lift.complaint_id,
        parking_again.complaint_id,
    }
