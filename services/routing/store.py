"""Routing's MongoDB adapter: one document per complaint in ``routing_complaints``.

Every change is a single-document write conditioned on the version it was decided
from (optimistic concurrency): of two routing copies that decide on the same
version, exactly one write lands and the other re-reads. That is what makes each
escalation level happen once and a complaint be routed once, without transactions
(FerretDB has none). The events a change causes travel in the same write (``outbox``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.routing.state import OPEN_STATUSES, ComplaintState, OutboxEntry

Document = dict[str, Any]
COLLECTION = "routing_complaints"


def _to_document(state: ComplaintState) -> Document:
    document = state.model_dump(mode="python")
    document["_id"] = document.pop("complaint_id")
    return document


def _from_document(document: Document) -> ComplaintState:
    return ComplaintState.model_validate({**document, "complaint_id": document["_id"]})


class RoutingStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.complaints = db[COLLECTION]

    async def prepare(self) -> None:
        await self.complaints.create_index([("next_check_at", ASCENDING)])
        await self.complaints.create_index(
            [
                ("summary.compound_id", ASCENDING),
                ("summary.category", ASCENDING),
                ("received_at", ASCENDING),
            ]
        )

    async def get(self, complaint_id: str) -> ComplaintState | None:
        document = await self.complaints.find_one({"_id": complaint_id})
        return _from_document(document) if document else None

    async def insert(self, state: ComplaintState) -> ComplaintState | None:
        """Store a new complaint; None if another copy stored it first."""
        stored = state.model_copy(update={"version": 1})
        try:
            await self.complaints.insert_one(_to_document(stored))
        except DuplicateKeyError:
            return None
        return stored

    async def replace(
        self, changed: ComplaintState, since: ComplaintState
    ) -> ComplaintState | None:
        """Write ``changed`` if the stored version is still the one it was decided
        from (``since``); None if another change landed first.

        The events ``changed`` added are pushed onto the stored outbox rather than the
        whole outbox written back, so an entry published and removed meanwhile does
        not come back."""
        stored = changed.model_copy(update={"version": changed.version + 1})
        fields = _to_document(stored)
        del fields["_id"], fields["outbox"]
        known = {e.event_id for e in since.outbox}
        added = [e.model_dump(mode="python") for e in changed.outbox if e.event_id not in known]
        result = await self.complaints.update_one(
            {"_id": changed.complaint_id, "version": changed.version},
            {"$set": fields, "$push": {"outbox": {"$each": added}}},
        )
        return stored if result.matched_count == 1 else None

    async def open_candidates(
        self, compound_id: str, category: str, since: datetime, limit: int = 50
    ) -> list[ComplaintState]:
        """Open complaints of one compound and category received since ``since``."""
        cursor = self.complaints.find(
            {
                "summary.compound_id": compound_id,
                "summary.category": category,
                "received_at": {"$gte": since},
                "status": {"$in": [s.value for s in OPEN_STATUSES]},
            },
            limit=limit,
        )
        return [_from_document(d) async for d in cursor]

    async def due_for_check(self, now: datetime, limit: int = 100) -> list[ComplaintState]:
        cursor = self.complaints.find(
            {"next_check_at": {"$lte": now}}, sort=[("next_check_at", ASCENDING)], limit=limit
        )
        return [_from_document(d) async for d in cursor]

    async def with_unpublished(self, limit: int = 100) -> list[ComplaintState]:
        cursor = self.complaints.find({"outbox": {"$ne": []}}, limit=limit)
        return [_from_document(d) async for d in cursor]

    async def mark_published(self, complaint_id: str, entries: list[OutboxEntry]) -> None:
        # $pullAll of the exact entries: FerretDB v1 has no $pull by condition. No
        # version bump: publishing does not change the complaint, and a concurrent change
        # must not fail for it. At worst an entry is published twice, with the same event
        # id, which consumers drop.
        await self.complaints.update_one(
            {"_id": complaint_id},
            {"$pullAll": {"outbox": [e.model_dump(mode="python") for e in entries]}},
        )
