"""The chaos run at CI size: kills, a broker restart and a database pause while
complaints flow; afterwards nothing is lost, nothing doubled, nothing leaked."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import pytest

from devtools.chaos import run_chaos

pytestmark = pytest.mark.e2e

COMPLAINTS = int(os.environ.get("GONGZHI_CHAOS_COMPLAINTS", "400"))


async def test_kills_restarts_and_a_database_pause_lose_and_double_nothing(
    tmp_path: Path,
) -> None:
    report = await run_chaos(COMPLAINTS, seed=5, log_dir=tmp_path / "logs")
    print(asdict(report))
    assert report.accepted == COMPLAINTS
    assert report.lost == []
    assert report.routed_twice == []
    assert report.routed + report.linked_duplicates == report.accepted
    # About one in ten retells a problem in other words: some are linked, not routed.
    assert report.linked_duplicates > 0
    assert report.alerts_missing == 0
    assert report.alerts_unexpected == 0
    # Hot spots: the mix forms some, each detected once and alerted once per recipient.
    assert report.hotspots_detected > 0
    assert report.hotspots_detected_twice == []
    assert report.hotspot_alerts_missing == 0
    assert report.hotspot_alerts_doubled == 0
    assert report.stats_received == report.accepted
    assert report.updates_refused == []
    assert report.dead_letters == {}
    assert report.routing_acknowledged == report.acknowledgements_sent
    assert report.stats_acknowledged == report.acknowledgements_sent
    assert report.phone_leaks == []
    assert all(report.kills.get(name, 0) >= 3 for name in ("intake", "routing", "notify", "stats"))
    assert report.broker_restarts == 1
    assert report.database_pauses == 1
    # The crash window was really hit: something was delivered or published again.
    assert report.redelivered_events + report.alert_resends + report.http_retries > 0
