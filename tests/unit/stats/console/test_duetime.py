"""Due times as the queue and the desk write them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.stats.console.duetime import due, span_text
from services.stats.periods import zone

TZ = zone("Asia/Shanghai")
NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 10:00 in the city


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0秒"),
        (38.9, "38秒"),
        (60, "1分钟"),
        (4 * 60 + 59, "4分钟"),
        (3600, "1小时"),
        (5 * 3600 + 12 * 60, "5小时12分"),
        (86400, "1天"),
        (2 * 86400 + 3 * 3600 + 59 * 60, "2天3小时"),
    ],
)
def test_a_span_is_written_in_its_two_largest_units(seconds: float, text: str) -> None:
    assert span_text(seconds) == text


def test_time_left_and_time_overdue_are_told_apart() -> None:
    left = due(NOW + timedelta(hours=30), NOW, TZ)
    late = due(NOW - timedelta(minutes=90), NOW, TZ)
    assert (left.text, left.overdue, left.tone) == ("剩余 1天6小时", False, "ok")
    assert (late.text, late.overdue, late.tone) == ("已超时 1小时30分", True, "overdue")
    assert late.local == "11-28 08:30"  # the city's clock, not UTC


def test_less_than_six_hours_left_is_soon() -> None:
    assert due(NOW + timedelta(hours=5, minutes=59), NOW, TZ).tone == "soon"
    assert due(NOW + timedelta(hours=6, minutes=1), NOW, TZ).tone == "ok"


def test_a_step_already_done_has_no_countdown_and_no_due_time_says_so() -> None:
    done = due(NOW - timedelta(days=3), NOW, TZ, met=True)
    assert (done.text, done.overdue) == ("已完成", False)
    assert due(None, NOW, TZ).text == "无时限"
