"""``/metrics`` against the real broker: events handled and consumer lag per partition."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from services.routing.app import create_app
from services.routing.settings import RoutingSettings
from shared.events import Channel, ComplaintReceived
from shared.lag import record_lag
from shared.settings import KafkaSettings, MongoSettings
from shared.topics import COMPLAINTS_RECEIVED
from tests.support import produce, serving, unique_name, wait_for

pytestmark = pytest.mark.integration


def samples(text: str, name: str, **labels: str) -> list[Any]:
    return [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    ]


async def test_a_consumer_behind_the_high_watermark_shows_its_lag(
    kafka_settings: KafkaSettings,
) -> None:
    topic = kafka_settings.topic(unique_name("lag"))
    await produce(kafka_settings.bootstrap_servers, topic, [(b"k", b"%d" % i) for i in range(10)])
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_settings.bootstrap_servers,
        group_id=unique_name("g"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        taken = 0
        while taken < 4:
            batch = await consumer.getmany(timeout_ms=1000, max_records=4 - taken)
            taken += sum(len(records) for records in batch.values())
        seen = await record_lag("test", [consumer])
    finally:
        await consumer.stop()
    # One key: all ten records on one partition; the topic's others are empty.
    assert {topic_ for topic_, _ in seen} == {topic}
    lags = [
        REGISTRY.get_sample_value(
            "gongzhi_consumer_lag_records",
            {"service": "test", "topic": topic, "partition": partition},
        )
        for _, partition in seen
    ]
    assert max(lag or 0 for lag in lags) == 6
    assert sum(lag or 0 for lag in lags) == 6


async def test_routing_metrics_count_handled_events_and_show_no_lag_once_caught_up(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings
) -> None:
    settings = RoutingSettings(environment="test", kafka=kafka_settings, mongo=mongo_settings)
    received = kafka_settings.topic(COMPLAINTS_RECEIVED)
    events = [
        ComplaintReceived(
            complaint_id=unique_name("c"),
            source="metrics",
            source_ref=unique_name("r"),
            channel=Channel.WEB,
            compound_id=f"cx-00{i + 1}",
            description="樓道堆放雜物，影響通行",
            ingress="kafka",
        )
        for i in range(3)
    ]
    async with serving(create_app(settings)) as client:
        await produce(
            kafka_settings.bootstrap_servers,
            received,
            [(e.complaint_id.encode(), e.model_dump_json().encode()) for e in events],
        )

        async def caught_up() -> str | None:
            text = (await client.get("/metrics")).text
            handled = samples(
                text, "gongzhi_events_handled_total", service="routing", topic=received
            )
            lag = samples(text, "gongzhi_consumer_lag_records", service="routing", topic=received)
            done = sum(s.value for s in handled if s.labels["outcome"] == "ok") == 3
            return text if done and len(lag) == 2 and all(s.value == 0 for s in lag) else None

        text = await wait_for(caught_up, timeout=45)
    assert samples(text, "gongzhi_handler_seconds_count", service="routing", topic=received)
