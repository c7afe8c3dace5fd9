"""SIGTERM while work flows: the service finishes what it holds, commits, and exits 0;
after a restart nothing is lost and nothing is routed twice."""

from __future__ import annotations

import asyncio
import random
import signal
from collections import Counter
from typing import Any

import orjson
import pytest

from devtools.loopback import produce
from devtools.samples import complaint
from shared.ids import complaint_id_for
from shared.topics import COMPLAINTS_ROUTED, COMPLAINTS_UPDATED, INGRESS_COMPLAINTS
from tests.e2e.conftest import PipelineFactory
from tests.support import collect

pytestmark = pytest.mark.e2e

COUNT = 150


async def test_sigterm_mid_stream_loses_and_doubles_nothing(
    start_pipeline: PipelineFactory,
) -> None:
    pipeline = start_pipeline()
    rng = random.Random(9)
    bodies = [complaint(i, rng, run="sigterm") for i in range(COUNT)]
    ids = {complaint_id_for(b["source"], b["source_ref"]) for b in bodies}
    sending = asyncio.create_task(
        produce(
            pipeline.bootstrap_servers,
            pipeline.topic(INGRESS_COMPLAINTS),
            [(f"{b['source']}:{b['source_ref']}".encode(), orjson.dumps(b)) for b in bodies],
        )
    )
    await asyncio.sleep(1.5)
    exit_codes = {}
    for name in ("intake", "routing"):
        exit_codes[name] = await asyncio.to_thread(pipeline.stack[name].terminate, 40)
    await sending
    for name in ("intake", "routing"):
        pipeline.stack[name].start()
        await asyncio.to_thread(pipeline.stack[name].wait_healthy, 60)

    topics = [pipeline.topic(COMPLAINTS_ROUTED), pipeline.topic(COMPLAINTS_UPDATED)]

    def outcome(records: list[dict[str, Any]]) -> set[str]:
        return {
            r["value"]["complaint_id"]
            for r in records
            if r["topic"] == topics[0] or r["value"].get("type") == "duplicate_linked"
        }

    records = await collect(
        pipeline.bootstrap_servers, topics, until=lambda r: ids <= outcome(r), timeout=120
    )
    # uvicorn finishes the lifespan shutdown (consumers stop and commit, producers
    # flush), then re-raises the signal, so the exit status is SIGTERM's or 0.
    assert set(exit_codes.values()) <= {0, -signal.SIGTERM}, exit_codes
    for name in ("intake", "routing"):
        log = pipeline.stack[name].log_path.read_text(errors="replace")
        assert "Application shutdown complete" in log, f"{name} did not shut down cleanly"
    assert ids <= outcome(records)
    routed = Counter(
        r["value"]["complaint_id"]
        for r in {r["value"]["event_id"]: r for r in records if r["topic"] == topics[0]}.values()
    )
    assert all(n == 1 for n in routed.values())
