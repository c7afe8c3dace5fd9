"""Routing's use cases: route a received complaint, apply an update, sweep for due
reminders and escalations, relay unpublished events. Each reads state from the store,
asks the pure domain what changes, writes the change with its events, then publishes.

Publishing is a port (``Publish``): the composition root passes Kafka, tests may pass
a list. No FastStream here."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.routing.duplicates import similarity
from services.routing.escalation import next_check, sweep
from services.routing.lifecycle import apply_update
from services.routing.policy import RoutingPolicy
from services.routing.route import classify_received, route_received
from services.routing.state import OPEN_STATUSES, ComplaintState, OutboxEntry
from services.routing.store import VERSION_CLAIM_LEASE, PendingMarker, RoutingStore
from shared.directory import Directory
from shared.events import ComplaintReceived, ComplaintUpdateRequest
from shared.mongo import now_ms

Publish = Callable[[OutboxEntry, str], Awaitable[None]]
"""Publish one outbox entry; the second argument is the Kafka key (the complaint id)."""

CONFLICT_RETRIES = 20
RECHECK_BACKOFF = timedelta(minutes=1)

log = logging.getLogger(__name__)


class UnknownComplaintError(LookupError):
    """No complaint with that id has reached routing."""


class ConcurrentChangeError(RuntimeError):
    """The complaint kept changing under us; the caller may try again."""


@dataclass
class Router:
    policy: RoutingPolicy
    directory: Directory
    store: RoutingStore
    publish: Publish
    relay_after: timedelta = timedelta(seconds=3)

    async def flush(self, state: ComplaintState, since: ComplaintState | None = None) -> None:
        """Publish what ``state`` owes, in order, then forget it. With ``since``, only
        the events added after that state: older ones are being published by whoever
        added them (or, after a crash, by the relay)."""
        already = {e.event_id for e in since.outbox} if since else set()
        entries = [e for e in state.outbox if e.event_id not in already]
        if not entries:
            return
        for entry in entries:
            await self.publish(entry, state.complaint_id)
        await self.store.mark_published(state.complaint_id, entries)
        await self.store.forget_pending(state.complaint_id, state.version)

    async def route(self, received: ComplaintReceived) -> ComplaintState:
        """Route a received complaint once, however often it is delivered."""
        existing = await self.store.get(received.complaint_id)
        if existing is None:
            classification = classify_received(self.policy, received)
            threshold = self.policy.duplicate_similarity
            candidates = await self.store.open_candidates(
                received.compound_id,
                classification.category.code,
                received.occurred_at - self.policy.duplicate_window,
                similar=lambda text: similarity(received.description, text) >= threshold,
            )
            state = route_received(
                received,
                classification,
                policy=self.policy,
                directory=self.directory,
                open_candidates=candidates,
                now=now_ms(),
            )
            if state.status in OPEN_STATUSES:
                # Before the insert: a crash in between then costs nothing (an entry
                # whose complaint is missing is skipped), while after it could cost a
                # duplicate link.
                await self.store.remember_recent(
                    state, keep_since=state.received_at - self.policy.duplicate_window
                )
            existing = await self.store.insert(state)
            if existing is not None:
                log.info(
                    "complaint routed",
                    extra={
                        "complaint_id": state.complaint_id,
                        "status": state.status.value,
                        "lead": state.lead.responder_id if state.lead else None,
                        "category": state.summary.category,
                    },
                )
            else:
                existing = await self.store.get(received.complaint_id)
                if existing is None:
                    raise ConcurrentChangeError(received.complaint_id)
        await self.flush(existing)
        return existing

    async def update(
        self, complaint_id: str, request: ComplaintUpdateRequest, *, key: str
    ) -> ComplaintState:
        """Apply one update (idempotent by ``key``); raises UnknownComplaintError or
        UpdateRefusedError."""
        for _ in range(CONFLICT_RETRIES):
            state = await self.store.get(complaint_id)
            if state is None:
                raise UnknownComplaintError(complaint_id)
            changed = apply_update(
                state,
                request,
                key=key,
                policy=self.policy,
                directory=self.directory,
                now=now_ms(),
            )
            if changed is state:  # applied before: make sure its events went out
                await self.flush(state)
                return state
            stored = await self.store.replace(changed, since=state)
            if stored is not None:
                await self.flush(stored, since=state)
                return stored
        raise ConcurrentChangeError(complaint_id)

    async def sweep_once(self, now: datetime | None = None) -> int:
        """One pass over complaints whose next check is due; the number of steps taken."""
        now = now or now_ms()
        steps = 0
        for state in await self.store.due_for_check(now):
            changed = sweep(state, policy=self.policy, directory=self.directory, now=now)
            if changed is None:
                # Nothing due after all (the policy changed under it): look again later
                # rather than every pass.
                changed = state.copy_for_change()
                later = next_check(state, self.policy)
                changed.next_check_at = later and max(later, now + RECHECK_BACKOFF)
                await self.store.replace(changed, since=state)
                continue
            stored = await self.store.replace(changed, since=state)
            if stored is not None:  # else another copy took this step
                steps += 1
                await self.flush(stored, since=state)
        return steps

    async def relay_once(self, now: datetime | None = None) -> int:
        """Publish events a crashed (or slow) copy wrote but never published, found
        through the pending markers its writes left."""
        now = now or now_ms()
        cutoff = now - self.relay_after
        markers: dict[str, list[PendingMarker]] = {}
        for marker in await self.store.pending_markers(created_before=cutoff):
            markers.setdefault(marker.complaint_id, []).append(marker)
        relayed = 0
        for complaint_id, mine in markers.items():
            state = await self.store.get(complaint_id)
            stale = [e for e in state.outbox if e.created_at <= cutoff] if state else []
            if state is not None and stale:
                for entry in stale:
                    await self.publish(entry, complaint_id)
                await self.store.mark_published(complaint_id, stale)
                relayed += len(stale)
            for marker in mine:
                # A marker is written before its version's state write, and its entries
                # are older than it, so they were all among ``stale``. A marker ahead of
                # the stored version is a write in flight, or one whose copy died.
                landed = state is not None and state.version >= marker.version
                if landed or marker.created_at < now - VERSION_CLAIM_LEASE:
                    await self.store.forget_pending(complaint_id, marker.version)
        return relayed
