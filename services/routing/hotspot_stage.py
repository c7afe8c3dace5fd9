"""The hot-spot stage: the detector (``services.hotspots``) of the communities whose
signals partitions this instance owns, published with Kafka transactions.

Routing's owners send ``hotspots.signals`` keyed by community, so one detector sees
every complaint of a community. This stage consumes them in its own consumer group
(``gongzhi-hotspots``). For each batch of one partition it publishes, in one Kafka
transaction together with the consumed offsets: ``hotspots.detected`` for a hot spot
that opened, ``hotspots.closed`` for one that closed, and a ``routing.commands``
``hotspot`` command to the owner of every complaint that is in an open hot spot (its
acknowledge window is shortened). A crash aborts the transaction; the batch is read
again and the same changes are published again, once: readers use read_committed.

Why transactions here and nowhere else: a hot-spot event must exist exactly once on
the topic (not just once per event id), and this hop is Kafka to Kafka, which is
what Kafka's transactions cover. FastStream has no transactions, so this stage uses
aiokafka directly. aiokafka lacks KIP-447 (fencing by consumer group generation), so
each partition gets a transactional id of its own (``<group>-<partition>``): a new
owner's producer fences the old owner's, the pre-KIP-447 way.

Time passes by ticks: the stage sends a ``ClockTick`` into each partition it owns when
a hot spot is due to close (or every ``tick_seconds``), so closing is part of the
replayable input. When partitions are assigned, the detector is rebuilt by replaying
the partition up to its committed offset, publishing nothing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from pydantic import ValidationError

from services.hotspots.changes import Change, Joined, Opened
from services.hotspots.detector import Detector
from services.hotspots.messages import event_for
from services.hotspots.signals import ClockTick, parse_signal
from services.routing.policy import RoutingPolicy
from shared.access import HOTSPOT_GROUP
from shared.broker import admin_client_options
from shared.directory import Directory
from shared.events import RoutingCommand
from shared.ids import stable_id
from shared.settings import KafkaSettings
from shared.topics import HOTSPOTS_SIGNALS, ROUTING_COMMANDS

log = logging.getLogger(__name__)

TICK_KEY = "tick"


def outputs(
    changes: Sequence[Change], policy: RoutingPolicy, directory: Directory
) -> list[tuple[str, str, bytes]]:
    """``(topic, key, value)`` of everything the changes publish (public topic names)."""
    out: list[tuple[str, str, bytes]] = []
    factor = policy.hotspots.acknowledge_factor
    for change in changes:
        found = event_for(change, policy, directory)
        if found is not None:
            topic, event = found
            out.append((topic, event.hotspot_id, event.model_dump_json().encode()))
        members: list[str] = []
        if isinstance(change, Opened):
            members = change.hotspot.complaint_ids
        elif isinstance(change, Joined):
            members = [change.complaint_id]
        for complaint_id in members:
            command = RoutingCommand(
                command_id=stable_id("hotspot", change.hotspot.hotspot_id, complaint_id),
                kind="hotspot",
                complaint_id=complaint_id,
                hotspot_id=change.hotspot.hotspot_id,
                factor=factor,
                at=change.at,
            )
            out.append((ROUTING_COMMANDS, complaint_id, command.model_dump_json().encode()))
    return out


class _Partition:
    def __init__(self, detector: Detector, producer: AIOKafkaProducer) -> None:
        self.detector = detector
        self.producer = producer


class HotspotStage(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(
        self,
        settings: KafkaSettings,
        policy: RoutingPolicy,
        directory: Directory,
        *,
        tick_seconds: float = 30.0,
    ) -> None:
        self.settings = settings
        self.policy = policy
        self.directory = directory
        self.tick_seconds = tick_seconds
        self.group = settings.group(HOTSPOT_GROUP)
        self.signals_topic = settings.topic(HOTSPOTS_SIGNALS)
        self.owned: dict[int, _Partition] = {}
        self.lock = asyncio.Lock()
        self._paused = False
        self._consumer: AIOKafkaConsumer | None = None
        self._ticker: AIOKafkaProducer | None = None

    # -- running --------------------------------------------------------------------------

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            **admin_client_options(self.settings),
            group_id=self.group,
            client_id="routing-hotspots",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        ticker = AIOKafkaProducer(
            **admin_client_options(self.settings), acks="all", enable_idempotence=True
        )
        self._consumer, self._ticker = consumer, ticker
        consumer.subscribe([self.signals_topic], listener=self)
        await consumer.start()
        await ticker.start()
        ticks = asyncio.create_task(self._tick())
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=1000)
                async with self.lock:
                    for tp, records in batches.items():
                        if tp.partition in self.owned:
                            await self._handle(tp, records)
        finally:
            ticks.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await ticks
            for part in self.owned.values():
                with contextlib.suppress(Exception):
                    await part.producer.stop()
            with contextlib.suppress(Exception):
                await consumer.stop()
            with contextlib.suppress(Exception):
                await ticker.stop()

    async def _handle(self, tp: TopicPartition, records: Sequence[Any]) -> None:
        part = self.owned[tp.partition]
        changes: list[Change] = []
        for record in records:
            try:
                changes += part.detector.observe(parse_signal(record.value or b""))
            except ValidationError:
                log.warning("unreadable hot-spot signal skipped", extra={"offset": record.offset})
        producer = part.producer
        async with producer.transaction():
            for topic, key, value in outputs(changes, self.policy, self.directory):
                await producer.send(self.settings.topic(topic), value, key=key.encode())
            await producer.send_offsets_to_transaction({tp: records[-1].offset + 1}, self.group)
        for change in changes:
            log.info(
                "hot spot %s",
                change.type,
                extra={
                    "hotspot_id": change.hotspot.hotspot_id,
                    "category": change.hotspot.category,
                },
            )

    async def _tick(self) -> None:
        """Tell each owned partition that time passed, when a hot spot is due to close."""
        while True:
            await asyncio.sleep(1.0)
            now = datetime.now(UTC)
            for partition, part in list(self.owned.items()):
                due = part.detector.next_deadline()
                clock = part.detector.clock
                stale = clock is None or (now - clock).total_seconds() >= self.tick_seconds
                if (due is not None and due <= now) or stale:
                    tick = ClockTick(at=now, partition_key=TICK_KEY)
                    assert self._ticker is not None
                    with contextlib.suppress(Exception):
                        await self._ticker.send_and_wait(
                            self.signals_topic,
                            tick.model_dump_json().encode(),
                            key=TICK_KEY.encode(),
                            partition=partition,
                        )

    # -- ownership ------------------------------------------------------------------------

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        if not self._paused:
            await self.lock.acquire()
            self._paused = True

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        if not self._paused:
            await self.lock.acquire()
            self._paused = True
        try:
            wanted = {tp.partition for tp in assigned}
            for partition in set(self.owned) - wanted:
                part = self.owned.pop(partition)
                with contextlib.suppress(Exception):
                    await part.producer.stop()
            for partition in sorted(wanted - set(self.owned)):
                self.owned[partition] = await self._take(
                    TopicPartition(self.signals_topic, partition)
                )
        finally:
            self._paused = False
            self.lock.release()

    async def _take(self, tp: TopicPartition) -> _Partition:
        assert self._consumer is not None
        producer = AIOKafkaProducer(
            **admin_client_options(self.settings),
            transactional_id=f"{self.group}-{tp.partition}",
        )
        # Starting it fences the producer of the partition's previous owner, and aborts
        # whatever transaction that one left open.
        await producer.start()
        committed = await self._consumer.committed(tp)
        detector = Detector(self.policy.hotspots)
        replayed = await self._replay(tp, committed or 0, detector)
        log.info(
            "hot-spot partition taken", extra={"partition": tp.partition, "replayed": replayed}
        )
        return _Partition(detector, producer)

    async def _replay(self, tp: TopicPartition, until: int, detector: Detector) -> int:
        """Rebuild the detector from the partition's signals before ``until``: what was
        published from them is already on the topics."""
        if until <= 0:
            return 0
        reader = AIOKafkaConsumer(
            **admin_client_options(self.settings),
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        await reader.start()
        count = 0
        try:
            reader.assign([tp])
            await reader.seek_to_beginning(tp)
            end = (await reader.end_offsets([tp]))[tp]
            while await reader.position(tp) < min(until, end):
                batch = await reader.getmany(tp, timeout_ms=1000, max_records=5000)
                for record in batch.get(tp, []):
                    if record.offset >= until:
                        break
                    with contextlib.suppress(ValidationError):
                        detector.observe(parse_signal(record.value or b""))
                    count += 1
        finally:
            await reader.stop()
        return count
