"""Stats keeps each complaint's facts as insert-only parts (``services.stats.parts``):
two owners of one partition (an old one finishing during a rebalance) race on part
numbers in the real database, and what a new owner loads is every fact, once."""

from __future__ import annotations

import random
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.stats.handlers import Batch
from services.stats.owner import StatsOwner
from services.stats.parts import complaint_of, number_of
from services.stats.store import StatsStore
from shared.consuming import Origin
from shared.events import Event
from shared.mongo import unpacked
from tests.unit.fakes import FakePublisher
from tests.unit.stats.history import october

pytestmark = pytest.mark.integration

TZ = ZoneInfo("Asia/Shanghai")


def batch_of(events: list[tuple[str, Event]]) -> Batch:
    batch = Batch()
    for offset, (topic, event) in enumerate(events):
        batch.add(event, Origin(topic, 0, offset), TZ)
    return batch


def owner(db: AsyncDatabase[dict[str, Any]]) -> StatsOwner:
    return StatsOwner(
        store=StatsStore(db, TZ),
        tz=TZ,
        changed=FakePublisher(),
        snapshots=FakePublisher(),
        interval=60,
    )


async def test_owners_racing_on_part_numbers_lose_no_fact_and_store_none_twice(
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    events = october().events
    random.Random(5).shuffle(events)
    thirds = len(events) // 3
    old, new = owner(mongo_db), owner(mongo_db)
    await old.take({0})
    # The new owner loads before the old one has written its last batches.
    await new.take({0})
    await old.apply(batch_of(events[:thirds]))
    await new.apply(batch_of(events[thirds : 2 * thirds]))
    await old.apply(batch_of(events[thirds : 2 * thirds]))
    await new.apply(batch_of(events[2 * thirds :] + events[:thirds]))

    parts = [doc async for doc in mongo_db["stats_complaints"].find({})]
    numbers: dict[str, list[int]] = {}
    for doc in parts:
        numbers.setdefault(complaint_of(doc), []).append(number_of(doc))
    # The new owner's first parts took numbers the old one had: it read them and went on.
    assert any(len(n) > 2 for n in numbers.values())
    assert all(sorted(n) == list(range(len(n))) for n in numbers.values())

    everything = batch_of(events)
    fresh = owner(mongo_db)
    await fresh.take({0})
    assert set(fresh.complaints) == set(everything.complaints)
    for complaint_id, change in everything.complaints.items():
        assert set(fresh.complaints[complaint_id].events) == set(change.events)
        assert set(fresh.complaints[complaint_id].notified) == set(change.notified)
    # No fact is stored twice: a lost part number is read before the next is written.
    keys = [
        (complaint_of(d), k)
        for d in parts
        for k in [*unpacked(d["events"]), *unpacked(d["notified"])]
    ]
    assert len(keys) == len(set(keys))
    # The figures of a complaint read by id agree with what the owner counts.
    for complaint_id, entry in fresh.complaints.items():
        found = await fresh.store.complaint(complaint_id)
        if entry.events:
            assert found is not None
            assert found[0].record == entry.record


async def test_deliveries_counted_in_batches_of_their_own_give_the_figures_of_a_recount(
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    """A batch of deliveries only moves what the deliveries add (the complaint's own part
    is kept from its last events): the running tallies still equal a recount from the
    stored facts, whichever came first."""
    events = october().events
    deliveries = [(t, e) for t, e in events if t.startswith("notifications.")]
    rest = [(t, e) for t, e in events if not t.startswith("notifications.")]
    assert deliveries
    assert rest
    counting = owner(mongo_db)
    await counting.take({0})
    half = len(rest) // 2
    # Some deliveries before their complaint's events, the rest after, one by one.
    await counting.apply(batch_of(deliveries[:1]))
    await counting.apply(batch_of(rest[:half]))
    for delivery in deliveries[1:]:
        await counting.apply(batch_of([delivery]))
    await counting.apply(batch_of(rest[half:]))

    fresh = owner(mongo_db)
    await fresh.take({0})

    def figures(o: StatsOwner) -> dict[tuple[str, int], dict[str, Any]]:
        return {k: t.to_document() for k, t in o.tallies.items() if t}

    assert figures(counting) == figures(fresh)
    assert any("notifications_sent" in t["counts"] for t in figures(fresh).values())
