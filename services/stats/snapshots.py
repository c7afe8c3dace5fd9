"""Publishing ``stats.snapshots``: the latest figures per scope, coalesced.

A change marks its scopes dirty in MongoDB; any instance may claim a dirty scope
(atomic find-and-modify with a lease), recount it from the stored documents, publish
it and release it. A scope is published at most once per interval; a change during
publication leaves it dirty, so the last value on the topic is always recounted
after the last change, however many instances run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from services.stats.complaint import ComplaintRecord
from services.stats.figures import Filters, NotificationRecord, compute
from services.stats.periods import Scope, current_periods
from services.stats.settings import StatsSettings
from services.stats.store import StatsStore
from shared.events import StatsSnapshot

log = logging.getLogger(__name__)

Publish = Callable[[str, StatsSnapshot], Awaitable[None]]


def scope_filters(scope: Scope) -> Filters:
    if scope.kind == "responder":
        return Filters(responder=scope.subject)
    if scope.kind == "community":
        return Filters(community=scope.subject)
    return Filters()


def build_snapshot(
    scope: Scope,
    complaints: list[ComplaintRecord],
    notifications: list[NotificationRecord],
    lookup: dict[str, ComplaintRecord],
    rejected: int,
    now: datetime,
) -> StatsSnapshot:
    figures = compute(
        complaints,
        notifications,
        scope.period,
        scope_filters(scope),
        now,
        rejected=rejected,
        lookup=lookup,
        breakdowns=False,
    )
    return StatsSnapshot(
        scope=scope.key,
        period=scope.period,
        generated_at=now,
        counts=figures["counts"],
        rates=figures["rates"],
        medians_seconds=figures["medians_seconds"],
        by_category=figures["by_category"],
    )


class SnapshotPublisher:
    def __init__(
        self, store: StatsStore, publish: Publish, settings: StatsSettings, owner: str
    ) -> None:
        self.store, self.publish, self.settings, self.owner = store, publish, settings, owner

    async def publish_due(self) -> int:
        """One pass: claim, recount, publish and release the dirty scopes that are due."""
        interval = timedelta(seconds=self.settings.snapshot_interval_seconds)
        claimed = await self.store.claim_dirty(
            self.owner,
            timedelta(seconds=self.settings.snapshot_lease_seconds),
            interval,
            limit=500,
        )
        if not claimed:
            return 0
        scopes = [(Scope.parse(key), seq) for key, seq in claimed]
        try:
            # One read serves every claimed period: figures filter by period themselves.
            complaints, notifications, lookup, rejected = await self.store.period_data(
                sorted({scope.period for scope, _ in scopes})
            )
            now = datetime.now(UTC)
            # Each scope counts only its period's records, not every record read.
            lookup = {**lookup, **{c.complaint_id: c for c in complaints}}
            periods = {scope.period for scope, _ in scopes}
            of_period: dict[str, list[ComplaintRecord]] = {p: [] for p in periods}
            for complaint in complaints:
                for period in periods.intersection(complaint.periods):
                    of_period[period].append(complaint)
            notes: dict[str, list[NotificationRecord]] = {p: [] for p in periods}
            for note in notifications:
                for period in periods.intersection((note.day, note.month)):
                    notes[period].append(note)
            for scope, seq in scopes:
                snapshot = build_snapshot(
                    scope,
                    of_period[scope.period],
                    notes[scope.period],
                    lookup,
                    rejected[scope.period],
                    now,
                )
                await self.publish(scope.key, snapshot)
                await self.store.release(scope.key, seq, self.owner, interval)
        except BaseException:
            for scope, _ in scopes:
                with contextlib.suppress(Exception):
                    await self.store.abandon(scope.key, self.owner)
            raise
        return len(claimed)

    async def run(self) -> None:
        while True:
            published = 0
            started = time.monotonic()
            try:
                published = await self.publish_due()
            except Exception:
                # The claims were given back (or lapse after their lease), so another
                # pass, ours or another instance's, publishes those scopes.
                log.exception("snapshot pass failed; will retry")
            await asyncio.sleep(
                self.pause_after(time.monotonic() - started)
                if published
                else self.settings.snapshot_poll_seconds
            )

    def pause_after(self, seconds: float) -> float:
        """How long to wait after a pass that recounted.

        A pass reads every document of its periods, so its cost grows with the month.
        Waiting the whole interval lets scopes falling due at scattered moments share
        the next pass; waiting at least ``snapshot_busy_factor`` times the pass itself
        keeps recounting to a bounded share of the database's time however large the
        month grows (the figures then lag a little more, but stay exact)."""
        return max(
            self.settings.snapshot_interval_seconds, seconds * self.settings.snapshot_busy_factor
        )

    async def refresh(self) -> None:
        """Due times pass without events: recount the current periods now and then."""
        while True:
            await asyncio.sleep(self.settings.refresh_seconds)
            try:
                await self.store.refresh_periods(
                    current_periods(datetime.now(UTC), self.settings.tz)
                )
            except Exception:
                log.exception("refresh of current periods failed; will retry")
