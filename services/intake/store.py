"""Intake's records in MongoDB: the complaints it accepted and the idempotency keys.

Each batch (a consumed ``ingress.complaints`` batch, or a group of HTTP requests)
costs one read of the ids it names and one ``insert_many`` of the new ones; both go
by ``_id``, which FerretDB finds through its index."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Document, insert_new, read_by_ids


class IntakeStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.submissions = db["intake_submissions"]
        self.idempotency = db["intake_idempotency_keys"]

    async def known(self, complaint_ids: Iterable[str]) -> set[str]:
        """The complaints among these that were accepted (and so published) before."""
        found = await read_by_ids(self.submissions, complaint_ids, {"_id": 1})
        return set(found)

    async def record(self, records: Sequence[Document]) -> None:
        """Remember accepted complaints; one already there (a racing copy) is fine."""
        await insert_new(self.submissions, records)

    async def remember_keys(self, records: Sequence[Document]) -> dict[str, Document]:
        """Store each idempotency key's first use; for keys used before, the record that
        holds (the earlier one), by key."""
        taken = await insert_new(self.idempotency, records)
        if not taken:
            return {}
        return {str(k): v for k, v in (await read_by_ids(self.idempotency, taken)).items()}

    async def forget_keys_before(self, cutoff: datetime) -> int:
        result = await self.idempotency.delete_many({"created_at": {"$lt": cutoff}})
        return result.deleted_count
