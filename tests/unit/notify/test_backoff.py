"""Retry spacing (the sealing of contacts is tested in tests/unit/test_sealing.py)."""

from __future__ import annotations

from services.notify.owner import retry_delay


def test_retry_delay_grows_with_jitter_and_stays_under_the_cap() -> None:
    for attempt, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (10, 60.0)]:
        delays = [retry_delay(attempt, base=2.0, cap=60.0) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1
