"""Recurring hot spots: the same compound × category again and again over 30 days, or
one complaint reopened twice (times are days after T0 here)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.hotspots.changes import Closed, Joined, Opened
from services.hotspots.detector import Detector
from tests.unit.hotspots.conftest import at, only, reopened, reported, resolved, summary

DAY = 24


def day(d: float) -> float:
    return d * DAY


def recurring(detector: Detector, *days: float) -> list[Opened | Joined | Closed]:
    history = [reported(f"c{i}", day(d)) for i, d in enumerate(days, 1)]
    return only(detector.observe_all(history), "recurring")


def test_three_times_in_30_days_open_a_recurring_hot_spot(detector: Detector) -> None:
    assert recurring(detector, 0, 10) == []
    [opened] = only(detector.observe(reported("c3", day(20))), "recurring")
    assert isinstance(opened, Opened)
    assert summary(opened) == ("opened", "recurring", "compound", "cx-001", ("c1", "c2", "c3"))
    hotspot = opened.hotspot
    assert (hotspot.trigger, hotspot.threshold) == ("count", 3)
    assert hotspot.within == timedelta(days=30)
    assert opened.at == at(day(20))


@pytest.mark.parametrize("days", [(0, 15, 31), (0, 15, 30), (0, 29, 45)])
def test_three_times_spread_over_30_days_or_more_open_nothing(
    detector: Detector, days: tuple[float, ...]
) -> None:
    assert recurring(detector, *days) == []


def test_three_in_one_afternoon_are_a_cluster_not_a_recurrence(detector: Detector) -> None:
    changes = detector.observe_all([reported("c1", 13), reported("c2", 14), reported("c3", 15)])
    assert [summary(c)[:2] for c in changes] == [("opened", "cluster")]
    # Coming back the next day makes it a recurrence.
    [opened] = only(detector.observe(reported("c4", 13 + DAY)), "recurring")
    assert summary(opened)[4] == ("c1", "c2", "c3", "c4")


def test_linked_duplicates_do_not_count_as_recurrences(detector: Detector) -> None:
    history = [
        reported("c1", day(0)),
        reported("c2", day(0.5), duplicate_of="c1"),
        reported("c3", day(10)),
    ]
    assert only(detector.observe_all(history), "recurring") == []
    [opened] = only(detector.observe(reported("c4", day(12))), "recurring")
    assert summary(opened)[4] == ("c1", "c3", "c4")


def test_a_recurring_hot_spot_is_not_closed_by_resolving_its_complaints(
    detector: Detector,
) -> None:
    recurring(detector, 0, 10, 20)
    resolutions = [resolved(f"c{i}", day(21)) for i in (1, 2, 3)]
    assert only(detector.observe_all(resolutions), "recurring") == []
    [joined] = only(detector.observe(reported("c4", day(25))), "recurring")
    assert isinstance(joined, Joined)
    # Reported on days 0, 10, 20, 25: fewer than 3 within 30 days from day 40 on.
    assert detector.next_deadline() == at(day(40))
    [closed] = detector.expire(at(day(41)))
    assert isinstance(closed, Closed)
    assert (closed.reason, closed.at, closed.hotspot.count) == ("subsided", at(day(40)), 4)


def test_a_complaint_reopened_twice_opens_a_recurring_hot_spot(detector: Detector) -> None:
    detector.observe(reported("c1", day(0)))
    assert detector.observe(reopened("c1", day(3), 1, reported_hours=0)) == []
    [opened] = detector.observe(reopened("c1", day(6), 2, reported_hours=0))
    assert summary(opened) == ("opened", "recurring", "compound", "cx-001", ("c1",))
    assert (opened.hotspot.trigger, opened.hotspot.threshold) == ("reopened", 2)
    # Held open one window after the second reopening; a third opens nothing new.
    assert detector.next_deadline() == at(day(36))
    assert detector.observe(reopened("c1", day(9), 3, reported_hours=0)) == []
    assert [h.hotspot_id for h in detector.open_hotspots()] == [opened.hotspot.hotspot_id]


def test_a_reopened_complaint_reported_long_ago_still_counts(detector: Detector) -> None:
    detector.observe(reported("c1", day(0), category="sanitation"))
    detector.observe(reported("other", day(40)))  # the clock moves on
    detector.observe(reopened("c1", day(41), 1, reported_hours=day(0), category="sanitation"))
    [opened] = detector.observe(
        reopened("c1", day(42), 2, reported_hours=day(0), category="sanitation")
    )
    assert opened.hotspot.category == "sanitation"
    assert [c.reported_at for c in opened.hotspot.complaints] == [at(day(0))]
    assert [c.place for c in opened.hotspot.complaints] == ["3栋门口"]


def test_a_reopened_complaint_joins_an_open_recurring_hot_spot(detector: Detector) -> None:
    recurring(detector, 0, 10, 20)
    detector.observe(reported("c9", day(1), compound="cx-002"))
    detector.observe(reopened("c2", day(21), 1, reported_hours=day(10)))
    # c2 is already in it: its second reopening adds nothing but holds it open longer.
    assert detector.observe(reopened("c2", day(22), 2, reported_hours=day(10))) == []
    assert detector.next_deadline() == at(day(52))
