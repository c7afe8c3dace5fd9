"""MongoDB adapter: one ``notify_deliveries`` document per delivery, ``_id`` = delivery id.

Inserting the document records the delivery (a redelivered event finds it there).
Each attempt is then won by inserting its own claim document (``notify_attempts``,
``_id`` = ``<delivery id>#<n>``), and the winner marks the delivery ``in_flight``
under a lease, so two instances never send the same delivery at once. An attempt
whose lease ran out in flight is taken over and counted in ``resends``: its instance
may have sent before it died, and the receiver sees the same delivery id twice.

FerretDB (SQLite) filters every query but ``_id`` equality in Go, decoding the whole
collection, so the retry worker never queries ``notify_deliveries`` itself: each
delivery has a tiny marker in ``notify_pending`` (``_id`` = delivery id, ``at`` = when
someone should next look at it) from before it is recorded until its outcome is
published, and the worker reads only those. The delivery document stays the truth;
a marker only says when to read it, so a marker that is early costs a read and one
left behind is removed when read."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.notify.planning import PlannedDelivery
from services.notify.sealing import Sealer
from services.notify.triggers import Trigger
from shared.mongo import Document
from shared.privacy import scrub_phones

COLLECTION = "notify_deliveries"
CLAIMS = "notify_attempts"
"""One document per attempt (``<delivery id>#<n>``): who took it and when."""
MARKERS = "notify_pending"
"""One tiny document per delivery with work left (an attempt, or its outcome to publish)."""

PENDING, SENT, FAILED = "pending", "sent", "failed"


@dataclass(frozen=True)
class Origin:
    """Where the trigger event was read, for dead letters."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class PendingWork:
    due: list[str]
    """Deliveries some instance should attempt now."""
    outcomes: list[Document]
    """Recorded outcomes still unpublished since before the relay cutoff."""


@dataclass(frozen=True)
class Claim:
    document: Document
    took_over: bool
    """The previous attempt's lease ran out in flight: this attempt may be a resend."""


class DeliveryStore:
    def __init__(
        self, db: AsyncDatabase[Document], sealer: Sealer, *, lease_seconds: float
    ) -> None:
        self.collection: AsyncCollection[Document] = db[COLLECTION]
        self.claims: AsyncCollection[Document] = db[CLAIMS]
        self.markers: AsyncCollection[Document] = db[MARKERS]
        self.sealer = sealer
        self.lease = timedelta(seconds=lease_seconds)

    async def create(
        self,
        planned: PlannedDelivery,
        trigger: Trigger,
        origin: Origin,
        *,
        now: datetime,
        handoff: timedelta,
    ) -> Document | None:
        """Record a pending delivery and return it; None when it exists already (a
        redelivery)."""
        summary = trigger.summary
        stored_trigger = trigger.model_copy(
            update={"summary": summary.model_copy(update={"reporter": None}) if summary else None}
        )
        document: Document = {
            "_id": planned.delivery_id,
            "complaint_id": trigger.complaint_id,
            "responder_id": planned.responder_id,
            "channel": planned.channel,
            "channel_key": planned.channel_key,
            "reason": trigger.reason.value,
            "occasion": trigger.occasion,
            "trigger_event_id": trigger.event_id,
            "trigger": stored_trigger.model_dump(mode="json"),
            "sealed_reporter": self.sealer.seal(summary.reporter if summary else None),
            "origin": {
                "topic": origin.topic,
                "partition": origin.partition,
                "offset": origin.offset,
            },
            "state": PENDING,
            "in_flight": False,
            "owner": None,
            "lease_until": None,
            "attempts": 0,
            "resends": 0,
            # The instance that creates it tries first; others step in only after this.
            "next_attempt_at": now + handoff,
            "last_error": None,
            "permanent": None,
            "history": [],
            "outcome_published": False,
            "created_at": now,
            "updated_at": now,
        }
        # The marker first: a crash after it leaves a marker to clear, while one
        # before it would leave a delivery no worker finds. A redelivery of a finished
        # delivery adds a marker that the worker clears on reading it.
        with contextlib.suppress(DuplicateKeyError):
            await self.markers.insert_one(
                {"_id": planned.delivery_id, "at": now + handoff, "created_at": now}
            )
        try:
            await self.collection.insert_one(document)
        except DuplicateKeyError:
            return None
        return document

    async def _look_again_at(self, delivery_id: str, at: datetime) -> None:
        await self.markers.update_one({"_id": delivery_id}, {"$set": {"at": at}})

    def trigger_of(self, document: Document) -> Trigger:
        trigger = Trigger.model_validate(document["trigger"])
        reporter = self.sealer.unseal(document.get("sealed_reporter"))
        if trigger.summary is None or reporter is None:
            return trigger
        return trigger.model_copy(
            update={"summary": trigger.summary.model_copy(update={"reporter": reporter})}
        )

    async def claim(
        self,
        delivery_id: str,
        owner: str,
        *,
        now: datetime,
        first: bool,
        created: Document | None = None,
    ) -> Claim | None:
        """Take the next attempt of a pending delivery, or None if it is not ours to take.

        ``first``: the creating instance's first attempt, which need not wait for
        ``next_attempt_at``. Otherwise a due retry, or a takeover of an attempt whose
        lease ran out (counted as a resend). ``created``: the delivery as this instance
        has just inserted it, which spares reading it back; a copy that is stale by now
        is harmless, since the claim insert below decides who attempts, not this read.

        The attempt is won by inserting ``<delivery id>#<attempt>`` into the claims
        collection: a unique ``_id`` is the one write that FerretDB v1 (SQLite) makes
        atomic; a conditional update or find-and-modify is not (two racing callers
        can both match)."""
        if created is not None:
            document: Document | None = dict(created)
        else:
            document = await self.collection.find_one({"_id": delivery_id})
        if document is None or document["state"] != PENDING:
            return None
        in_flight = bool(document["in_flight"])
        lease_until = document.get("lease_until")
        if first:
            if document["attempts"] != 0 or in_flight:
                return None
        elif in_flight:
            if lease_until is None or lease_until >= now:
                return None
        elif document["next_attempt_at"] > now:
            return None
        attempt = int(document["attempts"]) + 1
        if not await self._insert_claim(delivery_id, attempt, owner, now, took_over=in_flight):
            return None
        taken: Document = {
            "in_flight": True,
            "owner": owner,
            "lease_until": now + self.lease,
            "attempts": attempt,
            "updated_at": now,
        }
        update: Document = {"$set": taken}
        if in_flight:
            update["$inc"] = {"resends": 1}
        await self.collection.update_one({"_id": delivery_id}, update)
        # If this instance dies, the others look again when its lease runs out.
        await self._look_again_at(delivery_id, now + self.lease)
        document.update(taken)
        if in_flight:
            document["resends"] = int(document["resends"]) + 1
        return Claim(document, took_over=in_flight)

    async def _insert_claim(
        self, delivery_id: str, attempt: int, owner: str, now: datetime, *, took_over: bool
    ) -> bool:
        """Win ``<delivery id>#<attempt>``. A claim older than the lease whose attempt the
        delivery never recorded was left by an instance that died right after claiming
        (before it could send): it is removed and the attempt claimed again, or the
        delivery would wait on a dead owner forever."""
        claim_id = f"{delivery_id}#{attempt}"
        claim = {
            "_id": claim_id,
            "delivery_id": delivery_id,
            "attempt": attempt,
            "owner": owner,
            "claimed_at": now,
            "took_over": took_over,
        }
        try:
            await self.claims.insert_one(claim)
        except DuplicateKeyError:
            existing = await self.claims.find_one({"_id": claim_id})
            if existing is None or existing["claimed_at"] + self.lease >= now:
                return False
            current = await self.collection.find_one({"_id": delivery_id})
            if current is None or int(current["attempts"]) >= attempt:
                return False  # its owner did record the attempt: not orphaned
            await self.claims.delete_one({"_id": claim_id, "claimed_at": existing["claimed_at"]})
            try:
                await self.claims.insert_one(claim)
            except DuplicateKeyError:
                return False  # another instance re-claimed it first
        return True

    async def pending_work(
        self, now: datetime, *, recorded_before: datetime, limit: int
    ) -> PendingWork:
        """What the retry worker should do now, read through the markers."""
        due: list[str] = []
        outcomes: list[Document] = []
        async for marker in self.markers.find({"at": {"$lte": now}}):
            if len(due) >= limit and len(outcomes) >= limit:
                break
            delivery_id = str(marker["_id"])
            document = await self.collection.find_one({"_id": delivery_id})
            if document is None:
                # Recorded by an instance that died before inserting the delivery.
                if marker["created_at"] < now - self.lease:
                    await self.markers.delete_one({"_id": delivery_id})
            elif document["state"] == PENDING:
                if document["in_flight"]:
                    look_at = document.get("lease_until") or now
                    is_due = look_at < now
                else:
                    look_at = document["next_attempt_at"]
                    is_due = look_at <= now
                if is_due:
                    if len(due) < limit:
                        due.append(delivery_id)
                elif look_at > marker["at"]:
                    # Conditional on the marker read, so a newer time set meanwhile by
                    # the attempt's owner stays (a lost race only means an early look).
                    await self.markers.update_one(
                        {"_id": delivery_id, "at": marker["at"]}, {"$set": {"at": look_at}}
                    )
            elif document.get("outcome_published"):
                await self.markers.delete_one({"_id": delivery_id})
            elif document["updated_at"] <= recorded_before and len(outcomes) < limit:
                outcomes.append(document)
        return PendingWork(due, outcomes)

    async def _finish_attempt(
        self, document: Document, now: datetime, fields: dict[str, Any], entry: dict[str, Any]
    ) -> Document | None:
        """Record an attempt's outcome if this attempt still owns the delivery; returns the
        delivery as now stored (so publishing the outcome need not read it back), or None
        when another attempt had taken it over."""
        finished = {
            **fields,
            "in_flight": False,
            "lease_until": None,
            "updated_at": now,
        }
        recorded = {"attempt": document["attempts"], "at": now, **entry}
        result = await self.collection.update_one(
            {
                "_id": document["_id"],
                "owner": document["owner"],
                "attempts": document["attempts"],
                "in_flight": True,
            },
            {"$set": finished, "$push": {"history": recorded}},
        )
        if result.matched_count != 1:
            return None
        return {**document, **finished, "history": [*document["history"], recorded]}

    async def _finish_final(
        self, document: Document, now: datetime, fields: dict[str, Any], entry: dict[str, Any]
    ) -> Document | None:
        finished = await self._finish_attempt(document, now, fields, entry)
        if finished is not None:
            # Left for the outcome relay, should its publishing not happen.
            await self._look_again_at(document["_id"], now)
        return finished

    async def record_sent(self, document: Document, now: datetime) -> Document | None:
        return await self._finish_final(
            document,
            now,
            {"state": SENT, "sent_at": now, "last_error": None, "outcome_published": False},
            {"outcome": SENT},
        )

    async def record_retry(
        self, document: Document, now: datetime, error: str, next_attempt_at: datetime
    ) -> bool:
        error = scrub_phones(error)
        finished = await self._finish_attempt(
            document,
            now,
            {"last_error": error, "next_attempt_at": next_attempt_at},
            {"outcome": "retry", "error": error},
        )
        if finished is None:
            return False
        await self._look_again_at(document["_id"], next_attempt_at)
        return True

    async def record_failed(
        self, document: Document, now: datetime, error: str, *, permanent: bool
    ) -> Document | None:
        error = scrub_phones(error)
        return await self._finish_final(
            document,
            now,
            {
                "state": FAILED,
                "failed_at": now,
                "last_error": error,
                "permanent": permanent,
                "outcome_published": False,
            },
            {"outcome": FAILED, "error": error, "permanent": permanent},
        )

    async def get(self, delivery_id: str) -> Document | None:
        return await self.collection.find_one({"_id": delivery_id})

    async def mark_published(self, delivery_id: str) -> None:
        await self.collection.update_one(
            {"_id": delivery_id}, {"$set": {"outcome_published": True}}
        )
        await self.markers.delete_one({"_id": delivery_id})
