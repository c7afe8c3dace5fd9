"""The raw baseline: the same hops as Gongzhi with aiokafka and PyMongo only.

Three stages, each consume → decide → produce (acks=all, idempotent), the last one
also writing a counter to MongoDB, every stage committing after its batch. No
framework, no validation beyond JSON parsing: the ceiling our services are compared to."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient, UpdateOne

KEYWORDS = (
    ("飛線", "flying_wire_charging"),
    ("消防通道", "fire_access_blocked"),
    ("停車", "parking"),
)


def _decide(value: dict[str, Any], hop: int) -> dict[str, Any]:
    text = value.get("description", "")
    category = next((code for word, code in KEYWORDS if word in text), "other")
    return {**value, "hop": hop, "category": category}


@dataclass
class BaselineTopics:
    prefix: str

    def name(self, hop: int) -> str:
        return f"{self.prefix}baseline.{hop}"


async def _stage(
    bootstrap: str,
    topics: BaselineTopics,
    hop: int,
    mongo_url: str | None,
    database: str,
    stop: asyncio.Event,
) -> None:
    consumer = AIOKafkaConsumer(
        topics.name(hop),
        bootstrap_servers=bootstrap,
        group_id=f"{topics.prefix}baseline-{hop}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    mongo: AsyncMongoClient[dict[str, Any]] | None = (
        AsyncMongoClient(mongo_url) if mongo_url else None
    )
    await consumer.start()
    await producer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            if not batches:
                continue
            sends = []
            counts: dict[str, int] = {}
            for records in batches.values():
                for record in records:
                    value = _decide(orjson.loads(record.value), hop)
                    counts[value["category"]] = counts.get(value["category"], 0) + 1
                    sends.append(
                        await producer.send(
                            topics.name(hop + 1), orjson.dumps(value), key=record.key
                        )
                    )
            await asyncio.gather(*sends)
            if mongo is not None:
                await mongo[database]["baseline_counts"].bulk_write(
                    [
                        UpdateOne({"_id": c}, {"$inc": {"n": n}}, upsert=True)
                        for c, n in counts.items()
                    ]
                )
            await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()
        if mongo is not None:
            await mongo.close()


async def run_baseline(
    bootstrap: str,
    mongo_url: str,
    prefix: str,
    messages: list[tuple[bytes, bytes]],
    timeout: float = 300.0,
) -> float:
    """Push ``messages`` through three hops; return messages per second end to end."""
    topics = BaselineTopics(prefix)
    database = f"{prefix.strip('.')}_baseline".replace(".", "_")
    stop = asyncio.Event()
    stages = [
        asyncio.create_task(
            _stage(bootstrap, topics, hop, mongo_url if hop == 3 else None, database, stop)
        )
        for hop in (1, 2, 3)
    ]
    out = AIOKafkaConsumer(
        topics.name(4), bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await out.start()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    # Let the stage consumers join before the clock starts.
    await asyncio.sleep(3)
    started = time.perf_counter()
    try:
        await asyncio.gather(
            *[await producer.send(topics.name(1), value, key=key) for key, value in messages]
        )
        seen = 0
        deadline = time.monotonic() + timeout
        while seen < len(messages) and time.monotonic() < deadline:
            batch = await out.getmany(timeout_ms=200)
            seen += sum(len(records) for records in batch.values())
        elapsed = time.perf_counter() - started
        if seen < len(messages):
            raise RuntimeError(f"baseline saw {seen}/{len(messages)} within {timeout}s")
    finally:
        stop.set()
        await asyncio.gather(*stages, return_exceptions=True)
        await out.stop()
        await producer.stop()
    return len(messages) / elapsed
