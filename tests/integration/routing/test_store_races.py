"""Racing writers on the real MongoDB-protocol server: one version, one winner."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from services.routing.state import ComplaintState
from services.routing.store import RoutingStore, VersionRecord, state_of
from shared.events import Channel, ComplaintStatus, ComplaintSummary, Urgency

pytestmark = pytest.mark.integration


def state(complaint_id: str, version: int, bounces: int) -> ComplaintState:
    return ComplaintState(
        complaint_id=complaint_id,
        version=version,
        status=ComplaintStatus.ROUTED,
        summary=ComplaintSummary(
            category="sanitation",
            category_name="環境臟亂差",
            urgency=Urgency.NORMAL,
            compound_id="cx-001",
            description="垃圾堆放好幾天沒人清運",
            channel=Channel.HOTLINE,
        ),
        received_at=datetime.now(UTC),
        category_source="given",
        bounces=bounces,  # tells the writers apart
    )


async def test_of_six_owners_writing_the_same_version_exactly_one_lands(mongo_db: Any) -> None:
    store = RoutingStore(mongo_db)
    for round_number in range(10):
        complaint_id = f"c-race-{round_number}"
        await store.write(
            [VersionRecord(state(complaint_id, 1, 0), 0, "received")], datetime.now(UTC)
        )

        async def write(copy: int, complaint_id: str = complaint_id) -> bool:
            record = VersionRecord(state(complaint_id, 2, copy), 0, f"owner-{copy}")
            taken = await store.write([record], datetime.now(UTC))
            return record.id not in taken

        results = await asyncio.gather(*(write(copy) for copy in range(6)))
        assert results.count(True) == 1, f"round {round_number}: {results.count(True)} landed"
        winner = results.index(True)
        [latest] = await store.newest_versions(complaint_id, 1)
        assert latest["cause"] == f"owner-{winner}"
        assert state_of(latest).bounces == winner


async def test_a_replayed_batch_finds_its_own_versions_and_a_rival_finds_the_winners(
    mongo_db: Any,
) -> None:
    store = RoutingStore(mongo_db)
    mine = VersionRecord(state("c-replay", 1, 0), 0, "received:e1")
    rival = VersionRecord(state("c-replay", 1, 7), 0, "received:other")
    assert await store.write([mine], datetime.now(UTC)) == {}
    again = await store.write([mine], datetime.now(UTC))
    assert again[mine.id]["cause"] == mine.cause  # the same batch replayed: no conflict
    lost = await store.write([rival], datetime.now(UTC))
    assert lost[rival.id]["cause"] == mine.cause  # someone else's version stands
