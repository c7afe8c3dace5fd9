"""Replaying a dead-letter topic puts each letter back once, and handling stays
idempotent when a letter had been handled after all."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaProducer

from devtools.replay_dlq import replay
from services.routing.app import create_app
from shared.settings import KafkaSettings, MongoSettings
from shared.topics import COMPLAINTS_RECEIVED, COMPLAINTS_ROUTED, dead_letter_topic
from tests.integration.routing.test_routing_service import received, settings_for
from tests.support import collect, produce, serving

pytestmark = pytest.mark.integration


async def test_a_replayed_letter_is_routed_once_and_a_second_replay_does_nothing(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings
) -> None:
    event = received("cx-001", "2棟電梯壞了三天，老人上不了樓")
    origin = kafka_settings.topic(COMPLAINTS_RECEIVED)
    letter = (
        event.complaint_id.encode(),
        event.model_dump_json().encode(),
    )
    app = create_app(settings_for(kafka_settings, mongo_settings))
    async with serving(app):
        # Parked as a service would park it, then also delivered normally once.
        await produce(kafka_settings.bootstrap_servers, origin, [letter])
        producer = AIOKafkaProducer(bootstrap_servers=kafka_settings.bootstrap_servers)
        await producer.start()
        await producer.send_and_wait(
            kafka_settings.topic(dead_letter_topic("routing")),
            letter[1],
            key=letter[0],
            headers=[("x-origin-topic", origin.encode()), ("x-error", b"MongoDB was away")],
        )
        await producer.stop()
        first = await replay(kafka_settings, "routing", dry_run=False)
        second = await replay(kafka_settings, "routing", dry_run=False)
        routed = await collect(
            kafka_settings.bootstrap_servers,
            [kafka_settings.topic(COMPLAINTS_ROUTED)],
            until=lambda r: False,
            timeout=8,
        )
    assert (first, second) == (1, 0)
    assert len({r["value"]["event_id"] for r in routed}) == 1
