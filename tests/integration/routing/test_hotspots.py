"""Hot spots (未訴先辦) detected by routing's stage on the real broker: exactly one
detection per hot spot, its complaints' acknowledge windows shortened."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.routing.app import create_app
from shared.settings import KafkaSettings, MongoSettings
from shared.topics import COMPLAINTS_UPDATED, HOTSPOTS_DETECTED
from tests.integration.routing.test_routing_service import (
    publish_received,
    received,
    routed_for,
    settings_for,
)
from tests.support import collect, serving

pytestmark = pytest.mark.integration


async def test_three_complaints_at_one_compound_open_one_hot_spot_and_raise_their_urgency(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings
) -> None:
    # Three different parking problems at cx-001 within the day: not duplicates, a cluster.
    complaints = [
        received("cx-001", "3栋楼下车辆乱停，消防车进不来"),
        received("cx-001", "东门口车辆乱停乱放，早上出不去"),
        received("cx-001", "地下车库入口有车乱停，挡住了车道"),
    ]
    first_routed = []
    async with serving(create_app(settings_for(kafka_settings, mongo_settings))):
        for complaint in complaints:
            await publish_received(kafka_settings, complaint)
            first_routed += await routed_for(kafka_settings, complaint.complaint_id)

        def detected(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [r["value"] for r in records if r["topic"].endswith(HOTSPOTS_DETECTED)]

        def raised(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [
                r["value"]
                for r in records
                if r["topic"].endswith(COMPLAINTS_UPDATED) and r["value"]["type"] == "hotspot"
            ]

        topics = [kafka_settings.topic(t) for t in (HOTSPOTS_DETECTED, COMPLAINTS_UPDATED)]
        await collect(
            kafka_settings.bootstrap_servers,
            topics,
            until=lambda r: detected(r) and len(raised(r)) >= 3,
            timeout=60,
            committed_only=True,
        )
        # A fourth joins the open hot spot: no second detection.
        fourth = received("cx-001", "2栋门口有车辆乱停")
        await publish_received(kafka_settings, fourth)
        records = await collect(
            kafka_settings.bootstrap_servers,
            topics,
            until=lambda r: len(raised(r)) >= 4,
            timeout=60,
            committed_only=True,
        )
        await asyncio.sleep(2)
        everything = await collect(
            kafka_settings.bootstrap_servers, topics, until=lambda r: False, timeout=2,
            committed_only=True,
        )  # fmt: skip
    [hotspot] = detected(everything)
    assert (hotspot["kind"], hotspot["scope"]["kind"], hotspot["scope"]["id"]) == (
        "cluster",
        "compound",
        "cx-001",
    )
    assert hotspot["category"] == "parking_disorder"
    assert sorted(hotspot["complaint_ids"]) == sorted(c.complaint_id for c in complaints)
    assert "cm-xueqiao" in {a["responder_id"] for a in hotspot["alerted"]}
    by_complaint = {u["complaint_id"]: u for u in raised(records)}
    assert set(by_complaint) == {c.complaint_id for c in (*complaints, fourth)}
    for routed in first_routed:
        update = by_complaint[routed["complaint_id"]]
        assert update["hotspot_id"] == hotspot["hotspot_id"]
        assert update["due"]["acknowledge_by"] < routed["due"]["acknowledge_by"]
