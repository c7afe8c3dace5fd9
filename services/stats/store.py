"""Stats' MongoDB adapter: per-complaint fact documents, rejections, and the running
tallies of each snapshot scope, one document per scope and partition.

- ``stats_complaints`` (``_id`` = complaint id, then ``<complaint id>~<n>``): the parts
  of each complaint (``services.stats.parts``), each the facts of some of its events
  (``events.<id>``) and deliveries (``notified.<id>``) and every day and month the
  complaint touched. A batch inserts one part for each complaint it brought new facts,
  in one command; complaint facts are never updated.
- ``stats_rejections`` (``_id`` = fact key): refused messages, inserted in bulk.
- ``stats_hotspots`` (``_id`` = hot-spot id): the facts of its ``hotspots.detected`` and
  ``hotspots.closed`` (``facts.detected``, ``facts.closed``), of its alerts
  (``notified.<id>``), its ``status`` and the day and month it opened in.
- ``stats_tallies`` (``_id`` = ``<scope>|p<partition>``): the figures of one scope counted
  over one partition's complaints, written whole by the partition's only owner. A
  scope's figures are the sum over partitions.
Facts hold no full phone number (``services.stats.facts``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.operations import ReplaceOne, UpdateOne

from services.stats.complaint import ComplaintRecord, ComplaintState, derive
from services.stats.facts import Fact, delivery_fields
from services.stats.hotspots import HotspotRecord, record_of
from services.stats.parts import PROBE_WINDOW, Facts, complaint_of, merge, part_id
from services.stats.tallies import NotificationRecord, Tally
from shared.mongo import Document, insert_new, read_by_ids, write_all

COMPLAINTS = "stats_complaints"
REJECTIONS = "stats_rejections"
HOTSPOTS = "stats_hotspots"
TALLIES = "stats_tallies"


def tally_id(scope: str, partition: int) -> str:
    return f"{scope}|p{partition}"


def notification_records(
    notified: Mapping[str, Fact], complaint_id: str, tz: tzinfo
) -> list[NotificationRecord]:
    """A complaint's deliveries, each counted once: sent if any attempt got through."""
    by_delivery: dict[str, dict[str, Fact]] = {}
    for key, note in notified.items():
        by_delivery.setdefault(note["delivery_id"], {})[key] = {
            "complaint_id": complaint_id,
            "responder_id": note.get("responder_id") or "",
            "channel": note.get("channel") or "",
            "reason": note.get("reason") or "",
            "outcome": note["outcome"],
            "at": note["at"],
        }
    return [
        NotificationRecord.from_doc({"_id": delivery_id, **delivery_fields(facts, tz)})
        for delivery_id, facts in sorted(by_delivery.items())
    ]


class StatsStore:
    def __init__(self, db: AsyncDatabase[Document], tz: tzinfo) -> None:
        self.db = db
        self.tz = tz
        self.complaints: AsyncCollection[Document] = db[COMPLAINTS]
        self.rejections: AsyncCollection[Document] = db[REJECTIONS]
        self.hotspots: AsyncCollection[Document] = db[HOTSPOTS]
        self.tallies: AsyncCollection[Document] = db[TALLIES]

    async def ensure_indexes(self) -> None:
        # Used by MongoDB; FerretDB v1 accepts them and scans anyway.
        await self.complaints.create_index([("periods", ASCENDING)])
        await self.complaints.create_index([("partition", ASCENDING)])
        await self.rejections.create_index([("periods", ASCENDING)])
        await self.hotspots.create_index([("status", ASCENDING)])

    # --- writing ------------------------------------------------------------------

    async def put_parts(self, parts: Sequence[Document]) -> set[str]:
        """Insert complaint parts (``services.stats.parts``); the ``_id``s already taken."""
        return {str(i) for i in await insert_new(self.complaints, parts)}

    async def put_hotspots(
        self, changes: Mapping[str, tuple[int, dict[str, Fact], dict[str, Fact], set[str]]]
    ) -> None:
        """Per hot spot: its partition, new event facts (``detected``/``closed``), new
        alert facts and periods, as blind upserts (a redelivery rewrites the same fact).
        A hot spot is open from its first fact until its closing one is stored."""
        operations: list[UpdateOne] = []
        for hotspot_id, (partition, facts, notified, periods) in sorted(changes.items()):
            fields: Document = {f"facts.{k}": v for k, v in facts.items()}
            fields |= {f"notified.{k}": v for k, v in notified.items()}
            fields["partition"] = partition
            update: Document = {"$set": fields}
            if "closed" in facts:
                fields["status"] = "closed"
            else:
                update["$setOnInsert"] = {"status": "open"}
            if periods:
                update["$addToSet"] = {"periods": {"$each": sorted(periods)}}
            operations.append(UpdateOne({"_id": hotspot_id}, update, upsert=True))
        await write_all(self.hotspots, operations)

    async def put_rejections(self, rejections: Sequence[Document]) -> set[str]:
        """Record refused messages; the keys this call recorded. A rejection without a
        key lands on any partition, so only the partition that recorded it counts it."""
        taken = {str(t) for t in await insert_new(self.rejections, rejections)}
        return {str(r["_id"]) for r in rejections} - taken

    async def put_tallies(self, tallies: Mapping[tuple[str, int], Tally], at: datetime) -> None:
        await write_all(
            self.tallies,
            [
                ReplaceOne(
                    {"_id": tally_id(scope, partition)},
                    {"scope": scope, "partition": partition, "at": at, **tally.to_document()},
                    upsert=True,
                )
                for (scope, partition), tally in sorted(tallies.items())
            ],
        )

    # --- reading ------------------------------------------------------------------

    async def load(self, partitions: Iterable[int]) -> dict[str, Facts]:
        """Every complaint of these partitions (one scan of their parts, when taken)."""
        wanted = {"partition": {"$in": sorted(partitions)}}
        return merge([doc async for doc in self.complaints.find(wanted)])

    async def parts_of(self, complaint_ids: Iterable[str]) -> dict[str, Facts]:
        """Every part of these complaints, read by ``_id``: a window of part numbers at a
        time, until a window ends before its last number (parts have no gaps)."""
        documents: list[Document] = []
        probing = dict.fromkeys(complaint_ids, 0)
        while probing:
            ids = [
                part_id(c, start + n) for c, start in probing.items() for n in range(PROBE_WINDOW)
            ]
            found = await read_by_ids(self.complaints, ids)
            documents += found.values()
            probing = {
                c: start + PROBE_WINDOW
                for c, start in probing.items()
                if part_id(c, start + PROBE_WINDOW - 1) in found
            }
        return merge(documents)

    async def load_rejections(self, partitions: Iterable[int]) -> list[Document]:
        wanted = {"partition": {"$in": sorted(partitions)}}
        return [doc async for doc in self.rejections.find(wanted, {"periods": 1, "partition": 1})]

    async def load_hotspots(self, partitions: Iterable[int]) -> list[Document]:
        wanted = {"partition": {"$in": sorted(partitions)}}
        return [doc async for doc in self.hotspots.find(wanted)]

    async def find_hotspots(self, status: str | None) -> list[Document]:
        """Hot spots of one status (or all): a scan of a small set."""
        wanted = {} if status is None else {"status": status}
        return [doc async for doc in self.hotspots.find(wanted)]

    async def hotspot(self, hotspot_id: str) -> Document | None:
        return await self.hotspots.find_one({"_id": hotspot_id})

    async def scope_tallies(self, scopes: Iterable[str], partitions: int) -> dict[str, Tally]:
        """The figures of each scope, summed over every partition (one read)."""
        scopes = list(scopes)
        ids = [tally_id(s, p) for s in scopes for p in range(partitions)]
        found = await read_by_ids(self.tallies, ids)
        totals = {scope: Tally() for scope in scopes}
        for doc in found.values():
            totals[doc["scope"]].add(Tally.from_document(doc))
        return totals

    async def tally_scopes(self, periods: Iterable[str]) -> list[str]:
        """The scopes with a tally in these periods (a scan of the small tally set)."""
        wanted = set(periods)
        found = {
            doc["scope"]
            async for doc in self.tallies.find({}, {"scope": 1})
            if doc["scope"].rsplit(":", 1)[-1] in wanted
        }
        return sorted(found)

    async def complaint(self, complaint_id: str) -> tuple[ComplaintState, dict[str, int]] | None:
        """The complaint's derived state and its notification tally (per delivery)."""
        facts = (await self.parts_of([complaint_id])).get(complaint_id)
        if facts is None or not facts.events:
            return None
        tally = {"sent": 0, "failed": 0}
        for note in notification_records(facts.notified, complaint_id, self.tz):
            tally[note.outcome] += 1
        return derive(complaint_id, facts.events, self.tz), tally

    async def period_data(
        self, periods: list[str]
    ) -> tuple[list[ComplaintRecord], list[NotificationRecord], dict[str, int]]:
        """Everything the figures of ``periods`` are recounted from, in one scan each:
        complaints, their deliveries, and the number of rejections per period."""
        wanted = {"periods": {"$in": periods}}
        complaints: list[ComplaintRecord] = []
        notifications: list[NotificationRecord] = []
        found = merge([doc async for doc in self.complaints.find(wanted)])
        # A complaint's newest part carries all its periods; older parts written before
        # it touched these periods are read by _id.
        missing = [part_id(c, n) for c, facts in found.items() for n in facts.missing()]
        for doc in (await read_by_ids(self.complaints, missing)).values():
            found[complaint_of(doc)].add(doc)
        for cid, facts in sorted(found.items()):
            if facts.events:
                complaints.append(derive(cid, facts.events, self.tz).record)
            notifications += notification_records(facts.notified, cid, self.tz)
        rejected = dict.fromkeys(periods, 0)
        async for doc in self.rejections.find(wanted, {"periods": 1}):
            for period in doc.get("periods") or []:
                if period in rejected:
                    rejected[period] += 1
        return complaints, notifications, rejected

    async def period_hotspots(
        self, periods: list[str]
    ) -> tuple[list[HotspotRecord], list[NotificationRecord]]:
        """The hot spots opened in ``periods`` and the alerts about hot spots sent in
        them, for the recount of the figures (one scan)."""
        records: list[HotspotRecord] = []
        notifications: list[NotificationRecord] = []
        async for doc in self.hotspots.find({"periods": {"$in": periods}}):
            hotspot_id = str(doc["_id"])
            record = record_of(hotspot_id, doc.get("facts") or {}, self.tz)
            if record is not None:
                records.append(record)
            notifications += notification_records(doc.get("notified") or {}, hotspot_id, self.tz)
        return records, notifications

    async def ping(self) -> Any:
        return await self.db.command("ping")
