"""Hot-spot detection (未訴先辦) over the signals of one community: a pure, deterministic
state machine with no I/O and no clock of its own.

Scopes: every complaint counts in its compound × category and its community × category
(clusters, linked duplicates included), and, unless it is a linked duplicate, in its
compound × category for recurrence. Each scope has a sliding window and at most one
open hot spot:

- it opens when the window's count of complaints not yet in a hot spot of that scope
  reaches the threshold (a community one also needs complaints from ``min_compounds``
  compounds, a recurring one complaints spread over ``min_span``); a recurring one
  also opens when a complaint is reopened for the ``recurrence.reopened``-th time;
- while it is open every new complaint of the scope joins it (``Joined``: no new alert);
- a cluster closes when fewer than the threshold of its complaints lie within the
  window, or when all its complaints are resolved (a linked duplicate is resolved with
  its original); a recurring one closes only when it subsides (fewer than the threshold
  within the window, and no reopening within the window holds it open);
- a complaint counts towards at most one hot spot of a scope, so the next hot spot
  there needs a fresh threshold of complaints, with a new id.

Time. The detector's clock is the latest event time it was given, by a signal or by
``expire(now)``. ``observe`` first closes what was due by its signal's time, so the
same signals give the same changes however they are batched and whenever ``expire`` ran
in between, as long as ``expire`` never ran ahead of a signal still to come.

Out-of-order signals (event time earlier than the clock) are placed at their own time
in the windows, but what they change is decided at the clock: they may open a hot spot
now if the window ending now holds enough complaints, join one open now, or close one
now. They never change what was already given: a closed hot spot stays closed, an id is
never reused, and ``Closed.at`` is never earlier than a change already returned. A
signal older than the longest window is ignored. So a signal that reaches the detector
after ``expire`` closed its hot spot does not reopen it; on a replay without that
``expire`` call it would have joined it. A service that wants replays to match exactly
publishes its timer's times as ``ClockTick`` signals and expires only on those.

Idempotence: each signal's ``identity`` is applied once; a replay changes nothing.

Rebuilding: the state lives in memory. ``replay_from()`` says how far back a rebuild
must replay the input to reach the same state: one longest window (30 days), further
while a run of hot spots in some scope reaches further back."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.hotspots.changes import Change, Hotspot
from services.hotspots.policy import HotspotPolicy
from services.hotspots.scopes import Rule, Scope, ScopeKey
from services.hotspots.signals import (
    ClockTick,
    ComplaintReopened,
    ComplaintReported,
    ComplaintResolved,
    ComplaintSignal,
    ComplaintUnlinked,
    Signal,
)
from shared.events import HotspotCloseReason, HotspotComplaint, HotspotKind, HotspotScopeKind

PRUNE_EVERY = timedelta(days=1)
"""How often (in event time) what can no longer count is forgotten; outputs do not
depend on it, only memory does."""


@dataclass
class _Record:
    """What the detector knows of one complaint."""

    facts: HotspotComplaint | None = None
    duplicate_of: str | None = None
    unlinked: bool = False
    resolutions: set[datetime] = field(default_factory=set)
    reopenings: dict[int, datetime] = field(default_factory=dict)
    applied: set[tuple[str, ...]] = field(default_factory=set)
    last_at: datetime | None = None

    def resolved_itself(self) -> bool:
        """Resolved after its latest reopening (by event time, whatever the arrival order)."""
        if not self.resolutions:
            return False
        return not self.reopenings or max(self.resolutions) > max(self.reopenings.values())


class Detector:
    """All scopes of one community (or of any set of signals given to one instance)."""

    def __init__(self, policy: HotspotPolicy) -> None:
        self.policy = policy
        self._clock: datetime | None = None
        self._pruned_at: datetime | None = None
        self._scopes: dict[ScopeKey, Scope] = {}
        self._records: dict[str, _Record] = {}

    @property
    def clock(self) -> datetime | None:
        return self._clock

    def observe(self, signal: Signal) -> list[Change]:
        """Apply one signal; the changes it causes, after those due before it."""
        changes = self.expire(signal.at)
        if isinstance(signal, ClockTick):
            return changes
        assert self._clock is not None
        if signal.at <= self._clock - self.policy.longest_window:
            return changes
        record = self._records.setdefault(signal.complaint_id, _Record())
        if signal.identity in record.applied:
            return changes
        record.applied.add(signal.identity)
        record.last_at = signal.at if record.last_at is None else max(record.last_at, signal.at)
        return changes + self._apply(signal, record, self._clock)

    def observe_all(self, signals: Iterable[Signal]) -> list[Change]:
        return [change for signal in signals for change in self.observe(signal)]

    def expire(self, now: datetime) -> list[Change]:
        """Close what is due by ``now`` (each at its own due time, in time order) and
        move the clock to ``now``; nothing if ``now`` is not later than the clock."""
        if self._clock is not None and now <= self._clock:
            return []
        due = sorted(
            (deadline, key)
            for key, scope in self._scopes.items()
            if (deadline := scope.deadline()) is not None and deadline <= now
        )
        changes: list[Change] = [
            self._scopes[key].close(deadline, HotspotCloseReason.SUBSIDED) for deadline, key in due
        ]
        self._clock = now
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self._prune(now)
        return changes

    def next_deadline(self) -> datetime | None:
        """When ``expire`` must run next for a hot spot to close on time (None: never)."""
        deadlines = [d for s in self._scopes.values() if (d := s.deadline()) is not None]
        return min(deadlines, default=None)

    def open_hotspots(self) -> list[Hotspot]:
        return [s.snapshot() for _, s in sorted(self._scopes.items()) if s.open is not None]

    def replay_from(self) -> datetime | None:
        """The earliest event time a rebuild must replay from to reach this state.

        A replay of every signal from the first one at or after it, in the same order,
        gives the same open hot spots with the same ids, and the same changes after that
        for the same further input (see the module's note on ``expire`` and late
        signals). It is one longest window before the clock, or earlier while a run of
        hot spots reaches further back: replaying from inside a run would let
        complaints of a hot spot the replay never saw count again."""
        if self._clock is None:
            return None
        clock = self._clock
        bases = [
            s.chain_basis
            for s in self._scopes.values()
            if s.chain_basis is not None and not s.quiet(clock)
        ]
        return min([clock - self.policy.longest_window, *bases])

    def _apply(self, signal: ComplaintSignal, record: _Record, now: datetime) -> list[Change]:
        if isinstance(signal, ComplaintReported):
            return self._reported(signal, record, now)
        if isinstance(signal, ComplaintReopened):
            return self._reopened(signal, record, now)
        if isinstance(signal, ComplaintUnlinked):
            record.unlinked, record.duplicate_of = True, None
            if record.facts is None:
                return []
            # Its own case now: one more occurrence for recurrence.
            record.facts = record.facts.model_copy(update={"duplicate_of": None})
            return self._add(record.facts, [self._recurring_key(signal)], signal, now)
        assert isinstance(signal, ComplaintResolved)
        record.resolutions.add(signal.at)
        return self._close_resolved(now)

    def _reported(self, signal: ComplaintReported, record: _Record, now: datetime) -> list[Change]:
        record.facts = HotspotComplaint(
            complaint_id=signal.complaint_id,
            compound_id=signal.compound_id,
            reported_at=signal.at,
            place=signal.place,
            excerpt=signal.excerpt,
            duplicate_of=signal.duplicate_of,
        )
        record.duplicate_of = None if record.unlinked else signal.duplicate_of
        keys = [self._key(HotspotKind.CLUSTER, HotspotScopeKind.COMPOUND, signal)]
        if signal.community_id is not None:
            keys.append(self._key(HotspotKind.CLUSTER, HotspotScopeKind.COMMUNITY, signal))
        if record.duplicate_of is None:
            # A duplicate is another resident on the same occurrence, not a recurrence.
            keys.append(self._recurring_key(signal))
        return self._add(record.facts, keys, signal, now)

    def _reopened(self, signal: ComplaintReopened, record: _Record, now: datetime) -> list[Change]:
        record.reopenings[signal.times] = signal.at
        if record.facts is None:
            record.facts = HotspotComplaint(
                complaint_id=signal.complaint_id,
                compound_id=signal.compound_id,
                reported_at=signal.reported_at,
                place=signal.place,
                excerpt=signal.excerpt,
            )
        if signal.times != self.policy.recurrence.reopened:
            return []
        scope = self._scope(self._recurring_key(signal), signal)
        change = scope.reopened(record.facts, signal.at, signal.times, now)
        return [] if change is None else [change]

    def _add(
        self,
        complaint: HotspotComplaint,
        keys: list[ScopeKey],
        signal: ComplaintSignal,
        now: datetime,
    ) -> list[Change]:
        changes: list[Change] = []
        for key in keys:
            change = self._scope(key, signal).add(complaint, now)
            if change is not None:
                changes.append(change)
        return changes

    def _close_resolved(self, now: datetime) -> list[Change]:
        changes: list[Change] = []
        for _, scope in sorted(self._scopes.items()):
            if scope.open is None or not scope.closes_when_resolved:
                continue
            if all(self._is_resolved(c) for c in scope.open.members):
                changes.append(scope.close(now, HotspotCloseReason.RESOLVED))
        return changes

    def _is_resolved(self, complaint_id: str) -> bool:
        record = self._records.get(complaint_id)
        if record is None:
            return False
        if record.resolved_itself():
            return True
        original = self._records.get(record.duplicate_of) if record.duplicate_of else None
        return original is not None and original.resolved_itself()

    def _key(
        self, kind: HotspotKind, scope_kind: HotspotScopeKind, signal: ComplaintSignal
    ) -> ScopeKey:
        scope_id = signal.compound_id
        if scope_kind == HotspotScopeKind.COMMUNITY:
            assert signal.community_id is not None
            scope_id = signal.community_id
        return (kind, scope_kind, scope_id, signal.category)

    def _recurring_key(self, signal: ComplaintSignal) -> ScopeKey:
        return self._key(HotspotKind.RECURRING, HotspotScopeKind.COMPOUND, signal)

    def _scope(self, key: ScopeKey, signal: ComplaintSignal) -> Scope:
        scope = self._scopes.get(key)
        if scope is None:
            scope = Scope(
                key=key,
                rule=self._rule(key),
                community_id=signal.community_id,
                closes_when_resolved=key[0] == HotspotKind.CLUSTER,
            )
            self._scopes[key] = scope
        return scope

    def _rule(self, key: ScopeKey) -> Rule:
        kind, scope_kind, _, category = key
        if kind == HotspotKind.RECURRING:
            recurrence = self.policy.recurrence
            return Rule(recurrence.count, recurrence.within, min_span=recurrence.min_span)
        if scope_kind == HotspotScopeKind.COMMUNITY:
            community = self.policy.community_threshold(category)
            return Rule(community.count, community.within, community.min_compounds)
        compound = self.policy.compound_threshold(category)
        return Rule(count=compound.count, within=compound.within)

    def _prune(self, now: datetime) -> None:
        """Forget what can no longer count or close anything."""
        self._pruned_at = now
        needed: set[str] = set()
        for key in list(self._scopes):
            scope = self._scopes[key]
            scope.forget_before(now)
            if scope.open is not None:
                needed |= scope.open.members.keys()
            elif not scope.entries and scope.quiet(now):
                del self._scopes[key]
        needed |= {
            record.duplicate_of
            for complaint_id in needed
            if (record := self._records.get(complaint_id)) is not None and record.duplicate_of
        }
        horizon = now - self.policy.longest_window
        for complaint_id in list(self._records):
            record = self._records[complaint_id]
            if complaint_id not in needed and (record.last_at is None or record.last_at <= horizon):
                del self._records[complaint_id]
