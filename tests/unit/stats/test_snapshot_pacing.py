"""How long the snapshot publisher waits after a recount."""

from __future__ import annotations

from services.stats.settings import StatsSettings
from services.stats.snapshots import SnapshotPublisher


async def _never(*_: object) -> None:
    raise AssertionError("not used")


def publisher(**settings: float) -> SnapshotPublisher:
    return SnapshotPublisher(
        store=None,  # type: ignore[arg-type]
        publish=_never,
        settings=StatsSettings(**settings),  # type: ignore[arg-type]
        owner="test",
    )


def test_a_quick_recount_waits_the_interval() -> None:
    assert publisher(snapshot_interval_seconds=2.0).pause_after(0.1) == 2.0


def test_a_slow_recount_waits_in_proportion_so_recounting_stays_a_bounded_share() -> None:
    pacing = publisher(snapshot_interval_seconds=2.0, snapshot_busy_factor=4.0)
    assert pacing.pause_after(1.5) == 6.0
    assert 1.5 / (1.5 + pacing.pause_after(1.5)) <= 0.2
