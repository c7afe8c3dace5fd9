"""Notify's MongoDB adapter: deliveries, their open markers, attempts and outcomes.

All writes are inserts (one ``insert_many`` per batch, per collection), plus the
deletion of open markers once their outcomes are recorded:

- ``notify_deliveries`` (``_id`` = delivery id): what to deliver, written once when a
  trigger is accepted. The insert is the claim: of two instances (or a redelivered
  trigger, or a copy under another key) recording the same delivery, exactly one
  inserts it, and only that one attempts it. A duplicate key means "someone has it".
- ``notify_open`` (``_id`` = delivery id): a tiny marker per delivery without an
  outcome, with its partition; what a new owner loads when it takes the partition.
- ``notify_attempts`` (``<delivery id>#<n>``): each failed attempt that will be
  retried, so a new owner continues the count.
- ``notify_outcomes`` (``_id`` = delivery id): the final outcome, with the history.
Deliveries and outcomes are stored packed (``shared.mongo.packed_document``): they are
read only by ``_id``, and whole. The trigger is stored as the event carried it: the
reporter's phone masked and the contact sealed by intake (``shared.sealing``); it is
opened only when an alert to an agency is rendered, never stored in clear."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.operations import DeleteOne

from services.notify.planning import PlannedDelivery
from services.notify.triggers import Trigger
from shared.consuming import Origin
from shared.mongo import (
    Document,
    insert_new,
    packed_document,
    read_by_ids,
    unpacked,
    unpacked_document,
    write_all,
)

DELIVERIES = "notify_deliveries"
OPEN = "notify_open"
ATTEMPTS = "notify_attempts"
OUTCOMES = "notify_outcomes"

SENT, FAILED = "sent", "failed"


@dataclass(frozen=True)
class Taken:
    """What an owner finds when it takes partitions: deliveries still to attempt (with
    the attempts already made), and outcomes recorded but maybe never published."""

    open: list[tuple[Document, list[Document]]]
    finished: list[Document]


def _unpacked(found: dict[Any, Document]) -> dict[Any, Document]:
    return {key: unpacked_document(document) for key, document in found.items()}


class DeliveryStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.deliveries: AsyncCollection[Document] = db[DELIVERIES]
        self.open: AsyncCollection[Document] = db[OPEN]
        self.attempts: AsyncCollection[Document] = db[ATTEMPTS]
        self.outcomes: AsyncCollection[Document] = db[OUTCOMES]

    def delivery_document(
        self,
        planned: PlannedDelivery,
        trigger: Trigger,
        origin: Origin,
        *,
        partition: int,
        now: datetime,
        stored_trigger: str | None = None,
    ) -> Document:
        """``stored_trigger`` is ``trigger`` serialised, when the caller already has it
        (a trigger's deliveries share it); stored as JSON text, not a sub-document."""
        return {
            "_id": planned.delivery_id,
            "complaint_id": trigger.complaint_id,
            "responder_id": planned.responder_id,
            "channel": planned.channel,
            "channel_key": planned.channel_key,
            "reason": trigger.reason.value,
            "occasion": trigger.occasion,
            "trigger_event_id": trigger.event_id,
            "trigger": stored_trigger or trigger.model_dump_json(),
            "origin": {
                "topic": origin.topic,
                "partition": origin.partition,
                "offset": origin.offset,
            },
            "partition": partition,
            "created_at": now,
        }

    async def claim(self, deliveries: Sequence[Document]) -> set[str]:
        """Record deliveries; the ids this call recorded (the others someone has)."""
        if not deliveries:
            return set()
        # The open markers first: a crash in between leaves a marker whose delivery is
        # missing (dropped when loaded), never a delivery no owner will load.
        markers = [
            {"_id": d["_id"], "partition": d["partition"], "at": d["created_at"]}
            for d in deliveries
        ]
        still_open = {str(t) for t in await insert_new(self.open, markers)}
        taken = {
            str(t)
            for t in await insert_new(self.deliveries, list(map(packed_document, deliveries)))
        }
        # Recorded before and no marker left: finished long ago (a late redelivery).
        finished = [i for i in taken if i not in still_open]
        if finished:
            await self.close(finished)
        return {str(d["_id"]) for d in deliveries} - taken

    def trigger_of(self, document: Document) -> Trigger:
        stored = document["trigger"]
        if isinstance(stored, str):
            return Trigger.model_validate_json(stored)
        return Trigger.model_validate(unpacked(stored))

    async def take(self, partitions: Iterable[int], max_attempts: int) -> Taken:
        """The open deliveries of these partitions (one scan of the small open set)."""
        markers = [m async for m in self.open.find({"partition": {"$in": sorted(partitions)}})]
        ids = [str(m["_id"]) for m in markers]
        deliveries = _unpacked(await read_by_ids(self.deliveries, ids))
        finished = _unpacked(await read_by_ids(self.outcomes, ids))
        attempt_ids = [
            f"{i}#{n}" for i in ids if i not in finished for n in range(1, max_attempts + 1)
        ]
        made = await read_by_ids(self.attempts, attempt_ids)
        by_delivery: dict[str, list[Document]] = {}
        for attempt in made.values():
            by_delivery.setdefault(str(attempt["delivery_id"]), []).append(attempt)
        open_ = [
            (doc, sorted(by_delivery.get(i, []), key=lambda a: int(a["attempt"])))
            for i, doc in deliveries.items()
            if i not in finished
        ]
        stale = [i for i in ids if i not in deliveries and i not in finished]
        if stale:
            await self.close(stale)  # markers of deliveries a crash never recorded
        return Taken(open_, list(finished.values()))

    async def record_attempts(self, attempts: Sequence[Document]) -> None:
        await insert_new(self.attempts, attempts)

    async def record_outcomes(self, outcomes: Sequence[Document]) -> None:
        await insert_new(self.outcomes, list(map(packed_document, outcomes)))

    async def close(self, delivery_ids: Sequence[str]) -> None:
        await write_all(self.open, [DeleteOne({"_id": i}) for i in delivery_ids])

    async def outcome(self, delivery_id: str) -> Document | None:
        found = await self.outcomes.find_one({"_id": delivery_id})
        return None if found is None else unpacked_document(found)

    async def count_open(self) -> int:
        counted: Any = await self.open.count_documents({})
        return int(counted)
