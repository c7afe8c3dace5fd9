"""Partition ownership: one instance owns a partition and everything keyed to it.

Every topic a service joins is keyed by complaint id and has the same partition count,
and the subscriber uses the range assignor, which hands partition *i* of every topic to
the same member. So an instance that owns partition *i* owns every event of the
complaints hashed to *i*: it may keep their state in memory and be its only writer.

``OwnershipListener`` tells the service which partitions it holds. The eager protocol
revokes everything at the start of a rebalance and usually hands most of it back, so
state is not dropped on revocation: work stops (the service's lock is held) until the
new assignment is known, and only the partitions that really moved are released or
loaded. Loading runs inside the assignment callback, so no record of a partition is
handled before its state is in memory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Protocol

from aiokafka import ConsumerRebalanceListener
from aiokafka.partitioner import murmur2

log = logging.getLogger(__name__)


async def _until_done(load: Callable[[], Awaitable[None]]) -> None:
    """Loading must succeed before any record of the partition is handled: skipping it
    would let the consumer commit records nobody applied."""
    attempt = 0
    while True:
        attempt += 1
        try:
            await load()
            return
        except Exception:
            log.exception("loading owned partitions failed; retrying")
            await asyncio.sleep(min(5.0, 0.2 * 2**attempt))


def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner puts ``key`` in (murmur2, as in Java)."""
    hashed: int = murmur2(key.encode())
    return (hashed & 0x7FFFFFFF) % partitions


class PartitionOwner(Protocol):
    """A service's in-memory state, by owned partition number."""

    async def take(self, partitions: set[int]) -> None:
        """Load what the newly owned partitions hold (before any of their records)."""

    async def give_up(self, partitions: set[int]) -> None:
        """Forget what partitions owned by someone else now held."""


class OwnershipListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Keeps ``owner`` in step with the consumer's assignment, under ``lock``: the lock
    every piece of work on owned state takes (batches, timers), so none runs while a
    rebalance moves partitions."""

    def __init__(self, owner: PartitionOwner, lock: asyncio.Lock) -> None:
        self.owner = owner
        self.lock = lock
        self.held: set[int] = set()
        self._paused = False

    async def on_partitions_revoked(self, revoked: Collection[Any]) -> None:
        if not self._paused:
            # Waits for the batch or timer pass in flight, then holds work off until the
            # new assignment is known.
            await self.lock.acquire()
            self._paused = True

    async def on_partitions_assigned(self, assigned: Collection[Any]) -> None:
        partitions = {tp.partition for tp in assigned}
        if not self._paused:
            await self.lock.acquire()
            self._paused = True
        try:
            gone, new = self.held - partitions, partitions - self.held
            if gone:
                await self.owner.give_up(gone)
            if new:
                await _until_done(lambda: self.owner.take(new))
            self.held = partitions
            log.info(
                "partitions assigned",
                extra={"partitions": sorted(partitions), "new": sorted(new), "gone": sorted(gone)},
            )
        finally:
            self._paused = False
            self.lock.release()
