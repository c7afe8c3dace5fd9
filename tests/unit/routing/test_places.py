"""Reading the places a complaint names, and comparing two complaints' places."""

from __future__ import annotations

import pytest

from services.routing.places import Places, compare_places, find_places
from services.routing.policy import RoutingPolicy
from services.routing.wording import lexicon_of, normalise


def places(text: str, policy: RoutingPolicy | None = None) -> Places:
    if policy is None:
        return find_places(normalise(text))[0]
    lexicon = lexicon_of(policy.duplicates)
    return find_places(normalise(text), lexicon.facility_words, lexicon.facility_of)[0]


@pytest.mark.parametrize(
    "text", ["3棟樓道", "三棟樓道", "3號樓樓道", "3幢樓道", "3#樓道", "第3栋楼道", "３栋楼道"]
)
def test_building_numbers_are_read_alike(text: str) -> None:
    assert places(text).building == ("3",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2號樓402的空調外機掉下來了", {"building": ("2",), "floor": ("4",), "flat": ("402",)}),
        (
            "3-2-402家里漏水",
            {"building": ("3",), "unit": ("2",), "floor": ("4",), "flat": ("402",)},
        ),
        (
            "十二棟二單元1502室",
            {"building": ("12",), "unit": ("2",), "floor": ("15",), "flat": ("1502",)},
        ),
        ("3号2单元502", {"building": ("3",), "unit": ("2",), "floor": ("5",), "flat": ("502",)}),
        ("4栋一楼那家", {"building": ("4",), "floor": ("1",)}),
        ("负一楼积水", {"floor": ("-1",)}),
        ("A區車庫出口", {"zone": ("a区",), "entrance": ("出口",)}),
        ("東區的路燈", {"zone": ("东区",)}),
        ("二期的綠化", {"phase": ("2",)}),
        ("北門旁邊", {"gate": ("北门",)}),
        ("2号门", {"gate": ("2门",)}),
        ("10栋东侧", {"building": ("10",), "side": ("东",)}),
        ("12棟南側", {"building": ("12",), "side": ("南",)}),
    ],
)
def test_places_are_read_from_the_text(text: str, expected: dict[str, tuple[str, ...]]) -> None:
    assert places(text) == Places(**expected)


@pytest.mark.parametrize("text", ["小區大門口", "大門", "正門", "小区门口"])
def test_main_gate_has_one_name(text: str) -> None:
    assert places(text).gate == ("大门",)


@pytest.mark.parametrize(
    "text",
    [
        "臨時停車一小時收300元",
        "車位管理費一個月漲到200",
        "2024年就反映過",
        "打了12345和110都沒用",
        "從1.2漲到1.8",
        "電話13812345678",
    ],
)
def test_amounts_years_and_phone_numbers_are_no_flats(text: str) -> None:
    assert not places(text).flat


def test_a_door_number_right_after_a_building_is_a_flat_even_before_a_time_word() -> None:
    assert places("3栋601天天半夜聚会").flat == ("601",)


def test_facilities_come_from_the_policy_and_their_synonyms_meet(policy: RoutingPolicy) -> None:
    assert places("地下車庫出口", policy).facility == ("车库",)
    assert places("地库积水", policy).facility == ("车库",)
    assert places("消火栓被擋住", policy).facility == ("消防栓",)
    assert places("电动车棚", policy).facility == ("车棚",)  # not 电动车 + 棚


def test_a_word_holding_a_facility_name_is_not_that_facility(policy: RoutingPolicy) -> None:
    assert places("广场舞音响太大声", policy).facility == ()
    assert places("电梯广告的收益", policy).facility == ()


def test_a_storey_with_no_building_named_may_be_either() -> None:
    vague = places("住5楼")
    assert vague.storey_or_building == ("5",)
    assert compare_places(vague, places("3栋5楼")).relation == "partial"
    assert compare_places(vague, places("5栋")).relation == "partial"
    assert compare_places(vague, places("3栋6楼")).relation == "conflict"
    assert compare_places(vague, places("住6楼")).relation == "conflict"


@pytest.mark.parametrize(
    ("a", "b", "relation"),
    [
        ("3栋2单元楼道", "三棟二單元樓道", "same"),
        ("3栋2单元", "12栋2单元", "conflict"),
        ("5栋1单元", "5栋3单元", "conflict"),
        ("2号楼402", "2号楼502", "conflict"),
        ("2号楼402", "2号楼4楼", "partial"),  # the floor of flat 402 is 4
        ("2号楼402", "2号楼5楼", "conflict"),
        ("A区", "B区", "conflict"),
        ("东门", "西门", "conflict"),
        ("北侧", "南侧", "conflict"),
        ("3栋", "3栋2单元", "partial"),
        ("3栋2单元", "3栋5楼", "crossed"),  # each names what the other leaves out
        ("A区车库出口", "西门", "unrelated"),
        ("3栋", "小区里", "one_sided"),
        ("小区里", "小区的路上", "neither"),
    ],
)
def test_comparing_places(a: str, b: str, relation: str) -> None:
    assert compare_places(places(a), places(b)).relation == relation
    assert compare_places(places(b), places(a)).relation == relation


def test_different_facilities_are_different_places(policy: RoutingPolicy) -> None:
    match = compare_places(places("4栋楼道", policy), places("4栋车棚", policy))
    assert match.relation == "conflict"
    assert match.differences == ("facility 楼道 vs 车棚",)
    shared = compare_places(places("3栋楼道和电梯口", policy), places("3栋电梯", policy))
    assert shared.relation == "partial"
