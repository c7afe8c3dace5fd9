"""Reading a complaint's words: normalisation, durations, the policy's word groups."""

from __future__ import annotations

import pytest

from services.routing.policy import DuplicatePolicy, RoutingPolicy
from services.routing.wording import Reading, lexicon_of, normalise, read


def reading(text: str, policy: RoutingPolicy, location: str | None = None) -> Reading:
    return read(text, location, lexicon_of(policy.duplicates))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("三棟二單元", "3栋2单元"),
        ("十二棟", "12栋"),
        ("一樓", "1楼"),
        ("三天", "3天"),
        ("二十三號樓", "23号楼"),
        ("一五零二室", "1502室"),
        ("Ａ區", "a区"),
        ("三四天", "三四天"),  # a range, not 34
        ("一直", "一直"),  # no measure word: not a number
    ],
)
def test_normalise_reads_numerals_and_folds(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_traditional_and_simplified_read_alike(policy: RoutingPolicy) -> None:
    assert reading("3棟2單元樓道有人飛線充電", policy) == reading(
        "3栋2单元楼道有人飞线充电", policy
    )


@pytest.mark.parametrize(
    "text", ["地下室積水三天了", "地下室积水3天了", "地下室积水好几天了", "地下室积水一个多星期"]
)
def test_durations_do_not_count(text: str, policy: RoutingPolicy) -> None:
    assert reading(text, policy).words == ("地下室", "积水")


def test_a_week_is_a_week(policy: RoutingPolicy) -> None:
    assert reading("垃圾一周没清运", policy) == reading("垃圾一星期没人清运", policy)


@pytest.mark.parametrize("word", ["壞了", "故障", "不亮", "失靈"])
def test_fault_synonyms_meet(word: str, policy: RoutingPolicy) -> None:
    assert reading(f"路燈{word}", policy).faults == ("坏",)


def test_domain_synonyms_meet(policy: RoutingPolicy) -> None:
    assert (
        reading("樓道裡有人給電瓶車充電", policy).words
        == reading("楼道有人给电动车充电", policy).words
    )
    assert reading("消防通道被堵", policy).faults == reading("消防通道被车占了", policy).faults


def test_a_lone_character_counts_only_as_a_whole_word(policy: RoutingPolicy) -> None:
    assert "臭" in reading("楼道很臭", policy).words
    assert "臭" not in reading("楼下有人卖臭豆腐", policy).words


def test_function_and_stop_words_are_dropped(policy: RoutingPolicy) -> None:
    assert reading("希望物業儘快處理一下小區的垃圾問題", policy).words == ("垃圾",)


def test_the_location_field_names_places_too(policy: RoutingPolicy) -> None:
    both = reading("楼道有人飞线充电", policy, location="15栋3单元")
    assert (both.places.building, both.places.unit) == (("15",), ("3",))
    assert both.places.facility == ("楼道",)


def test_a_city_extends_the_groups_without_code(policy: RoutingPolicy) -> None:
    base = policy.duplicates
    assert reading("有人在楼道遛狗", policy).words != reading("有人在楼道溜狗", policy).words
    extended = DuplicatePolicy.model_validate(
        base.model_dump() | {"synonyms": [*base.synonyms, ["遛狗", "溜狗"]]}
    )
    lexicon = lexicon_of(extended)
    assert (
        read("有人在楼道遛狗", None, lexicon).words == read("有人在楼道溜狗", None, lexicon).words
    )
