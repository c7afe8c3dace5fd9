"""The owner of routing's partitions: their complaints in memory, their timers, and the
one path every change takes (consumed records and due timers alike).

For each batch of inputs: decide in memory (``decide.plan``), write a marker naming
the batch's versions, insert the versions (one ``insert_many``), send every event and
answer (one flush), then remove the marker. A duplicate key on a version is either
our own batch replayed (same cause: nothing to do) or another owner's write (then its
versions are adopted and the batch decided again on top of them)."""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.routing.decide import (
    Arrived,
    Context,
    Due,
    Input,
    Plan,
    Requested,
    plan,
    timer_after_nothing_due,
)
from services.routing.index import OpenIndex
from services.routing.policy import RoutingPolicy
from services.routing.state import ComplaintState, OutboxEntry
from services.routing.store import RoutingStore, VersionRecord, state_of, version_id
from shared.directory import Directory
from shared.events import ComplaintStatus, UpdateReply
from shared.mongo import now_ms
from shared.publishing import Publisher, Sends
from shared.topics import COMPLAINTS_REJECTED, ROUTING_REPLIES

log = logging.getLogger(__name__)

SERVICE = "routing"
CONFLICT_ROUNDS = 5
PRUNE_AFTER = timedelta(minutes=30)
"""A superseded version is kept this long: an old owner still finishing its last batch
must find it there (and lose), rather than write it again."""
RECHECK_BACKOFF = timedelta(minutes=1)


class ConflictError(RuntimeError):
    """Other owners kept changing these complaints under this batch."""


@dataclass(frozen=True)
class Publishers:
    """Where events go, by their public topic name."""

    by_topic: Mapping[str, Publisher]

    def __getitem__(self, topic: str) -> Publisher:
        return self.by_topic[topic]


@dataclass
class Owner:
    policy: RoutingPolicy
    directory: Directory
    store: RoutingStore
    index: OpenIndex
    publishers: Publishers
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    held: set[int] = field(default_factory=set)
    states: dict[str, ComplaintState] = field(default_factory=dict)
    partition_of: dict[str, int] = field(default_factory=dict)
    timers: list[tuple[datetime, str, int]] = field(default_factory=list)
    superseded: deque[tuple[float, str]] = field(default_factory=deque)
    timer_changed: asyncio.Event = field(default_factory=asyncio.Event)

    # -- ownership -----------------------------------------------------------------

    async def take(self, partitions: set[int]) -> None:
        loaded = await self.store.load(partitions)
        self.held |= partitions
        closed = [s for s in loaded.heads.values() if s.status == ComplaintStatus.CLOSED]
        if closed:
            # Closed before a crash could put them away.
            await self.store.put_away(closed, now_ms())
        for complaint_id, state in loaded.heads.items():
            if state.status == ComplaintStatus.CLOSED:
                self._supersede([version_id(complaint_id, state.version)])
                continue
            self.states[complaint_id] = state
            self.partition_of[complaint_id] = loaded.partitions[complaint_id]
            self._schedule(state)
        self._supersede(loaded.superseded)
        if loaded.unfinished:
            await self._finish_unfinished(loaded.unfinished)
        log.info(
            "partitions taken",
            extra={"partitions": sorted(partitions), "open_complaints": len(loaded.heads)},
        )

    async def give_up(self, partitions: set[int]) -> None:
        self.held -= partitions
        gone = [cid for cid, p in self.partition_of.items() if p in partitions]
        for complaint_id in gone:
            self.states.pop(complaint_id, None)
            self.partition_of.pop(complaint_id, None)
        self.timers = [t for t in self.timers if t[1] in self.states]
        heapq.heapify(self.timers)

    async def _finish_unfinished(self, markers: list[dict[str, object]]) -> None:
        """Send the events of versions whose batch died before its flush: copies of
        events that did go out carry the same ids, and consumers drop them."""
        ids = [str(v) for m in markers for v in m.get("versions", [])]  # type: ignore[attr-defined]
        stored = await self.store.read_versions(ids)
        sends = Sends(SERVICE)
        for doc in stored.values():
            await self._send_outbox(state_of(doc), sends)
        await sends.wait()
        for marker in markers:
            await self.store.finish(str(marker["_id"]))

    # -- the one path of every change ---------------------------------------------------

    async def apply(self, inputs: Sequence[tuple[int, Input]]) -> None:
        """Decide, write and publish one batch of inputs (each with its partition).

        Runs under ``lock`` (taken by the caller), so a rebalance never moves partitions
        in the middle of it."""
        if not inputs:
            return
        for partition, item in inputs:
            complaint_id = _complaint_of(item)
            if complaint_id is not None:
                self.partition_of.setdefault(complaint_id, partition)
        unknown = {
            cid for _, item in inputs if (cid := _complaint_of(item)) and cid not in self.states
        }
        closed = await self.store.closed_among(unknown) if unknown else set()
        # An update for a complaint this owner has not seen: during a rebalance the old
        # owner may have routed it after this one loaded the partition, and the update
        # can come in before the complaint's own record is read again here. Its stored
        # versions say so; only what truly does not exist is refused as unknown.
        strangers = {
            item.update.complaint_id
            for _, item in inputs
            if isinstance(item, Requested) and item.update.complaint_id in unknown - closed
        }
        for complaint_id in sorted(strangers):
            await self._adopt(complaint_id, 0)
        context = Context(self.policy, self.directory, self.index)
        items = [item for _, item in inputs]
        for _ in range(CONFLICT_ROUNDS):
            decided = plan(items, self.states, closed, context)
            if await self._commit(decided):
                return
        raise ConflictError("complaints kept changing under this batch")

    async def _commit(self, decided: Plan) -> bool:
        """Write and publish a plan; False when another owner's versions were adopted
        and the batch must be decided again."""
        now = now_ms()
        records = [
            VersionRecord(state, self.partition_of[cid], decided.cause(cid))
            for cid, state in decided.changed.items()
        ]
        marker_id = uuid.uuid4().hex
        if records:
            await self.store.begin(
                {
                    "_id": marker_id,
                    "partition": sorted({r.partition for r in records}),
                    "versions": [r.id for r in records],
                    "at": now,
                }
            )
        taken = await self.store.write(records, now)
        conflicts = [r for r in records if r.id in taken and taken[r.id]["cause"] != r.cause]
        if conflicts:
            for record in conflicts:
                await self._adopt(record.state.complaint_id, record.state.version - 1)
            await self.store.finish(marker_id)
            return False
        sends = Sends(SERVICE)
        for record in records:
            await self._send_outbox(record.state, sends)
        for reply in decided.replies:
            await _send_reply(self.publishers[ROUTING_REPLIES], reply, sends)
        for key, rejection in decided.rejections:
            await sends.add(
                self.publishers[COMPLAINTS_REJECTED],
                COMPLAINTS_REJECTED,
                rejection.model_dump_json().encode(),
                key,
            )
        await sends.wait()
        if records:
            await self.store.finish(marker_id)
        await self._settle([r.state for r in records])
        return True

    async def _adopt(self, complaint_id: str, known_version: int) -> None:
        """Take over the versions another owner wrote, and send their events again."""
        newer = await self.store.newest_versions(complaint_id, known_version)
        if not newer:
            return
        latest = state_of(newer[-1])
        sends = Sends(SERVICE)
        for doc in newer:
            await self._send_outbox(state_of(doc), sends)
        await sends.wait()
        log.warning(
            "another owner changed a complaint; taking its version",
            extra={"complaint_id": complaint_id, "version": latest.version},
        )
        await self._settle([latest])

    async def _settle(self, states: Sequence[ComplaintState]) -> None:
        """The batch is durable and published: it becomes the owner's state."""
        finished = [s for s in states if s.status == ComplaintStatus.CLOSED]
        if finished:
            await self.store.put_away(finished, now_ms())
        for state in states:
            previous = self.states.get(state.complaint_id)
            if previous is not None:
                self._supersede([version_id(state.complaint_id, previous.version)])
            if state.status == ComplaintStatus.CLOSED:
                self.states.pop(state.complaint_id, None)
                self._supersede([version_id(state.complaint_id, state.version)])
            else:
                self.states[state.complaint_id] = state
                self._schedule(state)

    async def _send_outbox(self, state: ComplaintState, sends: Sends) -> None:
        for entry in state.outbox:
            await _send_entry(self.publishers, entry, state.complaint_id, sends)

    # -- timers ------------------------------------------------------------------------

    def _schedule(self, state: ComplaintState) -> None:
        if state.next_check_at is None:
            return
        heapq.heappush(self.timers, (state.next_check_at, state.complaint_id, state.version))
        self.timer_changed.set()

    def due_inputs(self, now: datetime) -> list[tuple[int, Input]]:
        """Due timers of current versions, as inputs (popped from the heap)."""
        due: list[tuple[int, Input]] = []
        seen: set[str] = set()
        while self.timers and self.timers[0][0] <= now:
            at, complaint_id, version = heapq.heappop(self.timers)
            state = self.states.get(complaint_id)
            if state is None or state.version != version or complaint_id in seen:
                continue  # superseded: the newer version scheduled its own
            seen.add(complaint_id)
            due.append((self.partition_of[complaint_id], Due(complaint_id, at)))
        return due

    def reschedule_unchanged(self, due: Sequence[tuple[int, Input]]) -> None:
        """A timer that found nothing to do looks again later instead of every pass."""
        for _, item in due:
            assert isinstance(item, Due)
            state = self.states.get(item.complaint_id)
            if state is None or state.next_check_at is None or state.next_check_at > item.at:
                continue
            later = timer_after_nothing_due(state, self.policy, item.at + RECHECK_BACKOFF)
            if later is not None:
                state.next_check_at = later
                self._schedule(state)

    def next_timer(self) -> datetime | None:
        return self.timers[0][0] if self.timers else None

    # -- pruning ------------------------------------------------------------------------

    def _supersede(self, ids: Sequence[str]) -> None:
        stamp = time.monotonic()
        self.superseded.extend((stamp, i) for i in ids)

    def prunable(self) -> list[str]:
        cutoff = time.monotonic() - PRUNE_AFTER.total_seconds()
        ready: list[str] = []
        while self.superseded and self.superseded[0][0] <= cutoff:
            ready.append(self.superseded.popleft()[1])
        return ready


def _complaint_of(item: Input) -> str | None:
    if isinstance(item, Arrived):
        return item.received.complaint_id
    if isinstance(item, Requested):
        return item.update.complaint_id
    if isinstance(item, Due):
        return item.complaint_id
    return None


async def _send_entry(
    publishers: Publishers, entry: OutboxEntry, complaint_id: str, sends: Sends
) -> None:
    await sends.add(
        publishers[entry.topic], entry.topic, entry.payload.encode(), entry.key or complaint_id
    )


async def _send_reply(publisher: Publisher, reply: UpdateReply, sends: Sends) -> None:
    await sends.add(publisher, ROUTING_REPLIES, reply.model_dump_json().encode(), reply.request_id)
