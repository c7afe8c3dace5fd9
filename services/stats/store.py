"""MongoDB adapter: per-complaint and per-delivery fact documents, and dirty scopes.

Exactness without multi-document transactions (FerretDB v1 has none):
- every event is one idempotent single-document update by ``_id``: ``$set`` of
  ``events.<event id>`` and ``$addToSet`` of the day and month it happened in, so a
  redelivery rewrites the same fact and instances racing on one complaint commute;
- nothing derived is stored: a complaint's state is derived from its fact map when
  read, and figures are recounted from the documents of a period, never kept as
  running counters.
FerretDB v1 only pushes ``_id`` equality down to its storage, so every write and
point read here filters on ``_id`` (updates go through ``find_one_and_update`` or an
upsert: its plain ``update_one`` scans); period reads scan, once per request or
snapshot pass, which a city's thousands of complaints a month afford."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from pymongo import ASCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.stats.complaint import ComplaintRecord, ComplaintState, derive
from services.stats.facts import Fact, delivery_fields
from services.stats.figures import NotificationRecord
from services.stats.handlers import Group
from services.stats.periods import Scope, periods_of

Document = dict[str, Any]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def scopes_of(
    periods: Iterable[str], communities: Iterable[str], responders: Iterable[str]
) -> set[str]:
    scopes: set[str] = set()
    for period in periods:
        scopes.add(Scope("city", period).key)
        scopes |= {Scope("community", period, c).key for c in communities if c}
        scopes |= {Scope("responder", period, r).key for r in responders if r}
    return scopes


def complaint_scopes(doc: Document) -> set[str]:
    """Every scope a complaint may count in, now or before its latest fact arrived.

    Periods are those of all its facts (a superset of where it is counted); the
    responders are all who were ever lead; so the scopes a fact moved it out of are
    recounted too."""
    facts: dict[str, Fact] = doc.get("events") or {}
    leads = {f["lead"]["responder_id"] for f in facts.values() if f.get("lead")}
    communities = {f["community_id"] for f in facts.values() if f.get("community_id")}
    return scopes_of(doc.get("periods") or [], communities, leads)


class StatsStore:
    def __init__(self, db: AsyncDatabase[Document], tz: tzinfo) -> None:
        self.db = db
        self.tz = tz
        self.complaints: AsyncCollection[Document] = db["stats_complaints"]
        self.notifications: AsyncCollection[Document] = db["stats_notifications"]
        self.rejections: AsyncCollection[Document] = db["stats_rejections"]
        self.scopes: AsyncCollection[Document] = db["stats_scopes"]
        self.dirty: AsyncCollection[Document] = db["stats_dirty"]

    async def ensure_indexes(self) -> None:
        # Used by MongoDB; FerretDB v1 accepts them and scans anyway.
        await self.complaints.create_index([("periods", ASCENDING)])
        await self.notifications.create_index([("periods", ASCENDING)])
        await self.rejections.create_index([("periods", ASCENDING)])
        await self.scopes.create_index([("period", ASCENDING)])

    # --- facts -----------------------------------------------------------------

    async def store_group(self, group: Group) -> set[str]:
        """Store one batch's facts of one complaint (or of one delivery without a
        complaint, or the rejections); returns the scopes whose figures may have changed.

        The complaint's document takes one write however many of its events the batch
        held: FerretDB v1 applies an update as read-modify-write, so two writes of one
        document in flight at once could lose one, and the caller never runs two groups
        of one complaint at once."""
        writes: list[Awaitable[Any]] = [
            self._put(
                self.notifications,
                delivery_id,
                {f"events.{key}": fact for key, fact in facts.items()},
                sorted({p for fact in facts.values() for p in periods_of(fact["at"], self.tz)}),
            )
            for delivery_id, facts in sorted(group.deliveries.items())
        ]
        scopes: set[str] = set()
        if group.rejections:
            writes.append(
                self._bulk_upsert(
                    self.rejections,
                    [
                        UpdateOne({"_id": key}, {"$set": fact}, upsert=True)
                        for key, fact in sorted(group.rejections.items())
                    ],
                )
            )
            periods = {p for fact in group.rejections.values() for p in fact["periods"]}
            scopes |= scopes_of(periods, [], [])
        complaint: Document = {}
        if group.complaint_id is not None:
            fields: Document = {f"events.{key}": fact for key, fact in group.facts.items()}
            # The complaint keeps its own tally, so its view needs no scan of deliveries.
            fields |= {f"notified.{key}": note for key, note in group.notified.items()}
            put = self._put(self.complaints, group.complaint_id, fields, sorted(group.periods))
            complaint, *_ = await asyncio.gather(put, *writes)
        else:
            await asyncio.gather(*writes)
        if group.facts:
            scopes |= complaint_scopes(complaint)
        facts: dict[str, Fact] = complaint.get("events") or {}
        communities = {f["community_id"] for f in facts.values() if f.get("community_id")}
        for period, responder in group.alerted:
            scopes |= scopes_of([period], communities, [responder])
        return scopes

    async def _put(
        self,
        collection: AsyncCollection[Document],
        doc_id: str,
        fields: Document,
        periods: list[str],
    ) -> Document:
        update: Document = {"$set": fields}
        if periods:
            update["$addToSet"] = {"periods": {"$each": periods}}
        for _ in range(3):
            try:
                doc = await collection.find_one_and_update(
                    {"_id": doc_id}, update, upsert=True, return_document=ReturnDocument.AFTER
                )
            except DuplicateKeyError:
                # Another instance created the document between our lookup and insert.
                continue
            if doc is not None:
                return doc
        raise RuntimeError(f"could not record a fact on {doc_id}")

    # --- reading ---------------------------------------------------------------

    async def complaint(self, complaint_id: str) -> tuple[ComplaintState, dict[str, int]] | None:
        """The complaint's derived state and its notification tally (per delivery)."""
        doc = await self.complaints.find_one({"_id": complaint_id})
        if doc is None or not doc.get("events"):
            return None
        outcomes: dict[str, str] = {}
        for note in sorted((doc.get("notified") or {}).values(), key=lambda n: n["at"]):
            if outcomes.get(note["delivery_id"]) != "sent":
                outcomes[note["delivery_id"]] = note["outcome"]
        tally = {"sent": 0, "failed": 0}
        for outcome in outcomes.values():
            tally[outcome] += 1
        return derive(complaint_id, doc["events"], self.tz), tally

    async def period_data(
        self, periods: list[str]
    ) -> tuple[
        list[ComplaintRecord], list[NotificationRecord], dict[str, ComplaintRecord], dict[str, int]
    ]:
        """Everything the figures of ``periods`` are counted from, in one read each.

        Returns complaints, deliveries, complaints outside the periods that deliveries
        name, and the number of rejections per period."""
        wanted = {"periods": {"$in": periods}}
        complaints = [
            derive(str(doc["_id"]), doc["events"], self.tz).record
            async for doc in self.complaints.find(wanted, {"notified": 0})
            if doc.get("events")
        ]
        notifications = [
            NotificationRecord.from_doc(
                {"_id": doc["_id"], **delivery_fields(doc["events"], self.tz)}
            )
            async for doc in self.notifications.find(wanted)
            if doc.get("events")
        ]
        known = {c.complaint_id for c in complaints}
        lookup: dict[str, ComplaintRecord] = {}
        missing = sorted({n.complaint_id for n in notifications} - known)
        # One point read each: FerretDB v1 answers ``_id: {$in: ...}`` with a scan.
        for start in range(0, len(missing), 32):
            chunk = missing[start : start + 32]
            for doc in await asyncio.gather(*(self.complaints.find_one({"_id": i}) for i in chunk)):
                if doc is not None and doc.get("events"):
                    record = derive(str(doc["_id"]), doc["events"], self.tz).record
                    lookup[record.complaint_id] = record
        rejected = dict.fromkeys(periods, 0)
        async for doc in self.rejections.find(wanted, {"periods": 1}):
            for period in doc.get("periods") or []:
                if period in rejected:
                    rejected[period] += 1
        return complaints, notifications, lookup, rejected

    # --- dirty scopes ----------------------------------------------------------
    # ``stats_dirty`` holds only scopes waiting to be published, so it stays small and
    # its conditional claims are cheap even where only ``_id`` lookups are indexed;
    # ``stats_scopes`` remembers every scope and when it was last published.

    async def mark_dirty(self, scopes: Iterable[str]) -> None:
        await self._bulk_upsert(
            self.dirty,
            [
                UpdateOne(
                    {"_id": key},
                    {"$inc": {"seq": 1}, "$setOnInsert": {"claim_until": EPOCH, "next_at": EPOCH}},
                    upsert=True,
                )
                for key in sorted(scopes)
            ],
        )

    @staticmethod
    async def _bulk_upsert(collection: AsyncCollection[Document], ops: list[UpdateOne]) -> None:
        if not ops:
            return
        for attempt in range(3):
            try:
                await collection.bulk_write(ops, ordered=False)
                return
            except BulkWriteError as exc:
                # Concurrent upserts of a new scope: the retry finds the document.
                if attempt == 2 or any(e.get("code") != 11000 for e in exc.details["writeErrors"]):
                    raise

    async def refresh_periods(self, periods: list[str]) -> int:
        keys = [
            doc["_id"] async for doc in self.scopes.find({"period": {"$in": periods}}, {"_id": 1})
        ]
        await self.mark_dirty(keys)
        return len(keys)

    async def claim_dirty(
        self, owner: str, lease: timedelta, interval: timedelta, limit: int
    ) -> list[tuple[str, int]]:
        """Take dirty scopes not published within ``interval``; one owner at a time."""
        now = _now()
        candidates = [
            doc["_id"]
            async for doc in self.dirty.find(
                {"next_at": {"$lte": now}, "claim_until": {"$lte": now}}, {"_id": 1}
            ).limit(limit)
        ]
        claimed: list[tuple[str, int]] = []
        for key in candidates:
            scope = await self.scopes.find_one({"_id": key})
            published_at: datetime = scope["published_at"] if scope else EPOCH
            if published_at + interval > now:
                await self.dirty.find_one_and_update(
                    {"_id": key}, {"$set": {"next_at": published_at + interval}}
                )
                continue
            doc = await self.dirty.find_one_and_update(
                {"_id": key, "claim_until": {"$lte": now}},
                {"$set": {"claim_until": now + lease, "claimed_by": owner}},
                return_document=ReturnDocument.AFTER,
            )
            if doc is not None:
                claimed.append((key, int(doc["seq"])))
        return claimed

    async def release(self, key: str, seq: int, owner: str, interval: timedelta) -> None:
        """After publishing: clean if nothing changed since the claim, else publish again."""
        now = _now()
        await self.scopes.update_one(
            {"_id": key},
            {"$set": {"published_at": now, "period": Scope.parse(key).period}},
            upsert=True,
        )
        done = await self.dirty.delete_one({"_id": key, "seq": seq, "claimed_by": owner})
        if done.deleted_count:
            return
        mine = await self.dirty.find_one_and_update(
            {"_id": key, "claimed_by": owner},
            {"$set": {"claim_until": EPOCH, "next_at": now + interval}},
        )
        if mine is None:
            # Our lease lapsed and another owner may have published before us: make
            # sure one more publication follows ours.
            await self.dirty.update_one(
                {"_id": key},
                {
                    "$inc": {"seq": 1},
                    "$setOnInsert": {"claim_until": EPOCH, "next_at": now + interval},
                },
                upsert=True,
            )

    async def abandon(self, key: str, owner: str) -> None:
        await self.dirty.find_one_and_update(
            {"_id": key, "claimed_by": owner}, {"$set": {"claim_until": EPOCH}}
        )

    async def ping(self) -> bool:
        await self.db.command("ping")
        return True


def _now() -> datetime:
    return datetime.now(UTC)
