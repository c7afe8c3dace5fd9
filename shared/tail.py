"""Reading topics whole, outside any consumer group: every partition, from a point in
time or from the end, for views each instance keeps of all complaints (routing's open
complaints, intake's update answers).

FastStream's subscribers join groups or start at the earliest or latest offset; a view
of "the last 24 hours of every partition" needs aiokafka's ``offsets_for_times``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from shared.broker import admin_client_options
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)

OnRecords = Callable[[Sequence[Any]], Awaitable[None]]


class TopicTail:
    """Follows ``topics`` and hands every batch of records to ``on_records``.

    ``since`` None starts at the end (only what is published from now on). ``ready``
    is set once the records that were already there when it started are handed over."""

    def __init__(
        self,
        settings: KafkaSettings,
        topics: Sequence[str],
        on_records: OnRecords,
        *,
        since: timedelta | None = None,
        client_id: str = "gongzhi-tail",
    ) -> None:
        self.settings = settings
        self.topics = list(topics)
        self.on_records = on_records
        self.since = since
        self.client_id = client_id
        self.ready = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError):
                log.exception("tail of %s broke off; starting again", self.topics)
                await asyncio.sleep(1.0)

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(
            **admin_client_options(self.settings),
            client_id=self.client_id,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
        )
        await consumer.start()
        try:
            partitions = await self._partitions()
            consumer.assign(partitions)
            await self._seek(consumer, partitions)
            ends = await consumer.end_offsets(partitions)
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=2000)
                records = [r for part in batches.values() for r in part]
                if records:
                    await self.on_records(records)
                if not self.ready.is_set() and all(
                    await asyncio.gather(*(_reached(consumer, tp, ends[tp]) for tp in partitions))
                ):
                    self.ready.set()
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _partitions(self) -> list[TopicPartition]:
        admin = AIOKafkaAdminClient(**admin_client_options(self.settings))
        await admin.start()
        try:
            deadline = time.monotonic() + 30
            while True:
                described = {t["topic"]: t for t in await admin.describe_topics(self.topics)}
                counts = {t: len(described.get(t, {}).get("partitions") or []) for t in self.topics}
                if all(counts.values()):
                    return [TopicPartition(t, n) for t in self.topics for n in range(counts[t])]
                if time.monotonic() > deadline:
                    raise KafkaError(f"topics without partitions: {counts}")
                await asyncio.sleep(0.5)
        finally:
            await admin.close()

    async def _seek(self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> None:
        if self.since is None:
            await consumer.seek_to_end(*partitions)
            return
        start_ms = int((time.time() - self.since.total_seconds()) * 1000)
        found = await consumer.offsets_for_times(dict.fromkeys(partitions, start_ms))
        for tp in partitions:
            at = found.get(tp)
            if at is None:  # nothing that recent: only what comes next
                await consumer.seek_to_end(tp)
            else:
                consumer.seek(tp, at.offset)


async def _reached(consumer: AIOKafkaConsumer, tp: TopicPartition, end: int) -> bool:
    return int(await consumer.position(tp)) >= end
