"""One scope of hot-spot detection: the complaints of one category in one compound or
community, their sliding window, and the hot spot open there, if any.

A scope is driven by its detector, which owns the clock: ``now`` is always the
detector's current time, never earlier than a time it was given before."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.hotspots.changes import Closed, Hotspot, Joined, Opened, hotspot_id_for
from shared.events import (
    HotspotCloseReason,
    HotspotComplaint,
    HotspotKind,
    HotspotScope,
    HotspotScopeKind,
    HotspotTrigger,
)

ScopeKey = tuple[HotspotKind, HotspotScopeKind, str, str]
"""(hot-spot kind, scope kind, scope id, category); sorting by it orders same-time changes."""


@dataclass(frozen=True)
class Rule:
    count: int
    within: timedelta
    min_compounds: int = 1
    min_span: timedelta = timedelta(0)
    """How far apart the first and last complaint that open a hot spot must be."""


def _order(complaint: HotspotComplaint) -> tuple[datetime, str]:
    return (complaint.reported_at, complaint.complaint_id)


@dataclass
class _OpenHotspot:
    hotspot_id: str
    trigger: HotspotTrigger
    threshold: int
    """What was reached: complaints within the window, or reopenings of one complaint."""
    opened_at: datetime
    members: dict[str, HotspotComplaint]
    counted: list[datetime]
    """Report times of the members, sorted: the window count is read from these."""
    held_until: datetime | None = None
    """A reopened complaint keeps a recurring hot spot open one window after its reopening."""

    def deadline(self, rule: Rule) -> datetime:
        """When it closes if nothing more happens: the instant fewer than ``rule.count``
        of its complaints lie within the window (a complaint exactly one window old is
        out), or later if a reopened complaint holds it open."""
        times = []
        if len(self.counted) >= rule.count:
            times.append(self.counted[len(self.counted) - rule.count] + rule.within)
        if self.held_until is not None:
            times.append(self.held_until)
        return max(times)


@dataclass
class Scope:
    key: ScopeKey
    rule: Rule
    community_id: str | None
    closes_when_resolved: bool
    entries: list[HotspotComplaint] = field(default_factory=list)
    """Complaints counted here, in report order; older than one window are dropped."""
    entry_ids: set[str] = field(default_factory=set)
    used: set[str] = field(default_factory=set)
    """Complaints of closed hot spots: each counts towards one hot spot of a scope."""
    open: _OpenHotspot | None = None
    busy_until: datetime | None = None
    """Until then, complaints of a closed hot spot are still inside the window."""
    chain_basis: datetime | None = None
    """The earliest event time the current run of hot spots depends on (see
    ``Detector.replay_from``)."""

    @property
    def kind(self) -> HotspotKind:
        return self.key[0]

    @property
    def scope(self) -> HotspotScope:
        return HotspotScope(kind=self.key[1], id=self.key[2])

    @property
    def category(self) -> str:
        return self.key[3]

    def quiet(self, now: datetime) -> bool:
        """Nothing open, and no complaint of a closed hot spot left in the window: the
        scope is as if it had never seen a hot spot."""
        return self.open is None and (self.busy_until is None or self.busy_until <= now)

    def deadline(self) -> datetime | None:
        return None if self.open is None else self.open.deadline(self.rule)

    def in_window(self, now: datetime) -> list[HotspotComplaint]:
        start = bisect.bisect_right(
            self.entries, now - self.rule.within, key=lambda c: c.reported_at
        )
        return self.entries[start:]

    def snapshot(self) -> Hotspot:
        assert self.open is not None
        trigger = self.open.trigger
        return Hotspot(
            hotspot_id=self.open.hotspot_id,
            kind=self.kind,
            trigger=trigger,
            scope=self.scope,
            community_id=self.community_id,
            category=self.category,
            threshold=self.open.threshold,
            within=self.rule.within,
            opened_at=self.open.opened_at,
            complaints=tuple(sorted(self.open.members.values(), key=_order)),
        )

    def add(self, complaint: HotspotComplaint, now: datetime) -> Opened | Joined | None:
        """Count ``complaint`` here: it joins the open hot spot, or may open one."""
        if complaint.reported_at <= now - self.rule.within:
            return None  # already out of every window this scope will look at
        if complaint.complaint_id in self.entry_ids:
            return None
        self.entry_ids.add(complaint.complaint_id)
        bisect.insort(self.entries, complaint, key=_order)
        if self.open is not None:
            return self._join(complaint, now)
        fresh = [c for c in self.in_window(now) if c.complaint_id not in self.used]
        if len(fresh) < self.rule.count:
            return None
        if len({c.compound_id for c in fresh}) < self.rule.min_compounds:
            return None
        if fresh[-1].reported_at - fresh[0].reported_at < self.rule.min_span:
            return None
        return self._open(
            fresh, now, HotspotTrigger.COUNT, fresh[0].complaint_id, threshold=self.rule.count
        )

    def reopened(
        self, complaint: HotspotComplaint, reopened_at: datetime, times: int, now: datetime
    ) -> Opened | Joined | None:
        """A complaint was reopened once too often: it opens a recurring hot spot here
        (with the scope's fresh complaints), or joins and holds open the one open."""
        if reopened_at <= now - self.rule.within:
            return None
        held_until = reopened_at + self.rule.within
        if self.open is not None:
            self.open.held_until = max(held_until, self.open.held_until or held_until)
            if complaint.complaint_id in self.open.members:
                return None
            return self._join(complaint, now)
        fresh = [
            c
            for c in self.in_window(now)
            if c.complaint_id not in self.used and c.complaint_id != complaint.complaint_id
        ]
        members = sorted([complaint, *fresh], key=_order)
        basis = f"{complaint.complaint_id}#reopened{times}"
        opened = self._open(members, now, HotspotTrigger.REOPENED, basis, threshold=times)
        assert self.open is not None
        self.open.held_until = held_until
        return opened

    def close(self, at: datetime, reason: HotspotCloseReason) -> Closed:
        assert self.open is not None
        closed = Closed(hotspot=self.snapshot(), reason=reason, at=at)
        self.used |= self.open.members.keys()
        latest = max(c.reported_at for c in self.open.members.values()) + self.rule.within
        self.busy_until = latest if self.busy_until is None else max(self.busy_until, latest)
        self.open = None
        return closed

    def forget_before(self, now: datetime) -> None:
        """Drop what can no longer count: complaints older than one window."""
        kept = self.in_window(now)
        if len(kept) != len(self.entries):
            self.entries = kept
            self.entry_ids = {c.complaint_id for c in kept}
            self.used &= self.entry_ids

    def _open(
        self,
        members: list[HotspotComplaint],
        now: datetime,
        trigger: HotspotTrigger,
        basis: str,
        *,
        threshold: int,
    ) -> Opened:
        if self.quiet(now):
            self.chain_basis = now - self.rule.within
        self.open = _OpenHotspot(
            hotspot_id=hotspot_id_for(self.kind, self.scope, self.category, trigger, basis),
            trigger=trigger,
            threshold=threshold,
            opened_at=now,
            members={c.complaint_id: c for c in members},
            counted=sorted(c.reported_at for c in members),
        )
        return Opened(hotspot=self.snapshot(), at=now)

    def _join(self, complaint: HotspotComplaint, now: datetime) -> Joined:
        assert self.open is not None
        self.open.members[complaint.complaint_id] = complaint
        bisect.insort(self.open.counted, complaint.reported_at)
        return Joined(hotspot=self.snapshot(), complaint_id=complaint.complaint_id, at=now)
