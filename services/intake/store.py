"""Intake's records in MongoDB: accepted submissions, in-flight ones, idempotency keys.

Before a complaint's event is published, a marker holding the event goes into
``intake_pending``; the complaint id is then claimed in ``intake_submissions``
(a unique insert, the only write FerretDB makes atomic). After publishing, the
claim is marked published and the marker deleted. A marker left behind by a crash
is re-published by the relay with the same event id, so nothing accepted is lost
and consumers can drop the copy. The relay reads only the small pending collection:
FerretDB filters anything but ``_id`` by reading the whole collection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

Document = dict[str, Any]


@dataclass(frozen=True)
class Claim:
    complaint_id: str
    won: bool
    """True when this call inserted the record and must publish the event."""
    published: bool
    body_hash: str


class IntakeStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.submissions = db["intake_submissions"]
        self.pending = db["intake_pending"]
        self.idempotency = db["intake_idempotency_keys"]

    async def prepare(self) -> None:
        """Nothing to index: every hot read is by ``_id``."""

    async def hold(self, complaint_id: str, body_hash: str, event_json: str) -> bool:
        """Keep the event until it is published; False when a marker was already there."""
        try:
            await self.pending.insert_one(
                {
                    "_id": complaint_id,
                    "body_hash": body_hash,
                    "event": event_json,
                    "held_at": datetime.now(UTC),
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def release(self, complaint_id: str) -> None:
        await self.pending.delete_one({"_id": complaint_id})

    async def claim(self, complaint_id: str, body_hash: str) -> Claim:
        try:
            await self.submissions.insert_one(
                {"_id": complaint_id, "body_hash": body_hash, "published": False}
            )
        except DuplicateKeyError:
            existing = await self.submissions.find_one({"_id": complaint_id})
            if existing is None:  # removed between the two calls: treat as new next time
                raise
            return Claim(
                complaint_id, False, bool(existing.get("published")), existing["body_hash"]
            )
        return Claim(complaint_id, True, False, body_hash)

    async def mark_published(self, complaint_id: str, body_hash: str) -> None:
        await self.submissions.update_one(
            {"_id": complaint_id},
            {
                "$set": {"published": True, "published_at": datetime.now(UTC)},
                "$setOnInsert": {"body_hash": body_hash},
            },
            upsert=True,
        )

    async def stale_pending(self, older_than: timedelta, limit: int = 500) -> list[Document]:
        """Markers held longer than ``older_than``: their publisher probably died.

        Two intake copies may both re-publish one (FerretDB has no atomic claim by
        condition); the copy carries the same event id, which consumers drop."""
        cutoff = datetime.now(UTC) - older_than
        return [doc async for doc in self.pending.find({"held_at": {"$lt": cutoff}}, limit=limit)]

    async def remember_idempotency_key(
        self, scoped_key: str, body_hash: str, complaint_id: str
    ) -> Document:
        """Store the key's first use; return the record that holds (ours or an earlier one)."""
        record = {
            "_id": scoped_key,
            "body_hash": body_hash,
            "complaint_id": complaint_id,
            "created_at": datetime.now(UTC),
        }
        try:
            await self.idempotency.insert_one(record)
        except DuplicateKeyError:
            existing = await self.idempotency.find_one({"_id": scoped_key})
            if existing is not None:
                return existing
            raise
        return record

    async def forget_idempotency_keys_before(self, cutoff: datetime) -> int:
        result = await self.idempotency.delete_many({"created_at": {"$lt": cutoff}})
        return result.deleted_count
