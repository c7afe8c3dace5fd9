"""Routing's MongoDB adapter: one document per complaint in ``routing_complaints``.

Every change is a single-document write decided from one version of the complaint
(optimistic concurrency): of two routing copies that decide on the same version,
exactly one write lands and the other re-reads. That is what makes each escalation
level happen once and a complaint be routed once, without transactions (FerretDB has
none). The events a change causes travel in the same write (``outbox``).

FerretDB v1 does not make a conditional update atomic (two racing ``update_one`` calls
with the same version filter can both match), but it does make a unique ``_id``
insert atomic. So the right to write version N+1 is taken first by inserting
``<complaint id>:<N+1>`` into ``routing_versions``; only the winner writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.routing.state import OPEN_STATUSES, ComplaintState, OutboxEntry

Document = dict[str, Any]
COLLECTION = "routing_complaints"
VERSIONS = "routing_versions"
VERSION_CLAIM_LEASE = timedelta(seconds=30)
"""A version claimed this long ago whose write never landed was claimed by a copy that
died in between; the version is freed so the complaint does not freeze."""


def _to_document(state: ComplaintState) -> Document:
    document = state.model_dump(mode="python")
    document["_id"] = document.pop("complaint_id")
    return document


def _from_document(document: Document) -> ComplaintState:
    return ComplaintState.model_validate({**document, "complaint_id": document["_id"]})


class RoutingStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.complaints = db[COLLECTION]
        self.versions = db[VERSIONS]

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
        if not await self._claim_version(changed.complaint_id, stored.version):
            return None
        fields = _to_document(stored)
        del fields["_id"], fields["outbox"]
        known = {e.event_id for e in since.outbox}
        added = [e.model_dump(mode="python") for e in changed.outbox if e.event_id not in known]
        result = await self.complaints.update_one(
            {"_id": changed.complaint_id, "version": changed.version},
            {"$set": fields, "$push": {"outbox": {"$each": added}}},
        )
        return stored if result.matched_count == 1 else None

    async def _claim_version(self, complaint_id: str, version: int) -> bool:
        """Take the only right to write ``version`` of a complaint (unique insert)."""
        key = f"{complaint_id}:{version}"
        now = datetime.now(UTC)
        try:
            await self.versions.insert_one({"_id": key, "claimed_at": now})
        except DuplicateKeyError:
            claim = await self.versions.find_one({"_id": key})
            current = await self.complaints.find_one({"_id": complaint_id})
            orphaned = (
                claim is not None
                and claim["claimed_at"] < now - VERSION_CLAIM_LEASE
                and current is not None
                and current["version"] == version - 1
            )
            if not orphaned:
                return False
            assert claim is not None
            await self.versions.delete_one({"_id": key, "claimed_at": claim["claimed_at"]})
            try:
                await self.versions.insert_one({"_id": key, "claimed_at": now})
            except DuplicateKeyError:
                return False
        return True

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
