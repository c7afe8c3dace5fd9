"""Periods and scope keys."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.stats.periods import Scope, day_of, days_of_month, is_period, zone


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


def test_the_documented_period_pattern_holds_exactly_the_calendar_days() -> None:
    """The OpenAPI pattern of ``period`` is ``is_period`` itself: a period that matches
    it can be counted (a 2026-02-30 that matched would be a 422 the document denies)."""
    for year in (*range(1, 30), *range(1896, 2105), 2400, 9999):
        for month in range(1, 13):
            assert is_period(f"{year:04d}-{month:02d}")
            for day in range(1, 33):
                try:
                    real = bool(date(year, month, day))
                except ValueError:
                    real = False
                assert is_period(f"{year:04d}-{month:02d}-{day:02d}") == real
    assert not any(is_period(p) for p in ("0000-01", "2026-13", "2026-1", "2026-11-28T00"))


def test_every_day_of_a_month_even_before_the_year_1000() -> None:
    assert len(days_of_month("0999-02")) == 28
    assert days_of_month("2024-02")[-1] == "2024-02-29"
