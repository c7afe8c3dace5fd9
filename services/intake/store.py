"""Intake's records in MongoDB: accepted submissions and idempotency keys.

A submission is *claimed* (inserted, unique by complaint id) before its event is
published and marked *published* after; a claim left unpublished by a crash is
re-published by the relay with the same event id, so nothing accepted is lost and
consumers can drop the copy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING
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
        self.idempotency = db["intake_idempotency_keys"]

    async def prepare(self) -> None:
        await self.submissions.create_index([("published", ASCENDING), ("claimed_at", ASCENDING)])

    async def claim(self, complaint_id: str, body_hash: str, event_json: str) -> Claim:
        now = datetime.now(UTC)
        try:
            await self.submissions.insert_one(
                {
                    "_id": complaint_id,
                    "body_hash": body_hash,
                    "event": event_json,
                    "published": False,
                    "claimed_at": now,
                }
            )
        except DuplicateKeyError:
            existing = await self.submissions.find_one({"_id": complaint_id})
            if existing is None:  # removed between the two calls: treat as new next time
                raise
            return Claim(
                complaint_id, False, bool(existing.get("published")), existing["body_hash"]
            )
        return Claim(complaint_id, True, False, body_hash)

    async def mark_published(self, complaint_id: str) -> None:
        # The stored event holds the reporter's phone: drop it once Kafka has it.
        await self.submissions.update_one(
            {"_id": complaint_id},
            {
                "$set": {"published": True, "published_at": datetime.now(UTC)},
                "$unset": {"event": ""},
            },
        )

    async def take_stale_claims(self, lease: timedelta, limit: int = 100) -> list[Document]:
        """Unpublished claims older than ``lease``, re-leased so that a copy usually
        leaves the others alone. FerretDB does not make the conditional update atomic,
        so two copies may both re-publish one: with the same event id, which consumers
        drop."""
        now = datetime.now(UTC)
        taken: list[Document] = []
        async for doc in self.submissions.find(
            {"published": False, "claimed_at": {"$lt": now - lease}}, limit=limit
        ):
            won = await self.submissions.find_one_and_update(
                {"_id": doc["_id"], "published": False, "claimed_at": doc["claimed_at"]},
                {"$set": {"claimed_at": now}},
            )
            if won is not None:
                taken.append(won)
        return taken

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
