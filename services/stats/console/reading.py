"""What the console reads from stats' store besides what the API already reads."""

from __future__ import annotations

from typing import Any

from services.stats.complaint import ComplaintState, derive
from services.stats.hotspots import OPEN, listing, record_of
from services.stats.parts import merge
from services.stats.store import StatsStore


async def complaint_states(store: StatsStore) -> list[ComplaintState]:
    """Every complaint's state. A scan of the whole collection, as the figures' recount
    scans a period: an open complaint may be months old, and stats keeps no index of
    who leads what (the documents are insert-only parts of facts)."""
    parts = store.complaints.find({}, {"events": 1, "complaint_id": 1, "part": 1})
    merged = merge([doc async for doc in parts])
    return [
        derive(complaint_id, facts.events, store.tz)
        for complaint_id, facts in sorted(merged.items())
        if facts.events
    ]


async def open_hotspots_of(store: StatsStore, hotspot_ids: list[str]) -> list[dict[str, Any]]:
    """The hot spots a complaint joined that are still open, as the hot-spot API lists
    them without residents' words."""
    found = []
    for hotspot_id in hotspot_ids:
        doc = await store.hotspot(hotspot_id)
        record = None if doc is None else record_of(hotspot_id, doc.get("facts") or {}, store.tz)
        if record is not None and record.status == OPEN:
            found.append(listing(record, detailed=False))
    return found
