"""Routing's MongoDB adapter: complaint versions, unfinished batches, closed complaints.

- ``routing_versions``: one document per version of a complaint, ``_id`` =
  ``<complaint id>:<version>``, holding the whole state and the events of the change
  that made it (packed: ``shared.mongo.packed``). Written only by inserting, one ``insert_many`` per batch. A unique
  ``_id`` insert is the one write FerretDB v1 makes atomic, so the insert also decides
  races: of two owners writing one version (an old owner still finishing during a
  rebalance), one lands and the other gets a duplicate key. A duplicate whose
  ``cause`` is the same as ours is our own batch replayed, and not a conflict.
- ``routing_inflight``: one marker per batch, written before its versions and removed
  once their events are acknowledged by Kafka; a marker found when partitions are
  taken over names versions whose events may never have gone out.
- ``routing_closed``: the last state of each closed complaint, put away so that a
  partition's complaints load quickly, and still found by ``_id``.
Superseded versions are deleted some time after they were replaced."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.operations import DeleteOne

from services.routing.state import ComplaintState
from shared.mongo import Document, insert_new, packed, read_by_ids, unpacked, write_all

VERSIONS = "routing_versions"
INFLIGHT = "routing_inflight"
CLOSED = "routing_closed"


def version_id(complaint_id: str, version: int) -> str:
    return f"{complaint_id}:{version:08d}"


def state_of(document: Document) -> ComplaintState:
    return ComplaintState.model_validate(unpacked(document["state"]))


@dataclass(frozen=True)
class VersionRecord:
    """One version to write: the state, the partition it belongs to, what caused it."""

    state: ComplaintState
    partition: int
    cause: str

    @property
    def id(self) -> str:
        return version_id(self.state.complaint_id, self.state.version)

    def document(self, written_at: datetime) -> Document:
        return {
            "_id": self.id,
            "complaint_id": self.state.complaint_id,
            "version": self.state.version,
            "partition": self.partition,
            "cause": self.cause,
            "state": packed(self.state.model_dump(mode="python")),
            "written_at": written_at,
        }


@dataclass(frozen=True)
class Loaded:
    """What a set of partitions holds: the latest version of each open complaint,
    versions already superseded (to delete), and unfinished batches."""

    heads: dict[str, ComplaintState]
    partitions: dict[str, int]
    superseded: list[str]
    unfinished: list[Document]


class RoutingStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.versions = db[VERSIONS]
        self.inflight = db[INFLIGHT]
        self.closed = db[CLOSED]

    async def load(self, partitions: Iterable[int]) -> Loaded:
        """Everything routing keeps of these partitions (one read of each collection)."""
        wanted = {"partition": {"$in": sorted(partitions)}}
        latest: dict[str, Document] = {}
        superseded: list[str] = []
        async for document in self.versions.find(wanted):
            complaint_id = document["complaint_id"]
            other = latest.get(complaint_id)
            if other is None or document["version"] > other["version"]:
                if other is not None:
                    superseded.append(other["_id"])
                latest[complaint_id] = document
            else:
                superseded.append(document["_id"])
        unfinished = [marker async for marker in self.inflight.find(wanted)]
        heads = {cid: state_of(doc) for cid, doc in latest.items()}
        where = {cid: int(doc["partition"]) for cid, doc in latest.items()}
        return Loaded(heads, where, superseded, unfinished)

    async def begin(self, marker: Document) -> None:
        await self.inflight.insert_one(marker)

    async def finish(self, marker_id: str) -> None:
        await self.inflight.delete_one({"_id": marker_id})

    async def write(self, records: Sequence[VersionRecord], at: datetime) -> dict[str, Document]:
        """Insert the versions; those that existed already, as stored, by version id."""
        taken = await insert_new(self.versions, [r.document(at) for r in records])
        if not taken:
            return {}
        return {str(k): v for k, v in (await read_by_ids(self.versions, taken)).items()}

    async def read_versions(self, ids: Iterable[str]) -> dict[str, Document]:
        return {str(k): v for k, v in (await read_by_ids(self.versions, ids)).items()}

    async def put_away(self, states: Sequence[ComplaintState], at: datetime) -> None:
        """Closed complaints: kept by id, no longer loaded with their partition."""
        await insert_new(
            self.closed,
            [
                {
                    "_id": s.complaint_id,
                    "state": packed(s.model_dump(mode="python")),
                    "closed_at": at,
                }
                for s in states
            ],
        )

    async def closed_among(self, complaint_ids: Iterable[str]) -> set[str]:
        found = await read_by_ids(self.closed, complaint_ids, {"_id": 1})
        return {str(k) for k in found}

    async def delete_versions(self, ids: Sequence[str]) -> None:
        await write_all(self.versions, [DeleteOne({"_id": i}) for i in ids])

    async def newest_versions(
        self, complaint_id: str, after: int, look_ahead: int = 8
    ) -> list[Document]:
        """Versions of one complaint past ``after`` (a racing owner wrote them), oldest
        first: read ``look_ahead`` ids at a time while a window is full (versions are
        numbered without gaps)."""
        found: list[Document] = []
        while True:
            ids = [version_id(complaint_id, after + n) for n in range(1, look_ahead + 1)]
            window = sorted(
                (await read_by_ids(self.versions, ids)).values(), key=lambda d: int(d["version"])
            )
            found += window
            if len(window) < look_ahead:
                return found
            after += look_ahead
