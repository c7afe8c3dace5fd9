"""The owner of stats' partitions: their complaints' facts and figures in memory, the
running tallies of every scope over those partitions, and the snapshots of the scopes
whose home is one of them.

For each consumed batch: the complaints it brought new facts get one more part each
(``services.stats.parts``, one insert for the batch), and their contribution to every
scope is moved (the old one out, the new one in: ``tallies``). A few times a second the
tallies changed since the last pass are written whole (one bulk command) and each
changed scope is announced on ``stats.changed``, keyed by scope. That notice reaches
the owner of the scope's home partition (the partition its key hashes to), the only
instance that publishes the scope's snapshot: it sums the scope's tallies of every
partition (one read) at most once per interval. A notice follows its write, so the
last snapshot of a scope always follows its last change. Due times passing change
figures too: each complaint has a timer at its next one.

Taking partitions over recounts their complaints (one scan) and rewrites their
tallies, so a crash between writing facts and writing tallies leaves nothing wrong."""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from services.stats.complaint import ComplaintRecord, derive
from services.stats.facts import Fact
from services.stats.handlers import Batch, ComplaintChanges
from services.stats.hotspots import hotspot_contributions, record_of
from services.stats.parts import Facts, part_document
from services.stats.periods import Scope, recent_periods
from services.stats.store import StatsStore, notification_records
from services.stats.tallies import Tally, note_contributions, record_contributions
from shared.events import ScopeChanged, StatsSnapshot
from shared.mongo import now_ms
from shared.ownership import partition_of
from shared.publishing import Publisher, Sends
from shared.topics import STATS_CHANGED, STATS_SNAPSHOTS

log = logging.getLogger(__name__)

SERVICE = "stats"
ONE_MS = timedelta(milliseconds=1)
PART_ROUNDS = 8
"""Attempts at a part number before giving up on the batch (a race lost every time)."""
RECOUNT_SLICE = 500
"""Complaints recounted between two turns of the event loop when partitions are taken."""

PublishSnapshot = Callable[[str, StatsSnapshot], Awaitable[None]]


@dataclass
class Entry:
    """One complaint (or hot spot: ``events`` holds its ``detected``/``closed`` facts,
    and it has no ``record`` or timer) as the owner counts it."""

    partition: int
    events: dict[str, Fact] = field(default_factory=dict)
    notified: dict[str, Fact] = field(default_factory=dict)
    counted: dict[str, Tally] = field(default_factory=dict)
    """What it adds to each scope now (what the tallies hold of it); for a complaint,
    without its deliveries (``counted_notes``)."""
    counted_notes: dict[str, Tally] = field(default_factory=dict)
    record: ComplaintRecord | None = None
    derived_from: int = -1
    """How many of ``events`` ``record`` was derived from."""
    timer_at: datetime | None = None
    periods: set[str] = field(default_factory=set)
    parts: int = 0
    """The number its next stored part takes (``services.stats.parts``)."""

    def take_in(self, facts: Facts) -> None:
        """Stored facts read back (when taken over, or written by a racing owner)."""
        self.events.update(facts.events)
        self.notified.update(facts.notified)
        self.periods |= facts.periods
        self.parts = max(self.parts, facts.parts)


def snapshot_of(scope: str, tally: Tally, now: datetime) -> StatsSnapshot:
    parsed = Scope.parse(scope)
    figures = tally.figures()
    if parsed.kind == "city":
        figures["counts"].setdefault("rejected", 0)
    return StatsSnapshot(
        scope=scope,
        period=parsed.period,
        generated_at=now,
        counts=figures["counts"],
        rates=figures["rates"],
        medians_seconds=figures["medians_seconds"],
        by_category=figures["by_category"],
    )


def next_change(record: ComplaintRecord, now: datetime) -> datetime | None:
    """When the complaint's figures next change with no event: a due time passing."""
    times = []
    if record.acknowledged_at is None and record.acknowledge_by is not None:
        times.append(record.acknowledge_by)
    if record.resolved_at is None and record.resolve_by is not None:
        times.append(record.resolve_by)
    # "Overdue" and "due" count from strictly after the due time.
    upcoming = [t + ONE_MS for t in times if t + ONE_MS > now]
    return min(upcoming, default=None)


@dataclass
class StatsOwner:
    store: StatsStore
    tz: tzinfo
    changed: Publisher
    snapshots: Publisher
    interval: float
    partitions: int = 1
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    held: set[int] = field(default_factory=set)
    complaints: dict[str, Entry] = field(default_factory=dict)
    hotspots: dict[str, Entry] = field(default_factory=dict)
    tallies: dict[tuple[str, int], Tally] = field(default_factory=dict)
    rejected: dict[int, dict[str, set[str]]] = field(default_factory=dict)
    """Refused messages by partition, then period (they count in the city's figures)."""
    timers: list[tuple[datetime, str]] = field(default_factory=list)
    to_publish: dict[str, float] = field(default_factory=dict)
    """Scopes of home partitions held, changed since their last snapshot (first seen)."""
    published: dict[str, float] = field(default_factory=dict)
    unwritten: set[tuple[str, int]] = field(default_factory=set)
    """(scope, partition) tallies changed in memory and not yet written."""

    # -- ownership ----------------------------------------------------------------------

    async def take(self, partitions: set[int]) -> None:
        stored = await self.store.load(partitions)
        rejections = await self.store.load_rejections(partitions)
        now = now_ms()
        self.held |= partitions
        touched: set[tuple[str, int]] = set()
        for counted, (complaint_id, facts) in enumerate(stored.items(), 1):
            entry = self.complaints[complaint_id] = Entry(facts.partition)
            entry.take_in(facts)
            touched |= self._recount(complaint_id, entry, now)
            if counted % RECOUNT_SLICE == 0:
                # Tens of thousands of complaints take seconds of CPU to recount: let
                # the consumer's heartbeats out between slices, or the group drops
                # this member and the recount starts over elsewhere.
                await asyncio.sleep(0)
        for doc in await self.store.load_hotspots(partitions):
            entry = Entry(int(doc["partition"]), dict(doc.get("facts") or {}),
                          dict(doc.get("notified") or {}))  # fmt: skip
            self.hotspots[str(doc["_id"])] = entry
            touched |= self._recount_hotspot(str(doc["_id"]), entry)
        for doc in rejections:
            touched |= self._reject(
                str(doc["_id"]), int(doc["partition"]), doc.get("periods") or []
            )
        # Whatever the tallies held for these partitions, what was just counted holds.
        for key in [k for k in self.tallies if k[1] in partitions]:
            touched.add(key)
        await self.store.put_tallies({k: self.tallies.get(k, Tally()) for k in touched}, now)
        await self._announce({scope for scope, _ in touched})
        # Scopes whose home moved here may have changed after their last snapshot if
        # their old home stopped without publishing: publish this and last month's again.
        for scope in await self.store.tally_scopes(recent_periods(now, self.tz)):
            if partition_of(scope, self.partitions) in partitions:
                self.to_publish[scope] = time.monotonic()
        log.info(
            "partitions taken",
            extra={"partitions": sorted(partitions), "complaints": len(stored)},
        )

    async def give_up(self, partitions: set[int]) -> None:
        # Written before the next owner recounts them, never after.
        await self.write_tallies(partitions)
        self.held -= partitions
        for entries in (self.complaints, self.hotspots):
            for held in [k for k, e in entries.items() if e.partition in partitions]:
                del entries[held]
        for key in [k for k in self.tallies if k[1] in partitions]:
            del self.tallies[key]
        for partition in partitions:
            self.rejected.pop(partition, None)
        # Changes announced to this instance for scopes whose home moves away are
        # published now: their notices were read here and will not be read again.
        leaving = [s for s in self.to_publish if partition_of(s, self.partitions) in partitions]
        await self.publish(leaving)

    # -- counting -----------------------------------------------------------------------

    async def apply(self, batch: Batch) -> None:
        """Count one consumed batch (under ``lock``)."""
        changes = {c: ch for c, ch in batch.complaints.items() if ch.partition in self.held}
        rejections = {k: r for k, r in batch.rejections.items() if r["partition"] in self.held}
        hotspots = {h: ch for h, ch in batch.hotspots.items() if ch.partition in self.held}
        await self._store_parts(changes)
        if hotspots:
            await self.store.put_hotspots(
                {
                    h: (ch.partition, ch.events, ch.notified, ch.periods)
                    for h, ch in hotspots.items()
                }
            )
        if rejections:
            recorded = await self.store.put_rejections(
                [{"_id": k, **r} for k, r in sorted(rejections.items())]
            )
            rejections = {k: r for k, r in rejections.items() if k in recorded}
        now = now_ms()
        touched: set[tuple[str, int]] = set()
        for complaint_id in changes:
            # Stored, so in memory: ``_store_parts`` took every part in as it landed.
            touched |= self._recount(complaint_id, self.complaints[complaint_id], now)
        for hotspot_id, change in hotspots.items():
            entry = self.hotspots.setdefault(hotspot_id, Entry(change.partition))
            entry.events.update(change.events)
            entry.notified.update(change.notified)
            touched |= self._recount_hotspot(hotspot_id, entry)
        for key, rejection in rejections.items():
            touched |= self._reject(key, int(rejection["partition"]), rejection["periods"])
        self.unwritten |= touched
        for scope in batch.changed_scopes:
            if partition_of(scope, self.partitions) in self.held:
                self.to_publish[scope] = time.monotonic()

    async def _store_parts(self, changes: Mapping[str, ComplaintChanges]) -> None:
        """One new part for each complaint the batch brought facts it had not stored,
        in one insert. A part number a racing owner took is read back, and what it did
        not hold goes into the next number. Memory follows what is stored, so a batch
        retried after a transient failure writes nothing twice."""
        pending = dict(changes)
        for _ in range(PART_ROUNDS):
            parts = {}
            for complaint_id, change in sorted(pending.items()):
                entry = self.complaints.get(complaint_id) or Entry(change.partition)
                events = {k: v for k, v in change.events.items() if k not in entry.events}
                notified = {k: v for k, v in change.notified.items() if k not in entry.notified}
                if events or notified:
                    periods = entry.periods | change.periods
                    parts[complaint_id] = part_document(
                        complaint_id, entry.parts, change.partition, events, notified, periods
                    )
            taken = await self.store.put_parts(list(parts.values()))
            for complaint_id, part in parts.items():
                if part["_id"] not in taken:
                    entry = self.complaints.setdefault(complaint_id, Entry(part["partition"]))
                    entry.take_in(Facts.of(part))
            pending = {c: pending[c] for c, part in parts.items() if part["_id"] in taken}
            if not pending:
                return
            for complaint_id, facts in (await self.store.parts_of(pending)).items():
                self.complaints.setdefault(complaint_id, Entry(facts.partition)).take_in(facts)
        raise RuntimeError(f"complaint parts still taken after {PART_ROUNDS} rounds")

    def _recount(
        self, complaint_id: str, entry: Entry, now: datetime, *, due_time: bool = False
    ) -> set[tuple[str, int]]:
        """Move one complaint's contribution; the (scope, partition) tallies it moved.

        The complaint's own part changes only with its events or a due time passing
        (``due_time``), so a batch that brings only deliveries moves only theirs: a
        delivery is about half of what stats consumes, and deriving the complaint again
        was most of the work of counting it."""
        moved: set[tuple[str, int]] = set()
        record = entry.record
        if record is None or due_time or entry.derived_from != len(entry.events):
            derived = derive(complaint_id, entry.events, self.tz).record if entry.events else None
            # Deliveries of a complaint whose own events have not come yet count in no
            # scope of the complaint: only the delivery's own responder and the city.
            record = derived or ComplaintRecord(complaint_id)
            counted = record_contributions(record, now)
            moved |= self._move(entry.partition, entry.counted, counted)
            entry.counted, entry.record, entry.derived_from = counted, record, len(entry.events)
            due = next_change(record, now)
            if due is not None and due != entry.timer_at:
                heapq.heappush(self.timers, (due, complaint_id))
            entry.timer_at = due
        notes = notification_records(entry.notified, complaint_id, self.tz)
        counted_notes = note_contributions(record.community_id, notes)
        moved |= self._move(entry.partition, entry.counted_notes, counted_notes)
        entry.counted_notes = counted_notes
        return moved

    def _recount_hotspot(self, hotspot_id: str, entry: Entry) -> set[tuple[str, int]]:
        record = record_of(hotspot_id, entry.events, self.tz)
        notes = notification_records(entry.notified, hotspot_id, self.tz)
        counted = hotspot_contributions(record, notes)
        moved = self._move(entry.partition, entry.counted, counted)
        entry.counted = counted
        return moved

    def _move(
        self, partition: int, old: dict[str, Tally], new: dict[str, Tally]
    ) -> set[tuple[str, int]]:
        """Replace what an entry adds to each scope (``old``, what the tallies hold of
        it) by ``new``; the (scope, partition) tallies moved."""
        moved: set[tuple[str, int]] = set()
        for scope in old.keys() | new.keys():
            before, after = old.get(scope), new.get(scope)
            if before == after:
                continue
            tally = self.tallies.setdefault((scope, partition), Tally())
            if before is not None:
                tally.remove(before)
            if after is not None:
                tally.add(after)
            moved.add((scope, partition))
        return moved

    def _reject(self, key: str, partition: int, periods: Iterable[str]) -> set[tuple[str, int]]:
        moved: set[tuple[str, int]] = set()
        seen = self.rejected.setdefault(partition, {})
        for period in periods:
            keys = seen.setdefault(period, set())
            if key in keys:
                continue
            keys.add(key)
            scope = Scope("city", period).key
            self.tallies.setdefault((scope, partition), Tally()).counts["rejected"] += 1
            moved.add((scope, partition))
        return moved

    async def _announce(self, scopes: set[str]) -> None:
        sends = Sends(SERVICE)
        for scope in sorted(scopes):
            notice = ScopeChanged(scope=scope).model_dump_json().encode()
            await sends.add(self.changed, STATS_CHANGED, notice, scope)
        await sends.wait()

    # -- time passing -------------------------------------------------------------------

    async def fire_timers(self) -> datetime | None:
        """Recount the complaints a due time changed (under ``lock``); the next timer."""
        now = now_ms()
        due: set[str] = set()
        while self.timers and self.timers[0][0] <= now:
            due.add(heapq.heappop(self.timers)[1])
        touched: set[tuple[str, int]] = set()
        for complaint_id in due:
            entry = self.complaints.get(complaint_id)
            if entry is not None:
                entry.timer_at = None
                touched |= self._recount(complaint_id, entry, now, due_time=True)
        self.unwritten |= touched
        return self.timers[0][0] if self.timers else None

    async def write_tallies(self, partitions: set[int] | None = None) -> int:
        """Write the tallies batches and timers changed since the last pass (of
        ``partitions`` only, when given), then announce their scopes (under ``lock``).

        Batches only mark their tallies: under a steady flow a scope's tally changes in
        almost every batch, and FerretDB applies each replacement as a read and a write.
        Written a few times a second, a tally costs one statement per pass instead of
        one per batch; snapshots come at most every ``interval`` anyway. A crash before
        the pass loses nothing: taking the partitions over recounts their tallies."""
        due = {k for k in self.unwritten if partitions is None or k[1] in partitions}
        if not due:
            return 0
        await self.store.put_tallies({k: self.tallies.get(k, Tally()) for k in due}, now_ms())
        self.unwritten -= due
        await self._announce({scope for scope, _ in due})
        return len(due)

    # -- snapshots ----------------------------------------------------------------------

    async def publish_due(self) -> int:
        """Publish the changed scopes not published within the interval."""
        clock = time.monotonic()
        due = [
            scope
            for scope in self.to_publish
            if self.published.get(scope, 0.0) + self.interval <= clock
        ]
        return await self.publish(due)

    async def publish(self, scopes: list[str]) -> int:
        """Each scope's figures summed over every partition (one read), published."""
        if not scopes:
            return 0
        started = time.monotonic()
        totals = await self.store.scope_tallies(scopes, self.partitions)
        now = now_ms()
        sends = Sends(SERVICE)
        for scope in scopes:
            snapshot = snapshot_of(scope, totals[scope], now)
            body = snapshot.model_dump_json().encode()
            await sends.add(self.snapshots, STATS_SNAPSHOTS, body, scope)
        await sends.wait()
        for scope in scopes:
            # A notice that came in after the read keeps its scope for the next pass.
            if self.to_publish.get(scope, started) < started:
                del self.to_publish[scope]
            self.published[scope] = started
        return len(scopes)
