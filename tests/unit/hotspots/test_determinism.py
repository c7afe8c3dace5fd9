"""Exactly-once needs a deterministic detector: the same signal history gives the same
changes and hot-spot ids however it is batched, replayed or rebuilt."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from services.hotspots.changes import Change
from services.hotspots.detector import Detector
from services.hotspots.policy import HotspotPolicy
from services.hotspots.signals import ComplaintSignal, Signal, parse_signal
from services.routing.policy import RoutingPolicy
from tests.unit.hotspots.histories import history

SEEDS = (1, 2)


def run(policy: HotspotPolicy, signals: Sequence[Signal]) -> list[Change]:
    detector = Detector(policy)
    changes = detector.observe_all(signals)
    return changes + detector.expire(signals[-1].at + timedelta(days=60))


def variety(changes: list[Change]) -> set[tuple[str, str, str]]:
    return {(c.type, c.hotspot.kind, c.hotspot.scope.kind) for c in changes}


@pytest.fixture(params=[(seed, late) for seed in SEEDS for late in (False, True)])
def signals(request: pytest.FixtureRequest) -> list[ComplaintSignal]:
    seed, late = request.param
    return history(seed, late=late)


def test_the_generated_histories_exercise_every_kind_of_change(
    policy: RoutingPolicy, signals: list[ComplaintSignal]
) -> None:
    changes = run(policy.hotspots, signals)
    assert variety(changes) >= {
        ("opened", "cluster", "compound"), ("joined", "cluster", "compound"),
        ("closed", "cluster", "compound"), ("opened", "cluster", "community"),
        ("opened", "recurring", "compound"), ("joined", "recurring", "compound"),
        ("closed", "recurring", "compound"),
    }  # fmt: skip
    opened = Counter(c.hotspot.hotspot_id for c in changes if c.type == "opened")
    closed = Counter(c.hotspot.hotspot_id for c in changes if c.type == "closed")
    assert set(opened.values()) == {1}, "a hot spot opened twice"
    assert opened == closed, "every hot spot opens once and closes once"


def test_every_batching_and_expire_timing_gives_the_same_changes(
    policy: RoutingPolicy, signals: list[ComplaintSignal]
) -> None:
    expected = run(policy.hotspots, signals)
    rng = random.Random(7)
    detector = Detector(policy.hotspots)
    changes: list[Change] = []
    position = 0
    while position < len(signals):
        size = rng.randint(1, 25)
        changes += detector.observe_all(signals[position : position + size])
        position += size
        if position < len(signals):
            # A timer may fire any time before the next signal still to come.
            earliest = min(s.at for s in signals[position:])
            last = detector.clock
            assert last is not None
            changes += detector.expire(last + (earliest - last) * rng.random())
    changes += detector.expire(signals[-1].at + timedelta(days=60))
    assert changes == expected


def test_another_instance_gives_the_same_ids(
    policy: RoutingPolicy, signals: list[ComplaintSignal]
) -> None:
    first, second = run(policy.hotspots, signals), run(policy.hotspots, signals)
    assert [c.hotspot.hotspot_id for c in first] == [c.hotspot.hotspot_id for c in second]
    assert first == second


def test_redelivered_signals_change_nothing(
    policy: RoutingPolicy, signals: list[ComplaintSignal]
) -> None:
    doubled = [s for signal in signals for s in (signal, signal)]
    assert run(policy.hotspots, doubled) == run(policy.hotspots, signals)


def test_replaying_a_recent_history_again_changes_nothing(policy: RoutingPolicy) -> None:
    signals = history(3)
    recent = [s for s in signals if s.at < signals[0].at + timedelta(days=10)]
    detector = Detector(policy.hotspots)
    assert detector.observe_all(recent) != []
    before = (detector.open_hotspots(), detector.next_deadline(), detector.clock)
    assert detector.observe_all(recent) == []
    assert (detector.open_hotspots(), detector.next_deadline(), detector.clock) == before


def test_signals_travel_as_json(policy: RoutingPolicy, signals: list[ComplaintSignal]) -> None:
    travelled = [parse_signal(s.model_dump_json()) for s in signals]
    assert travelled == signals
    assert run(policy.hotspots, travelled) == run(policy.hotspots, signals)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("late", [False, True])
def test_a_rebuild_from_replay_from_continues_exactly_like_the_live_detector(
    policy: RoutingPolicy, seed: int, late: bool
) -> None:
    signals = history(seed, late=late)
    end = signals[-1].at + timedelta(days=60)
    naive_differs = []
    for cut in range(len(signals) // 3, len(signals), len(signals) // 5):
        live = Detector(policy.hotspots)
        live.observe_all(signals[:cut])
        start = live.replay_from()
        assert start is not None
        assert live.clock is not None
        naive = live.clock - policy.hotspots.longest_window

        def rebuilt(since: datetime, cut: int = cut) -> Detector:
            first = next(i for i, s in enumerate(signals) if s.at >= since)
            detector = Detector(policy.hotspots)
            detector.observe_all(signals[first:cut])
            return detector

        rebuild = rebuilt(start)
        assert rebuild.open_hotspots() == live.open_hotspots()
        rest = signals[cut:]
        expected = live.observe_all(rest) + live.expire(end)
        assert rebuild.observe_all(rest) + rebuild.expire(end) == expected
        # The chronic compound keeps a recurring hot spot open for longer than its
        # window: one window back is then not enough.
        assert start < naive
        too_late = rebuilt(naive)
        naive_differs.append(
            too_late.open_hotspots() != rebuild.open_hotspots()
            or too_late.observe_all(rest) + too_late.expire(end) != expected
        )
    assert any(naive_differs)
