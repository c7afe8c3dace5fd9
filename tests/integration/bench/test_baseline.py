"""The fair baseline on the real broker and MongoDB-protocol server: its four stage
processes carry paced and burst steps end to end, write the documented documents per
message (keeping all but notify's open markers), and a replayed message writes nothing
new."""

from __future__ import annotations

from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from devtools.bench.baseline import Shape
from devtools.bench.baseline_runner import BaselineRun
from devtools.bench.load import BenchComplaints
from tests.support import Infra

pytestmark = pytest.mark.integration

COLLECTIONS = {
    "intake": ["baseline_submissions"],
    "routing": ["baseline_versions"],
    "notify": ["baseline_open", "baseline_deliveries", "baseline_outcomes"],
    "stats": ["baseline_complaints"],
}


async def test_the_baseline_carries_every_message_and_writes_its_shape(
    infra: Infra, tmp_path: Path
) -> None:
    shape = Shape(deliveries=2)
    run = BaselineRun(infra, tmp_path, tmp_path / "logs", shape)
    complaints = BenchComplaints("it", per_compound=5)
    await run.start()
    try:
        paced_bodies = complaints.take(40, "paced")
        paced = await run.step(80, paced_bodies, timeout=120, stall=60)
        burst = await run.step(None, complaints.take(150, "burst"), timeout=120, stall=60)
        # The same messages again: every stage writes the same ids.
        replay = await run.step(None, paced_bodies, timeout=120, stall=60)
    finally:
        await run.stop()

    for step, count in ((paced, 40), (burst, 150), (replay, 40)):
        assert step["complete"], step
        assert step["delivered"] == count
    assert paced["seconds"] >= 0.45  # 40 messages at 80/s are spread over half a second
    assert paced["latency_ms"]["p99"] > 0
    assert all(paced["db_commands_per_complaint"][s]["total"] > 0 for s in COLLECTIONS)
    assert set(burst["stages"]) == set(COLLECTIONS)

    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(infra.mongodb_url)
    try:
        db = client[run.database]
        stored = {
            stage: sum([await db[name].count_documents({}) for name in names])
            for stage, names in COLLECTIONS.items()
        }
        parts = stored["stats"]
        distinct = len(await db["baseline_complaints"].distinct("complaint_id"))
        await client.drop_database(run.database)
    finally:
        await client.close()
    # Notify's open markers are all gone once the outcomes are out.
    assert stored == {stage: n * 190 for stage, n in shape.kept().items()} | {"stats": parts}
    # Stats keeps parts: every message's complaint, in one part per batch that brought
    # it facts (a message's four events at most).
    assert distinct == 190
    assert 190 <= parts <= 4 * 190
