"""Turns a scripted history into the records the figures are counted from, in memory."""

from __future__ import annotations

import random
from collections import defaultdict

from services.stats.complaint import ComplaintRecord, ComplaintState, derive
from services.stats.facts import Fact, complaint_fact, delivery_fields, notification_fact
from services.stats.periods import zone
from services.stats.tallies import NotificationRecord
from shared.events import ComplaintRejected, Event, NotificationFailed, NotificationSent

TZ = zone("Asia/Shanghai")


def fact_maps(
    events: list[Event], seed: int | None = None
) -> tuple[dict[str, dict[str, Fact]], dict[str, dict[str, Fact]]]:
    """Complaint and delivery fact maps, filled in a shuffled order when ``seed`` is set."""
    order = list(events)
    if seed is not None:
        random.Random(seed).shuffle(order)
    complaints: dict[str, dict[str, Fact]] = defaultdict(dict)
    deliveries: dict[str, dict[str, Fact]] = defaultdict(dict)
    for event in order:
        if isinstance(event, ComplaintRejected):
            continue
        if isinstance(event, NotificationSent | NotificationFailed):
            deliveries[event.delivery_id][event.event_id] = notification_fact(event)
        else:
            complaints[event.complaint_id][event.event_id] = complaint_fact(event)  # type: ignore[arg-type]
    return complaints, deliveries


def states(events: list[Event], seed: int | None = None) -> dict[str, ComplaintState]:
    complaints, _ = fact_maps(events, seed)
    return {cid: derive(cid, facts, TZ) for cid, facts in complaints.items()}


def records(
    events: list[Event], seed: int | None = None
) -> tuple[list[ComplaintRecord], list[NotificationRecord]]:
    complaints, deliveries = fact_maps(events, seed)
    recs = [derive(cid, facts, TZ).record for cid, facts in complaints.items()]
    notes = [
        NotificationRecord.from_doc({"_id": did, **delivery_fields(facts, TZ)})
        for did, facts in deliveries.items()
    ]
    return recs, notes
