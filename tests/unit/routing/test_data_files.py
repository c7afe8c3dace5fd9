"""The policy and directory files: the shipped ones hold the product's policy and the
reference directory; a broken file names the file, entry and field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from services.routing.app import load_data
from services.routing.policy import RoutingPolicy, load_policy
from services.routing.settings import RoutingSettings, default_policy_path
from shared.datafile import DataFileError
from shared.directory import Directory, default_directory_path
from shared.events import Urgency


def test_shipped_policy_lists_the_categories_in_policy_order(policy: RoutingPolicy) -> None:
    assert [c.code for c in policy.categories] == [
        "flying_wire_charging", "fire_access_blocked", "property_inaction", "property_fees",
        "illegal_construction", "planning_violation", "committee_governance",
        "parking_disorder", "sanitation", "facility_repair", "neighbour_dispute", "other",
    ]  # fmt: skip
    assert policy.category("property_fees").name == "物業收費"
    assert policy.window(Urgency.URGENT).acknowledge_within == timedelta(hours=1)
    assert policy.window(Urgency.NORMAL).resolve_within == timedelta(days=7)
    assert policy.window(Urgency.COMPLEX).resolve_within == timedelta(days=15)
    assert policy.duplicate_window == timedelta(hours=24)
    assert policy.reminder_fraction == 0.75


def test_demo_directory_holds_the_reference_entries(directory: Directory) -> None:
    ids = set(directory.responders_by_id)
    assert {
        "housing", "planning", "urban-management", "fire", "property-party-committee",
        "city-coordination", "city-dispatch", "cm-xueqiao", "cm-lucheng", "pf-dianzhong",
        "cx-001-committee", "cx-002-committee",
    } <= ids  # fmt: skip
    assert len(directory.compounds) >= 12
    assert len([r for r in directory.responders if r.kind == "property_firm"]) >= 3
    cx2, cx3 = directory.compound("cx-002"), directory.compound("cx-003")
    assert cx2 is not None
    assert cx2.property_firm is None
    assert cx2.committee_kind == "property_management_committee"
    assert cx3 is not None
    assert (cx3.property_firm, cx3.committee) == (None, None)
    assert directory.responder("pf-dianzhong").escalates_to == ["housing", "@community"]
    assert directory.responder("fire").contact_details
    assert not directory.responder("pf-dianzhong").contact_details


def write(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text
    broken = tmp_path / source.name
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    return broken


def test_broken_policy_names_file_entry_and_field(tmp_path: Path) -> None:
    broken = write(tmp_path, default_policy_path(), "lead: planning", "lead: planing")
    with pytest.raises(DataFileError) as caught:
        load_policy(broken)
    message = str(caught.value)
    assert str(broken) in message
    assert "categories[5] (code=planning_violation).lead" in message


def test_policy_without_due_times_for_an_urgency_is_refused(tmp_path: Path) -> None:
    broken = write(tmp_path, default_policy_path(), "  complex: {", "  complexx: {")
    with pytest.raises(DataFileError, match=r"due"):
        load_policy(broken)


def test_service_refuses_to_start_on_a_broken_directory(tmp_path: Path) -> None:
    broken = write(tmp_path, default_directory_path(), "escalates_to: [housing, '@community']",
                   "escalates_to: [housingg, '@community']")  # fmt: skip
    settings = RoutingSettings(directory_path=str(broken))
    with pytest.raises(DataFileError) as caught:
        load_data(settings)
    assert str(broken) in str(caught.value)
    assert "(id=pf-dianzhong).escalates_to" in str(caught.value)


def test_policy_and_directory_paths_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy_copy = write(tmp_path, default_policy_path(), "name: 其他", "name: 其它")
    monkeypatch.setenv("GONGZHI_POLICY_PATH", str(policy_copy))
    monkeypatch.setenv("GONGZHI_DIRECTORY_PATH", str(default_directory_path()))
    monkeypatch.setenv("GONGZHI_DUE_SCALE", "0.5")
    policy, _ = load_data(RoutingSettings())
    assert policy.category("other").name == "其它"
    assert policy.window(Urgency.URGENT).acknowledge_within == timedelta(minutes=30)
