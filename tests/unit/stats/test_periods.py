"""Periods and scope keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.stats.periods import Scope, day_of, is_period, zone


def test_days_follow_the_city_calendar_not_utc() -> None:
    late_utc = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)
    assert day_of(late_utc, zone("Asia/Shanghai")) == "2026-11-28"


@pytest.mark.parametrize(
    "key",
    [
        "city:2026-11",
        "city:2026-11-28",
        "responder:pf-dianzhong:2026-11",
        "community:cm-xueqiao:2026-11-28",
    ],
)
def test_scope_keys_round_trip(key: str) -> None:
    assert Scope.parse(key).key == key


@pytest.mark.parametrize("text", ["2026-13", "2026-02-30", "2026-1", "city", ""])
def test_malformed_periods_are_refused(text: str) -> None:
    assert not is_period(text)
    with pytest.raises(ValueError, match="not a stats scope"):
        Scope.parse(f"city:{text}")
