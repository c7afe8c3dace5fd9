"""Cluster hot spots: scripted histories of one compound or community (hours after T0)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.hotspots.changes import Closed, Joined, Opened
from services.hotspots.detector import Detector
from tests.unit.hotspots.conftest import (
    WIRES,
    at,
    only,
    reported,
    resolved,
    summary,
    unlinked,
)


def opened_cluster(detector: Detector) -> Opened:
    assert detector.observe(reported("c1", 0, place="3栋门口")) == []
    assert detector.observe(reported("c2", 1, place="3栋门口")) == []
    [opened] = detector.observe(reported("c3", 2, place="消防通道旁"))
    assert isinstance(opened, Opened)
    return opened


def test_a_cluster_opens_exactly_at_its_threshold(detector: Detector) -> None:
    opened = opened_cluster(detector)
    assert summary(opened) == ("opened", "cluster", "compound", "cx-001", ("c1", "c2", "c3"))
    hotspot = opened.hotspot
    assert opened.at == hotspot.opened_at == at(2)
    assert (hotspot.threshold, hotspot.within) == (3, timedelta(hours=24))
    assert (hotspot.window_start, hotspot.window_end) == (at(0), at(2))
    assert hotspot.places == ["3栋门口", "消防通道旁"]
    assert hotspot.community_id == "cm-xueqiao"
    assert hotspot.hotspot_id.startswith("hs-")


def test_three_complaints_not_within_one_window_open_nothing(detector: Detector) -> None:
    # 24 hours apart is not within 24 hours: the window is (t - 24 h, t].
    history = [reported("c1", 0), reported("c2", 20), reported("c3", 24), reported("c4", 44)]
    assert only(detector.observe_all(history), "cluster") == []
    assert [h.kind for h in detector.open_hotspots()] == ["recurring"]


def test_later_complaints_join_without_a_new_detection(detector: Detector) -> None:
    first = opened_cluster(detector).hotspot
    [joined] = detector.observe(reported("c4", 5))
    assert isinstance(joined, Joined)
    assert joined.complaint_id == "c4"
    assert joined.at == at(5)
    assert joined.hotspot.hotspot_id == first.hotspot_id
    assert joined.hotspot.complaint_ids == ["c1", "c2", "c3", "c4"]
    [again] = detector.observe(reported("c5", 6))
    assert isinstance(again, Joined)
    assert [h.hotspot_id for h in detector.open_hotspots()] == [first.hotspot_id]


def test_it_closes_when_its_window_count_falls_below_the_threshold(detector: Detector) -> None:
    opened_cluster(detector)
    # c1 leaves the window 24 h after it was reported: two are left.
    assert detector.next_deadline() == at(24)
    assert detector.expire(at(23.9)) == []
    [closed] = detector.expire(at(30))
    assert isinstance(closed, Closed)
    assert closed.reason == "subsided"
    assert closed.at == at(24)  # when it happened, not when expire ran
    assert closed.hotspot.complaint_ids == ["c1", "c2", "c3"]
    assert detector.next_deadline() is None
    assert detector.open_hotspots() == []


def test_a_joined_complaint_keeps_it_open_longer(detector: Detector) -> None:
    opened_cluster(detector)
    detector.observe(reported("c4", 10))
    # Reported at 0, 1, 2, 10: fewer than 3 within 24 h once c2 (1 h) leaves.
    assert detector.next_deadline() == at(25)
    [closed] = detector.expire(at(26))
    assert (closed.at, closed.hotspot.count) == (at(25), 4)


def test_it_closes_when_its_complaints_are_resolved(detector: Detector) -> None:
    opened_cluster(detector)
    assert detector.observe(resolved("c1", 3)) == []
    assert detector.observe(resolved("c2", 4)) == []
    [closed] = detector.observe(resolved("c3", 5))
    assert isinstance(closed, Closed)
    assert (closed.reason, closed.at) == ("resolved", at(5))
    assert detector.next_deadline() is None


def test_linked_duplicates_count_and_follow_their_original(detector: Detector) -> None:
    detector.observe(reported("c1", 0))
    detector.observe(reported("c2", 1, duplicate_of="c1"))
    [opened] = detector.observe(reported("c3", 2, duplicate_of="c1"))
    assert summary(opened) == ("opened", "cluster", "compound", "cx-001", ("c1", "c2", "c3"))
    assert [c.duplicate_of for c in opened.hotspot.complaints] == [None, "c1", "c1"]
    # Resolving the original resolves its linked duplicates.
    [closed] = detector.observe(resolved("c1", 6))
    assert isinstance(closed, Closed)
    assert (closed.reason, closed.at) == ("resolved", at(6))


def test_an_unlinked_duplicate_no_longer_follows_its_original(detector: Detector) -> None:
    detector.observe_all(
        [reported("c1", 0), reported("c2", 1, duplicate_of="c1"), reported("c3", 2)]
    )
    detector.observe(unlinked("c2", 2.5))
    assert detector.observe_all([resolved("c1", 3), resolved("c3", 4)]) == []
    [closed] = detector.observe(resolved("c2", 5))
    assert isinstance(closed, Closed)
    assert closed.reason == "resolved"


def test_a_new_hot_spot_opens_after_a_quiet_window(detector: Detector) -> None:
    first = opened_cluster(detector).hotspot
    [closed] = detector.expire(at(24))
    assert closed.hotspot.hotspot_id == first.hotspot_id
    assert only(detector.observe_all([reported("c4", 30), reported("c5", 31)]), "cluster") == []
    [opened] = only(detector.observe(reported("c6", 32)), "cluster")
    assert summary(opened)[4] == ("c4", "c5", "c6")
    assert opened.hotspot.hotspot_id != first.hotspot_id


def test_complaints_of_a_resolved_hot_spot_do_not_open_the_next(detector: Detector) -> None:
    first = opened_cluster(detector).hotspot
    detector.observe_all([resolved("c1", 3), resolved("c2", 3), resolved("c3", 3)])
    # c1-c3 are still within 24 h, but each counts towards one hot spot only.
    assert detector.observe_all([reported("c4", 6), reported("c5", 7)]) == []
    [opened] = detector.observe(reported("c6", 8))
    assert summary(opened)[4] == ("c4", "c5", "c6")
    assert opened.hotspot.hotspot_id != first.hotspot_id


def test_a_community_cluster_across_several_compounds(detector: Detector) -> None:
    history = [
        reported(f"c{i}", i, compound=compound)
        for i, compound in enumerate(["cx-001", "cx-002", "cx-003", "cx-001", "cx-002"], 1)
    ]
    assert detector.observe_all(history) == []  # no compound has 3
    [opened] = detector.observe(reported("c6", 6, compound="cx-003"))
    assert summary(opened) == (
        "opened", "cluster", "community", "cm-xueqiao", ("c1", "c2", "c3", "c4", "c5", "c6"),
    )  # fmt: skip
    assert opened.hotspot.compound_ids == ["cx-001", "cx-002", "cx-003"]
    assert opened.hotspot.threshold == 6
    joined = detector.observe(reported("c7", 7, compound="cx-004"))
    assert [(type(c), c.hotspot.scope.kind) for c in joined] == [(Joined, "community")]


def test_one_compound_alone_is_not_a_community_cluster(detector: Detector) -> None:
    changes = detector.observe_all([reported(f"c{i}", i) for i in range(1, 7)])
    assert [summary(c)[:3] for c in changes] == [("opened", "cluster", "compound")] + [
        ("joined", "cluster", "compound")
    ] * 3
    [opened] = only(detector.observe(reported("c7", 7, compound="cx-002")), "cluster")
    assert summary(opened)[:4] == ("opened", "cluster", "community", "cm-xueqiao")


@pytest.mark.parametrize("category", [WIRES, "fire_access_blocked"])
def test_fire_hazards_open_a_cluster_at_two(detector: Detector, category: str) -> None:
    assert detector.observe(reported("c1", 0, category=category)) == []
    [opened] = detector.observe(reported("c2", 20, category=category))
    assert summary(opened) == ("opened", "cluster", "compound", "cx-001", ("c1", "c2"))
    assert (opened.hotspot.category, opened.hotspot.threshold) == (category, 2)


def test_fire_hazard_community_threshold_stays_the_default(detector: Detector) -> None:
    history = [
        reported(f"c{i}", i, compound=compound, category=WIRES)
        for i, compound in enumerate(["cx-001", "cx-002", "cx-003", "cx-004", "cx-005"], 1)
    ]
    assert detector.observe_all(history) == []  # five, one per compound
    changes = detector.observe(reported("c6", 6, compound="cx-001", category=WIRES))
    assert [summary(c) for c in changes] == [
        ("opened", "cluster", "compound", "cx-001", ("c1", "c6")),
        ("opened", "cluster", "community", "cm-xueqiao", ("c1", "c2", "c3", "c4", "c5", "c6")),
    ]


def test_categories_are_counted_apart(detector: Detector) -> None:
    history = [reported("c1", 0), reported("c2", 1, category="sanitation"), reported("c3", 2)]
    assert detector.observe_all(history) == []
