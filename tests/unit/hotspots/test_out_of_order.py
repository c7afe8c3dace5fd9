"""Signals that arrive after later ones: placed at their own time in the windows,
decided at the detector's clock, never rewriting a change already given."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.hotspots.changes import Joined, Opened
from services.hotspots.detector import Detector
from services.hotspots.signals import ClockTick, ComplaintReported, excerpt_of, parse_signal
from tests.unit.hotspots.conftest import at, only, reported, summary


def test_a_late_complaint_joins_the_open_hot_spot_now(detector: Detector) -> None:
    detector.observe_all([reported("c1", 0), reported("c2", 1), reported("c3", 2)])
    detector.observe(reported("c4", 10))
    [joined] = only(detector.observe(reported("late", 1.5)), "cluster")
    assert isinstance(joined, Joined)
    assert joined.at == at(10)  # decided at the clock
    assert joined.hotspot.complaint_ids == ["c1", "c2", "late", "c3", "c4"]
    # Its own report time counts in the window: 0, 1, 1.5, 2, 10 → below 3 at 25.5 h.
    assert detector.next_deadline() == at(25.5)


def test_a_late_complaint_opens_a_hot_spot_decided_at_the_clock(detector: Detector) -> None:
    detector.observe_all([reported("c1", 0), reported("c2", 10)])
    [opened] = only(detector.observe(reported("late", 5)), "cluster")
    assert isinstance(opened, Opened)
    assert opened.at == at(10)
    assert (opened.hotspot.window_start, opened.hotspot.window_end) == (at(0), at(10))


def test_a_hot_spot_closed_by_the_timer_stays_closed(detector: Detector) -> None:
    [first] = only(
        detector.observe_all([reported("c1", 0), reported("c2", 1), reported("c3", 2)]),
        "cluster",
    )
    [closed] = detector.expire(at(25))
    assert closed.at == at(24)
    # Reported at 20 h, when the hot spot was open, but it arrives after it closed:
    # it counts afresh instead of reopening it.
    assert only(detector.observe(reported("late", 20)), "cluster") == []
    assert only(detector.observe(reported("c5", 26)), "cluster") == []
    [opened] = only(detector.observe(reported("c6", 27)), "cluster")
    assert summary(opened)[4] == ("late", "c5", "c6")
    assert opened.hotspot.hotspot_id != first.hotspot.hotspot_id


def test_without_the_timer_the_same_late_complaint_joins(detector: Detector) -> None:
    # What a replay that never saw the timer fire does: why ClockTick exists.
    detector.observe_all([reported("c1", 0), reported("c2", 1), reported("c3", 2)])
    [joined] = only(detector.observe(reported("late", 20)), "cluster")
    assert isinstance(joined, Joined)


def test_a_signal_older_than_the_longest_window_is_ignored(detector: Detector) -> None:
    detector.observe(reported("now", 24 * 40))
    assert detector.observe_all([reported(f"old{i}", i) for i in range(5)]) == []
    assert detector.open_hotspots() == []


def test_expire_never_goes_back_in_time(detector: Detector) -> None:
    detector.observe_all([reported("c1", 0), reported("c2", 1), reported("c3", 2)])
    assert detector.expire(at(1)) == []
    assert detector.clock == at(2)


def test_a_clock_tick_closes_what_is_due(detector: Detector) -> None:
    detector.observe_all([reported("c1", 0), reported("c2", 1), reported("c3", 2)])
    tick = parse_signal(ClockTick(partition_key="cm-xueqiao", at=at(30)).model_dump_json())
    [closed] = detector.observe(tick)
    assert (closed.type, closed.at) == ("closed", at(24))


def test_signals_refuse_what_they_do_not_know() -> None:
    good = reported("c1", 0).model_dump(mode="json")
    with pytest.raises(ValidationError, match="severity"):
        ComplaintReported.model_validate({**good, "severity": "high"})
    with pytest.raises(ValidationError, match="timezone"):
        parse_signal(reported("c1", 0).model_dump_json().replace("Z", "").replace("+00:00", ""))
    with pytest.raises(ValidationError, match=r"union_tag_invalid|does not match"):
        parse_signal('{"kind": "escalated", "at": "2026-11-28T08:00:00Z"}')


def test_the_partition_key_is_the_community() -> None:
    assert reported("c1", 0).partition_key == "cm-xueqiao"
    assert reported("c1", 0, community=None, compound="cx-999").partition_key == ("compound:cx-999")


def test_excerpts_mask_phone_numbers_and_stay_short() -> None:
    text = excerpt_of("3栋门口车辆乱停，我电话13812345678，" + "堵得出不去" * 20)
    assert "13812345678" not in text
    assert "138****5678" in text
    assert len(text) == 61
    assert text.endswith("…")
    assert excerpt_of("  楼道   堆放杂物 ") == "楼道 堆放杂物"
    # A service that builds its own excerpt cannot leak a number either.
    signal = reported("c1", 0).model_copy(update={"excerpt": "", "place": None})
    raw = {**signal.model_dump(mode="json"), "excerpt": "打13812345678", "place": "找0878-3123456"}
    checked = ComplaintReported.model_validate(raw)
    assert (checked.excerpt, checked.place) == ("打138****5678", "找0878****3456")
