"""The fair baseline: Gongzhi's hops and writes in plain aiokafka + PyMongo, one process
per stage, as the ceiling the services are compared to.

    ingress ─ intake ─▶ received ─ routing ─▶ routed ─ notify ─▶ outcomes
                 │          │         │          │        │           │
                 ▼          └─────────┼──────────┴─ stats ◀───────────┘
         1 submission        1 version       per alert: 1 open    1 complaint part
                                             marker, 1 delivery,  per batch that
                                             1 outcome; markers   touches it
                                             deleted at the end

Each stage consumes a batch (up to 500 records), decides in memory, writes each of its
collections once per batch (``insert_many(ordered=False)`` of documents whose ``_id``
derives from the message, or for stats from the complaint and its count of parts),
sends every event without awaiting each (``acks="all"``,
idempotent producer, the services' linger), awaits them together and commits
once. A replayed batch writes the same documents (duplicate keys are the answer, not an
error) and sends the same event ids. No framework, no validation beyond JSON, no real
HTTP or SMTP: notify's "delivery" is recording it and its outcome, in the order of
notify's store (open markers, deliveries; outcomes, events, then the markers deleted).

``python -m devtools.bench.baseline STAGE --bootstrap … --mongodb-url …`` runs one stage
until SIGTERM; it prints a JSON line on stdout when it is ready and after each batch
(``devtools.bench.baseline_runner`` reads them)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import struct
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from pymongo import AsyncMongoClient, DeleteOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)

from services.stats.parts import part_id
from shared.ids import complaint_id_for, stable_id
from shared.settings import KafkaSettings

STAGES = ("intake", "routing", "notify", "stats")
BATCH_RECORDS = 500
"""The services' ``batch_max_records`` default."""
KAFKA_DEFAULTS = KafkaSettings()
"""The services' producer and consumer defaults (``KAFKA_LINGER_MS``, ``KAFKA_FETCH_WAIT_MS`` ...)."""
STATEMENTS_PER_COMMAND = 99
"""Below unpatched FerretDB v1's limit for updates of existing documents (shared/mongo.py)."""
DUPLICATE_KEY = 11000
SENT_HEADER = "x-bench-sent"
"""``time.monotonic()`` when the load generator handed the message to its producer."""
ALERTED_HEADER = "x-bench-alerted"
"""``time.monotonic()`` when notify recorded the outcomes (the baseline's alert)."""

Document = dict[str, Any]
Outgoing = tuple[str, bytes, bytes, list[tuple[str, bytes]]]
"""``(topic, key, value, headers)``."""


@dataclass(frozen=True)
class Shape:
    """How many documents each stage writes per message: the pipeline's count with the
    fallback desk alerted by webhook and e-mail (see docs/benchmarks.md)."""

    deliveries: int = 2

    def documents(self) -> dict[str, int]:
        """Written per message (inserted or upserted)."""
        return {
            "intake": 1,
            "routing": 1,
            # A delivery, its open marker and its outcome per alert.
            "notify": 3 * self.deliveries,
            # A part of the complaint's facts per batch that brings it any (a message's
            # events may come in one batch or in several: counted as one here).
            "stats": 1,
        }

    def deleted(self) -> dict[str, int]:
        """Deleted again per message: notify's open markers, once the outcomes are out."""
        return {"notify": self.deliveries}

    def kept(self) -> dict[str, int]:
        deleted = self.deleted()
        return {stage: n - deleted.get(stage, 0) for stage, n in self.documents().items()}


@dataclass(frozen=True)
class Topics:
    prefix: str

    @property
    def ingress(self) -> str:
        return f"{self.prefix}baseline.ingress"

    @property
    def received(self) -> str:
        return f"{self.prefix}baseline.received"

    @property
    def routed(self) -> str:
        return f"{self.prefix}baseline.routed"

    @property
    def outcomes(self) -> str:
        return f"{self.prefix}baseline.outcomes"

    def inputs(self, stage: str) -> tuple[str, ...]:
        return {
            "intake": (self.ingress,),
            "routing": (self.received,),
            "notify": (self.routed,),
            "stats": (self.received, self.routed, self.outcomes),
        }[stage]

    def all(self) -> tuple[str, ...]:
        return (self.ingress, self.received, self.routed, self.outcomes)


KEYWORDS = (
    ("充電", "flying_wire_charging"),
    ("充电", "flying_wire_charging"),
    ("消防", "fire_access_blocked"),
    ("通道", "fire_access_blocked"),
    ("停車", "parking_disorder"),
    ("停车", "parking_disorder"),
    ("垃圾", "sanitation"),
    ("電梯", "facility_repair"),
    ("电梯", "facility_repair"),
    ("物業", "property_inaction"),
    ("物业", "property_inaction"),
)


def categorise(text: str) -> str:
    return next((code for word, code in KEYWORDS if word in text), "other")


def stamp(at: float) -> bytes:
    return struct.pack(">d", at)


def unstamp(value: bytes) -> float:
    return float(struct.unpack(">d", value)[0])


def headers_of(record: ConsumerRecord) -> list[tuple[str, bytes]]:
    return list(record.headers or ())


@dataclass
class Batch:
    """What one stage makes of a consumed batch: documents to insert by collection,
    events to send, and documents to delete once the events are out."""

    inserts: dict[str, list[Document]] = field(default_factory=dict)
    sends: list[Outgoing] = field(default_factory=list)
    deletes: dict[str, list[str]] = field(default_factory=dict)


def intake(records: Sequence[ConsumerRecord], topics: Topics, now: datetime) -> Batch:
    batch = Batch(inserts={"baseline_submissions": []})
    for record in records:
        value = orjson.loads(record.value)
        complaint_id = complaint_id_for(value["source"], value["source_ref"])
        batch.inserts["baseline_submissions"].append(
            {
                "_id": complaint_id,
                "source": value["source"],
                "source_ref": value["source_ref"],
                "accepted_at": now,
            }
        )
        event = {
            **value,
            "event_id": stable_id(complaint_id, "received"),
            "complaint_id": complaint_id,
            "occurred_at": now.isoformat(),
        }
        batch.sends.append(
            (topics.received, complaint_id.encode(), orjson.dumps(event), headers_of(record))
        )
    return batch


def routing(records: Sequence[ConsumerRecord], topics: Topics, now: datetime) -> Batch:
    batch = Batch(inserts={"baseline_versions": []})
    for record in records:
        received = orjson.loads(record.value)
        complaint_id = received["complaint_id"]
        category = received.get("category") or categorise(received["description"])
        state = {
            "complaint_id": complaint_id,
            "compound_id": received["compound_id"],
            "category": category,
            "lead": "fallback-desk",
            "status": "routed",
        }
        batch.inserts["baseline_versions"].append(
            {"_id": f"{complaint_id}:00000001", "state": state, "written_at": now}
        )
        event = {**state, "event_id": stable_id(complaint_id, "routed"), "at": now.isoformat()}
        batch.sends.append(
            (topics.routed, complaint_id.encode(), orjson.dumps(event), headers_of(record))
        )
    return batch


def delivery_ids(complaint_id: str, shape: Shape) -> list[str]:
    return [stable_id(complaint_id, "delivery", index) for index in range(shape.deliveries)]


def notify_deliveries(records: Sequence[ConsumerRecord], now: datetime, shape: Shape) -> Batch:
    """The deliveries of a batch, recorded before any is attempted: the open markers
    first, then the deliveries (``write(..., in_order=True)``), as notify's store does."""
    batch = Batch(inserts={"baseline_open": [], "baseline_deliveries": []})
    for record in records:
        routed = orjson.loads(record.value)
        complaint_id = routed["complaint_id"]
        title = f"[{routed['category']}] {routed['compound_id']}: {complaint_id}"
        for index, delivery_id in enumerate(delivery_ids(complaint_id, shape)):
            batch.inserts["baseline_open"].append({"_id": delivery_id, "at": now})
            batch.inserts["baseline_deliveries"].append(
                {
                    "_id": delivery_id,
                    "complaint_id": complaint_id,
                    "index": index,
                    "title": title,
                    "recorded_at": now,
                }
            )
    return batch


def notify_outcomes(
    records: Sequence[ConsumerRecord], topics: Topics, shape: Shape, alerted: float
) -> Batch:
    """The outcomes of a batch's deliveries ("sent": the baseline sends nothing), to
    record and publish; their open markers are deleted once the outcomes are out."""
    batch = Batch(inserts={"baseline_outcomes": []}, deletes={"baseline_open": []})
    for record in records:
        complaint_id = orjson.loads(record.value)["complaint_id"]
        for index, delivery_id in enumerate(delivery_ids(complaint_id, shape)):
            outcome = {
                "event_id": stable_id(delivery_id, "sent"),
                "delivery_id": delivery_id,
                "complaint_id": complaint_id,
                "index": index,
                "outcome": "sent",
            }
            batch.inserts["baseline_outcomes"].append({"_id": delivery_id, **outcome})
            batch.deletes["baseline_open"].append(delivery_id)
            batch.sends.append(
                (
                    topics.outcomes,
                    complaint_id.encode(),
                    orjson.dumps(outcome),
                    [*headers_of(record), (ALERTED_HEADER, stamp(alerted))],
                )
            )
    return batch


@dataclass
class Completion:
    """Which of a message's events the counting stage has stored: done when its received,
    its routed and every outcome are in."""

    deliveries: int
    seen: dict[str, int] = field(default_factory=dict)
    done: int = 0

    def full(self) -> int:
        return (1 << (2 + self.deliveries)) - 1

    def add(self, complaint_id: str, bit: int) -> bool:
        mask = self.seen.get(complaint_id, 0) | (1 << bit)
        if mask == self.full():
            self.seen.pop(complaint_id, None)
            self.done += 1
            return True
        self.seen[complaint_id] = mask
        return False


def stats(
    records: Sequence[ConsumerRecord],
    topics: Topics,
    completion: Completion,
    parts: dict[str, int],
) -> tuple[Batch, list[tuple[str, int, float | None]]]:
    """One new part per complaint for the whole batch (its new event and delivery facts,
    and the periods they fall in, inserted as stats' store does; ``parts`` counts each
    complaint's parts so far), and what the batch completes once stored:
    ``(complaint id, event bit, latency ms)``."""
    events: dict[str, Document] = {}
    notified: dict[str, Document] = {}
    periods: dict[str, set[str]] = {}
    partitions: dict[str, int] = {}
    marks: list[tuple[str, int, float | None]] = []
    for record in records:
        event = orjson.loads(record.value)
        complaint_id = event["complaint_id"]
        latency = None
        if record.topic == topics.received:
            events.setdefault(complaint_id, {})[event["event_id"]] = {
                "type": "received",
                "at": event["occurred_at"],
                "channel": event["channel"],
            }
            periods.setdefault(complaint_id, set()).update(_periods(event["occurred_at"]))
            bit = 0
        elif record.topic == topics.routed:
            events.setdefault(complaint_id, {})[event["event_id"]] = {
                "type": "routed",
                "at": event["at"],
                "lead": event["lead"],
            }
            bit = 1
        else:
            notified.setdefault(complaint_id, {})[event["delivery_id"]] = {
                "outcome": event["outcome"]
            }
            bit = 2 + int(event["index"])
            found = dict(headers_of(record))
            if SENT_HEADER in found and ALERTED_HEADER in found:
                latency = (unstamp(found[ALERTED_HEADER]) - unstamp(found[SENT_HEADER])) * 1000
        partitions[complaint_id] = record.partition
        marks.append((complaint_id, bit, latency))
    documents = []
    for complaint_id, partition in partitions.items():
        number = parts.get(complaint_id, 0)
        parts[complaint_id] = number + 1
        documents.append(
            {
                "_id": part_id(complaint_id, number),
                "complaint_id": complaint_id,
                "part": number,
                "partition": partition,
                "events": events.get(complaint_id, {}),
                "notified": notified.get(complaint_id, {}),
                "periods": sorted(periods.get(complaint_id, ())),
            }
        )
    return Batch(inserts={"baseline_complaints": documents}), marks


def _periods(at: str) -> set[str]:
    """The day and the month of an ISO time (``2026-11-28``, ``2026-11``)."""
    return {at[:10], at[:7]}


class CommandCount(CommandListener):
    def __init__(self) -> None:
        self.count = 0

    def started(self, event: CommandStartedEvent) -> None:
        self.count += 1

    def succeeded(self, event: CommandSucceededEvent) -> None:
        pass

    def failed(self, event: CommandFailedEvent) -> None:
        pass


async def insert_new(db: AsyncDatabase[Document], name: str, documents: list[Document]) -> None:
    if not documents:
        return
    try:
        await db[name].insert_many(documents, ordered=False)
    except BulkWriteError as exc:
        if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
            raise


async def delete_all(db: AsyncDatabase[Document], name: str, ids: list[str]) -> None:
    for start in range(0, len(ids), STATEMENTS_PER_COMMAND):
        part = ids[start : start + STATEMENTS_PER_COMMAND]
        await db[name].bulk_write([DeleteOne({"_id": i}) for i in part], ordered=False)


async def write(db: AsyncDatabase[Document], batch: Batch, *, in_order: bool = False) -> None:
    """Each collection once: side by side, or one after the other ``in_order``."""
    writes: list[Awaitable[None]] = [
        *(insert_new(db, name, docs) for name, docs in batch.inserts.items()),
    ]
    if in_order:
        for one in writes:
            await one
    else:
        await asyncio.gather(*writes)


Say = Callable[[dict[str, Any]], None]


def say_on_stdout(message: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(message) + b"\n")
    sys.stdout.buffer.flush()


async def run_stage(
    stage: str,
    *,
    bootstrap: str,
    mongodb_url: str,
    database: str,
    topics: Topics,
    shape: Shape,
    stop: asyncio.Event,
    say: Say = say_on_stdout,
) -> None:
    """Consume, decide, write, send and commit batch after batch until ``stop``."""
    consumer = AIOKafkaConsumer(
        *topics.inputs(stage),
        bootstrap_servers=bootstrap,
        group_id=f"{topics.prefix}baseline-{stage}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=BATCH_RECORDS,
        # Gathered as the services' consumers gather theirs.
        fetch_max_wait_ms=KAFKA_DEFAULTS.fetch_wait_ms,
        fetch_min_bytes=KAFKA_DEFAULTS.fetch_min_bytes,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=KAFKA_DEFAULTS.linger_ms,
    )
    commands = CommandCount()
    mongo: AsyncMongoClient[Document] = AsyncMongoClient(
        mongodb_url, retryWrites=False, tz_aware=True, event_listeners=[commands]
    )
    db = mongo[database]
    completion = Completion(shape.deliveries)
    parts: dict[str, int] = {}
    handled = 0
    await producer.start()
    await consumer.start()
    try:
        while not consumer.assignment() and not stop.is_set():
            await consumer.getmany(timeout_ms=100)
        say({"stage": stage, "ready": True})
        while not stop.is_set():
            fetched = await consumer.getmany(timeout_ms=100, max_records=BATCH_RECORDS)
            records = [record for part in fetched.values() for record in part]
            if not records:
                continue
            now = datetime.now(UTC)
            began = time.perf_counter()
            marks: list[tuple[str, int, float | None]] = []
            if stage == "intake":
                batch = intake(records, topics, now)
            elif stage == "routing":
                batch = routing(records, topics, now)
            elif stage == "notify":
                await write(db, notify_deliveries(records, now, shape), in_order=True)
                batch = notify_outcomes(records, topics, shape, time.monotonic())
            else:
                batch, marks = stats(records, topics, completion, parts)
            await write(db, batch)
            written = time.perf_counter()
            sent = [
                await producer.send(topic, value, key=key, headers=headers)
                for topic, key, value, headers in batch.sends
            ]
            await asyncio.gather(*sent)
            await asyncio.gather(*(delete_all(db, n, ids) for n, ids in batch.deletes.items()))
            acknowledged = time.perf_counter()
            await consumer.commit()
            committed = time.perf_counter()
            handled += len(records)
            latencies = [
                round(latency, 2)
                for complaint_id, bit, latency in marks
                if completion.add(complaint_id, bit) and latency is not None
            ]
            say(
                {
                    "stage": stage,
                    "records": handled,
                    "commands": commands.count,
                    "done": completion.done,
                    "latencies_ms": latencies,
                    "batch": len(records),
                    "write_ms": round((written - began) * 1000, 2),
                    "send_ms": round((acknowledged - written) * 1000, 2),
                    "commit_ms": round((committed - acknowledged) * 1000, 2),
                }
            )
    finally:
        await consumer.stop()
        await producer.stop()
        await mongo.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run one stage of the fair baseline.")
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--mongodb-url", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--deliveries", type=int, default=Shape().deliveries)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    async def serve() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await run_stage(
            args.stage,
            bootstrap=args.bootstrap,
            mongodb_url=args.mongodb_url,
            database=args.database,
            topics=Topics(args.prefix),
            shape=Shape(args.deliveries),
            stop=stop,
        )

    asyncio.run(serve())


if __name__ == "__main__":
    main()
