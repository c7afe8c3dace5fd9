"""Racing writers on the real MongoDB-protocol server: one version, one winner."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from services.routing.state import ComplaintState
from services.routing.store import RoutingStore
from shared.events import Channel, ComplaintStatus, ComplaintSummary, Urgency

pytestmark = pytest.mark.integration


def new_state(complaint_id: str) -> ComplaintState:
    return ComplaintState(
        complaint_id=complaint_id,
        status=ComplaintStatus.RECEIVED,
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
    )


async def test_of_six_copies_writing_the_same_version_exactly_one_lands(mongo_db: Any) -> None:
    store = RoutingStore(mongo_db)
    await store.prepare()
    for round_number in range(10):
        inserted = await store.insert(new_state(f"c-race-{round_number}"))
        assert inserted is not None
        stored: ComplaintState = inserted

        async def escalate(copy: int, base: ComplaintState = stored) -> ComplaintState | None:
            changed = base.copy_for_change()
            changed.escalation_level = 1
            changed.bounces = copy  # tells the winner apart
            return await store.replace(changed, base)

        results = await asyncio.gather(*(escalate(copy) for copy in range(6)))
        winners = [r for r in results if r is not None]
        assert len(winners) == 1, f"round {round_number}: {len(winners)} writers won"
        final = await store.get(stored.complaint_id)
        assert final is not None
        assert final.version == 2
        assert final.bounces == winners[0].bounces
