"""The hotspots section of the policy file: the product's thresholds, and clear
refusals of a broken section."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from services.hotspots.policy import HotspotPolicy
from services.routing.policy import RoutingPolicy, load_policy
from services.routing.settings import default_policy_path
from shared.datafile import DataFileError
from tests.unit.hotspots.conftest import PARKING, WIRES, at

DAY = timedelta(days=1)


def test_the_shipped_thresholds_are_the_products(policy: RoutingPolicy) -> None:
    hotspots = policy.hotspots
    compound = hotspots.compound_threshold(PARKING)
    assert (compound.count, compound.within) == (3, DAY)
    assert hotspots.community_threshold(PARKING).count == 6
    assert hotspots.community_threshold(PARKING).within == DAY
    assert hotspots.community_threshold(PARKING).min_compounds == 2
    for category in (WIRES, "fire_access_blocked"):
        assert hotspots.compound_threshold(category).count == 2
        assert hotspots.compound_threshold(category).within == DAY
        assert hotspots.community_threshold(category).count == 6
    recurrence = hotspots.recurrence
    assert (recurrence.count, recurrence.within, recurrence.reopened) == (3, 30 * DAY, 2)
    assert recurrence.min_span == DAY
    assert hotspots.acknowledge_factor == 0.5
    assert hotspots.longest_window == 30 * DAY


def test_a_policy_file_without_the_section_gets_the_default_numbers(tmp_path: Path) -> None:
    text = default_policy_path().read_text(encoding="utf-8")
    older = tmp_path / "policy.yaml"
    older.write_text(text[: text.index("\nhotspots:")], encoding="utf-8")
    hotspots = load_policy(older).hotspots
    assert hotspots.compound_threshold(WIRES).count == 3  # overrides name categories: none
    assert hotspots.community_threshold(PARKING).count == 6
    assert hotspots.recurrence.within == 30 * DAY


def broken(tmp_path: Path, old: str, new: str) -> Path:
    text = default_policy_path().read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("    fire_access_blocked:  {compound:", "    fire_lane:  {compound:",
         "hotspots.overrides: not a category: fire_lane"),
        ("    flying_wire_charging: {compound: {count: 2, within: PT24H}}",
         "    flying_wire_charging: {}", "override must set compound, community or both"),
        ("compound:  {count: 3, within: PT24H}", "compound:  {count: 1, within: PT24H}",
         "hotspots.cluster.compound.count: Input should be greater than or equal to 2"),
        ("community: {count: 6, within: PT24H, min_compounds: 2}",
         "community: {count: 6, within: PT24H, min_compounds: 7}", "cannot exceed count"),
        ("compound:  {count: 3, within: PT24H}", "compound:  {count: 3, within: -PT24H}",
         "positive duration"),
        ("min_span: PT24H", "min_span: P31D", "shorter than within"),
        ("acknowledge_factor: 0.5", "acknowledge_factor: 1.5", "acknowledge_factor"),
        ("acknowledge_factor: 0.5", "acknowledge_factor: 0.5\n  alert_everyone: true",
         "hotspots.alert_everyone: Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_a_broken_section_is_refused_with_the_reason(
    tmp_path: Path, old: str, new: str, reason: str
) -> None:
    path = broken(tmp_path, old, new)
    with pytest.raises(DataFileError) as caught:
        load_policy(path)
    assert str(path) in str(caught.value)
    assert reason in str(caught.value)


def test_the_acknowledge_window_of_a_hot_spot_complaint_is_halved(policy: RoutingPolicy) -> None:
    raised = policy.hotspots.raised_acknowledge_by(routed_at=at(0), acknowledge_by=at(24))
    assert raised == at(12)
    assert HotspotPolicy(acknowledge_factor=1).raised_acknowledge_by(at(0), at(1)) == at(1)
