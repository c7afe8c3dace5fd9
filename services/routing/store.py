"""Routing's MongoDB adapter: one document per complaint in ``routing_complaints``.

Every change is a single-document write decided from one version of the complaint
(optimistic concurrency): of two routing copies that decide on the same version,
exactly one write lands and the other re-reads. That is what makes each escalation
level happen once and a complaint be routed once, without transactions (FerretDB has
none). The events a change causes travel in the same write (``outbox``).

FerretDB v1 does not make a conditional update atomic (two racing ``update_one`` calls
with the same version filter can both match), but it does make a unique ``_id``
insert atomic. So the right to write version N+1 is taken first by inserting
``<complaint id>:<N+1>`` into ``routing_versions``; only the winner writes.

FerretDB (SQLite) also filters every query but ``_id`` equality in Go, decoding the
whole collection, so nothing here queries ``routing_complaints`` by any other field.
The periodic work reads small collections kept beside it instead, each written by
the holder of a version before its state write (so a crash in between leaves work
found, never work lost):

- ``routing_pending``: one marker per version whose write added outbox entries,
  removed once they are published; the outbox relay reads only these.
- ``routing_timers``: one tiny document per version that has a next check; the
  sweeper reads only these, and a superseded version's timer is removed.
- ``routing_recent``: per compound and category, the complaints routed lately; the
  duplicate check reads one document by ``_id``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.routing.state import OPEN_STATUSES, ComplaintState, OutboxEntry
from shared.mongo import now_ms

Document = dict[str, Any]
COLLECTION = "routing_complaints"
VERSIONS = "routing_versions"
PENDING = "routing_pending"
TIMERS = "routing_timers"
RECENT = "routing_recent"
VERSION_CLAIM_LEASE = timedelta(seconds=30)
"""A version claimed this long ago whose write never landed was claimed by a copy that
died in between; the version is freed so the complaint does not freeze."""
RECENT_KEPT = 200
"""At most this many recent complaints per compound and category are remembered."""


def _to_document(state: ComplaintState) -> Document:
    document = state.model_dump(mode="python")
    document["_id"] = document.pop("complaint_id")
    return document


def _from_document(document: Document) -> ComplaintState:
    return ComplaintState.model_validate({**document, "complaint_id": document["_id"]})


def _version_key(complaint_id: str, version: int) -> str:
    return f"{complaint_id}:{version}"


@dataclass(frozen=True)
class PendingMarker:
    """A version whose write added outbox entries that may not be published yet."""

    complaint_id: str
    version: int
    created_at: datetime


class RoutingStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.complaints = db[COLLECTION]
        self.versions = db[VERSIONS]
        self.pending = db[PENDING]
        self.timers = db[TIMERS]
        self.recent = db[RECENT]

    async def prepare(self) -> None:
        """Nothing to create: every query is by ``_id`` or over a small collection."""

    async def get(self, complaint_id: str) -> ComplaintState | None:
        document = await self.complaints.find_one({"_id": complaint_id})
        return _from_document(document) if document else None

    async def insert(self, state: ComplaintState) -> ComplaintState | None:
        """Store a new complaint; None if another copy stored it first."""
        stored = state.model_copy(update={"version": 1})
        if stored.outbox:
            await self._mark_pending(stored.complaint_id, 1)
        if stored.next_check_at is not None:
            await self._set_timer(stored.complaint_id, 1, stored.next_check_at)
        try:
            await self.complaints.insert_one(_to_document(stored))
        except DuplicateKeyError:
            # The winner wrote (or will write) the same markers for version 1.
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
        if added:
            await self._mark_pending(stored.complaint_id, stored.version)
        if stored.next_check_at is not None:
            await self._set_timer(stored.complaint_id, stored.version, stored.next_check_at)
        result = await self.complaints.update_one(
            {"_id": changed.complaint_id, "version": changed.version},
            {"$set": fields, "$push": {"outbox": {"$each": added}}},
        )
        if result.matched_count != 1:
            return None
        # The new version's timer (if any) is in place: the old one only repeats or
        # contradicts it.
        await self.timers.delete_one({"_id": _version_key(changed.complaint_id, changed.version)})
        return stored

    async def _claim_version(self, complaint_id: str, version: int) -> bool:
        """Take the only right to write ``version`` of a complaint (unique insert)."""
        key = _version_key(complaint_id, version)
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

    async def _mark_pending(self, complaint_id: str, version: int) -> None:
        # Only the holder of ``version`` writes its marker (two copies only for
        # version 1, which write the same thing), so an upsert loses nothing.
        key = _version_key(complaint_id, version)
        marker = {"complaint_id": complaint_id, "version": version, "created_at": now_ms()}
        try:
            await self.pending.replace_one({"_id": key}, marker, upsert=True)
        except DuplicateKeyError:  # a racing upsert of version 1 inserted it
            await self.pending.replace_one({"_id": key}, marker)

    async def _set_timer(self, complaint_id: str, version: int, at: datetime) -> None:
        key = _version_key(complaint_id, version)
        timer = {"complaint_id": complaint_id, "version": version, "at": at, "written_at": now_ms()}
        try:
            await self.timers.replace_one({"_id": key}, timer, upsert=True)
        except DuplicateKeyError:
            await self.timers.replace_one({"_id": key}, timer)

    # -- duplicate candidates ---------------------------------------------------------

    async def remember_recent(self, state: ComplaintState, keep_since: datetime) -> None:
        """Note a routed complaint as a duplicate candidate of later ones in its
        compound and category, forgetting those received before ``keep_since``.

        FerretDB may lose one of two concurrent ``$push`` onto the same document: the
        cost is a duplicate not linked (it is routed on its own), which is acceptable;
        nothing is lost that a responder must act on."""
        key = f"{state.summary.compound_id}|{state.summary.category}"
        existing = await self.recent.find_one({"_id": key})
        entries: list[Document] = existing["entries"] if existing else []
        if not any(e["complaint_id"] == state.complaint_id for e in entries):
            entry = {
                "complaint_id": state.complaint_id,
                "received_at": state.received_at,
                "description": state.summary.description,
            }
            try:
                await self.recent.update_one(
                    {"_id": key}, {"$push": {"entries": entry}}, upsert=existing is None
                )
            except DuplicateKeyError:  # a racing upsert created the document first
                await self.recent.update_one({"_id": key}, {"$push": {"entries": entry}})
        kept = sorted(
            (e for e in entries if e["received_at"] >= keep_since), key=lambda e: e["received_at"]
        )
        kept = kept[-(RECENT_KEPT - 1) :]
        expired = [e for e in entries if e not in kept]
        if expired:
            # $pullAll of exact entries: FerretDB v1 has no $pull by condition.
            await self.recent.update_one({"_id": key}, {"$pullAll": {"entries": expired}})

    async def open_candidates(
        self,
        compound_id: str,
        category: str,
        since: datetime,
        *,
        similar: Callable[[str], bool] = lambda _: True,
        limit: int = 50,
    ) -> list[ComplaintState]:
        """Open complaints of one compound and category received since ``since`` whose
        description is ``similar``; only those are read (one by one, by ``_id``)."""
        document = await self.recent.find_one({"_id": f"{compound_id}|{category}"})
        if document is None:
            return []
        ids: list[str] = []
        for entry in sorted(document["entries"], key=lambda e: e["received_at"], reverse=True):
            if (
                entry["received_at"] >= since
                and entry["complaint_id"] not in ids
                and similar(entry.get("description", ""))
            ):
                ids.append(entry["complaint_id"])
        candidates: list[ComplaintState] = []
        for complaint_id in ids:
            state = await self.get(complaint_id)
            if state is not None and state.status in OPEN_STATUSES:
                candidates.append(state)
                if len(candidates) >= limit:
                    break
        return candidates

    # -- timers -----------------------------------------------------------------------

    async def due_for_check(self, now: datetime, limit: int = 100) -> list[ComplaintState]:
        """Complaints whose next check is due, found through ``routing_timers``; timers
        of superseded or abandoned versions are cleared on the way."""
        due: list[ComplaintState] = []
        seen: set[str] = set()
        cursor = self.timers.find({"at": {"$lte": now}})
        timers = sorted([t async for t in cursor], key=lambda t: t["at"])
        for timer in timers:
            complaint_id, version = timer["complaint_id"], int(timer["version"])
            if complaint_id in seen:
                continue
            state = await self.get(complaint_id)
            if state is None or state.version < version:
                # Its write has not landed: still in flight, or its copy died (then the
                # stored version's own timer still stands).
                if timer["written_at"] < now - VERSION_CLAIM_LEASE:
                    await self.timers.delete_one({"_id": timer["_id"]})
                continue
            if state.version > version or state.next_check_at is None:
                await self.timers.delete_one({"_id": timer["_id"]})
                continue
            if state.next_check_at <= now:
                seen.add(complaint_id)
                due.append(state)
                if len(due) >= limit:
                    break
        return due

    # -- outbox -----------------------------------------------------------------------

    async def pending_markers(self, created_before: datetime) -> list[PendingMarker]:
        cursor = self.pending.find({"created_at": {"$lte": created_before}})
        return [
            PendingMarker(m["complaint_id"], int(m["version"]), m["created_at"])
            async for m in cursor
        ]

    async def forget_pending(self, complaint_id: str, version: int) -> None:
        await self.pending.delete_one({"_id": _version_key(complaint_id, version)})

    async def mark_published(self, complaint_id: str, entries: list[OutboxEntry]) -> None:
        # $pullAll of the exact entries: FerretDB v1 has no $pull by condition. No
        # version bump: publishing does not change the complaint, and a concurrent change
        # must not fail for it. At worst an entry is published twice, with the same event
        # id, which consumers drop.
        await self.complaints.update_one(
            {"_id": complaint_id},
            {"$pullAll": {"outbox": [e.model_dump(mode="python") for e in entries]}},
        )
