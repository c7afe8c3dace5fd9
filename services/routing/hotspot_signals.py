"""What a change of one complaint tells the hot-spot detector (pure): the signals of
``services.hotspots.signals``, read off the state before and after a change.

Routing sends them on the internal ``hotspots.signals`` topic keyed by community, so
that one detector sees every complaint of a community, whichever partition owns it."""

from __future__ import annotations

from services.hotspots.signals import (
    ComplaintReopened,
    ComplaintReported,
    ComplaintResolved,
    ComplaintUnlinked,
    excerpt_of,
)
from services.routing.state import ComplaintState
from shared.events import ComplaintStatus

Signal = ComplaintReported | ComplaintResolved | ComplaintReopened | ComplaintUnlinked


def signals_of(before: ComplaintState | None, after: ComplaintState) -> list[Signal]:
    summary = after.summary
    where = {
        "complaint_id": after.complaint_id,
        "compound_id": summary.compound_id,
        "community_id": summary.community_id,
        "category": summary.category,
    }
    place = summary.location or None
    excerpt = excerpt_of(summary.description)
    found: list[Signal] = []
    was = before.status if before is not None else ComplaintStatus.RECEIVED
    now_at = after.timeline[-1].at if after.timeline else after.received_at
    if was == ComplaintStatus.RECEIVED and after.status in (
        ComplaintStatus.ROUTED,
        ComplaintStatus.DUPLICATE,
    ):
        found.append(
            ComplaintReported(
                **where,
                at=after.received_at,
                place=place,
                excerpt=excerpt,
                duplicate_of=after.duplicate_of,
            )
        )
    if was == ComplaintStatus.DUPLICATE and after.status == ComplaintStatus.ROUTED:
        found.append(ComplaintUnlinked(**where, at=now_at))
    if after.status == ComplaintStatus.RESOLVED and was != ComplaintStatus.RESOLVED:
        found.append(ComplaintResolved(**where, at=after.resolved_at or now_at))
    if before is not None and after.reopens > before.reopens:
        found.append(
            ComplaintReopened(
                **where,
                at=now_at,
                times=after.reopens,
                reported_at=after.received_at,
                place=place,
                excerpt=excerpt,
            )
        )
    return found
