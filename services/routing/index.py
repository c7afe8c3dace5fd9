"""Open complaints of every partition, by compound and category: where a new complaint
looks for the one it may repeat (pure: fed by the caller).

A complaint's owner knows only its own partitions' complaints, while a duplicate can
land on any partition. So every routing instance keeps this view of all open
complaints of the duplicate window, fed from ``complaints.routed`` and
``complaints.updated`` (every partition, outside the consumer group) and at once from
its own decisions. A complaint routed on another instance a moment ago may be missing
from it: the cost is a duplicate routed on its own, never a wrong link."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from services.routing.duplicates import Fingerprint
from services.routing.policy import RoutingPolicy
from services.routing.route import fingerprint_of
from services.routing.state import OPEN_STATUSES
from shared.events import (
    ComplaintRouted,
    ComplaintSummary,
    ComplaintUpdated,
    UpdateKind,
)

Scope = tuple[str, str]


class OpenIndex:
    """Each open complaint's fingerprint (read once, when first seen), by scope."""

    def __init__(self, policy: RoutingPolicy) -> None:
        self.policy = policy
        self._by_scope: dict[Scope, dict[str, Fingerprint]] = {}
        self._scope_of: dict[str, Scope] = {}

    def __len__(self) -> int:
        return len(self._scope_of)

    def candidates(
        self, compound_id: str, category: str, since: datetime
    ) -> list[tuple[str, Fingerprint]]:
        """Open complaints of one compound and category seen since ``since``."""
        return [
            (cid, fp)
            for cid, fp in self._by_scope.get((compound_id, category), {}).items()
            if fp.received_at >= since
        ]

    def observe_state(
        self, complaint_id: str, summary: ComplaintSummary, at: datetime, *, open_: bool
    ) -> None:
        """What this instance just decided about one of its own complaints."""
        if open_:
            self._open(complaint_id, summary, at)
        else:
            self._close(complaint_id)

    def observe(self, events: Iterable[ComplaintRouted | ComplaintUpdated]) -> None:
        for event in events:
            reopened = isinstance(event, ComplaintUpdated) and event.type == UpdateKind.REOPENED
            summary = event.summary
            if summary is not None and (isinstance(event, ComplaintRouted) or reopened):
                self._open(event.complaint_id, summary, event.occurred_at)
            elif isinstance(event, ComplaintUpdated) and event.status not in OPEN_STATUSES:
                self._close(event.complaint_id)

    def forget_before(self, cutoff: datetime) -> None:
        """Drop complaints first seen before ``cutoff`` (outside every duplicate window)."""
        for scope, members in list(self._by_scope.items()):
            for complaint_id, candidate in list(members.items()):
                if candidate.received_at < cutoff:
                    self._close(complaint_id)
            if not members:
                del self._by_scope[scope]

    def _open(self, complaint_id: str, summary: ComplaintSummary, at: datetime) -> None:
        scope = (summary.compound_id, summary.category)
        known = self._by_scope.get(scope, {}).get(complaint_id)
        if known is not None:
            return  # a re-route or a copy: the first sighting dates it
        self._close(complaint_id)
        self._by_scope.setdefault(scope, {})[complaint_id] = fingerprint_of(
            summary, at, self.policy
        )
        self._scope_of[complaint_id] = scope

    def _close(self, complaint_id: str) -> None:
        scope = self._scope_of.pop(complaint_id, None)
        if scope is not None:
            self._by_scope.get(scope, {}).pop(complaint_id, None)
