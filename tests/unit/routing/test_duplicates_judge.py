"""Judging a new complaint against open ones: the place guard, the fault and subject
guards, the link/possible/distinct tiers, and picking the candidate."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from services.routing.duplicates import Fingerprint, Verdict, best_match, fingerprint, judge
from services.routing.policy import DuplicatePolicy, RoutingPolicy
from tests.unit.routing.conftest import T0


@pytest.fixture(scope="module")
def dups(policy: RoutingPolicy) -> DuplicatePolicy:
    return policy.duplicates


def fp(
    dups: DuplicatePolicy,
    description: str,
    location: str | None = None,
    *,
    compound: str = "cx-001",
    category: str = "facility_repair",
    hours: float = 0,
) -> Fingerprint:
    return fingerprint(
        description,
        location,
        dups,
        compound_id=compound,
        category=category,
        received_at=T0 + timedelta(hours=hours),
    )


# The pairs of issue 14: the bigram detector linked these look-alikes and missed the
# paraphrases below. Reasons read "new vs candidate".
@pytest.mark.parametrize(
    ("category", "first", "second", "difference"),
    [
        (
            "flying_wire_charging",
            "3棟2單元樓道有人飛線充電",
            "12棟2單元樓道有人飛線充電",
            "building 12 vs 3",
        ),
        (
            "facility_repair",
            "A區車庫出口的欄桿壞了，車出不去",
            "B區車庫出口的欄桿壞了，車出不去",
            "zone b区 vs a区",
        ),
        (
            "facility_repair",
            "2號樓402的空調外機掉下來了",
            "2號樓502的空調外機掉下來了",
            "flat 502 vs 402",
        ),
    ],
)
def test_look_alikes_about_different_places_are_never_linked(
    dups: DuplicatePolicy, category: str, first: str, second: str, difference: str
) -> None:
    judgement = judge(
        fp(dups, second, category=category, hours=3), fp(dups, first, category=category), dups
    )
    assert judgement.verdict is Verdict.DISTINCT
    assert difference in judgement.reason


@pytest.mark.parametrize(
    ("category", "first", "second"),
    [
        ("sanitation", "地下室一直積水，發出臭味", "地下室積水好幾天了，臭得很，蚊子特別多"),
        (
            "facility_repair",
            "小區里的健身器材斷了一根，小孩差點受傷",
            "小區健身器材壞了，斷了的鐵桿差點砸到小孩",
        ),
    ],
)
def test_the_same_problem_in_other_words_is_linked(
    dups: DuplicatePolicy, category: str, first: str, second: str
) -> None:
    judgement = judge(
        fp(dups, second, category=category, hours=3), fp(dups, first, category=category), dups
    )
    assert judgement.verdict is Verdict.LINK
    assert judgement.score >= dups.link_score


@pytest.mark.parametrize(
    ("other", "reason"),
    [
        ({"compound": "cx-002"}, "another compound"),
        ({"category": "sanitation"}, "another category"),
        ({"hours": -25}, "beyond the 24 h window"),
    ],
)
def test_judge_refuses_other_compounds_categories_and_old_complaints(
    dups: DuplicatePolicy, other: dict[str, object], reason: str
) -> None:
    text = "5栋电梯坏了，困了人"
    candidate = fp(dups, text, **other)  # type: ignore[arg-type]
    judgement = judge(fp(dups, text), candidate, dups)
    assert judgement.verdict is Verdict.DISTINCT
    assert reason in judgement.reason


def test_same_place_different_fault_is_not_linked(dups: DuplicatePolicy) -> None:
    judgement = judge(fp(dups, "7栋2单元楼道灯不亮"), fp(dups, "7栋2单元楼道漏水"), dups)
    assert judgement.verdict is Verdict.DISTINCT
    assert "different faults" in judgement.reason


def test_same_words_about_another_thing_are_not_linked(dups: DuplicatePolicy) -> None:
    new = fp(dups, "停车费涨价没有公示", category="property_fees")
    old = fp(dups, "物业费涨价没有公示", category="property_fees")
    judgement = judge(new, old, dups)
    assert judgement.verdict is Verdict.DISTINCT
    assert "different subjects" in judgement.reason


def test_a_complaint_naming_no_place_needs_strong_agreement(dups: DuplicatePolicy) -> None:
    placed = fp(
        dups, "有人從樓上窗戶拉電線下來給電動車充電", "7棟", category="flying_wire_charging"
    )
    same_words = fp(dups, "有人从楼上窗户拉电线下来给电动车充电", category="flying_wire_charging")
    fewer_words = fp(dups, "楼上有人拉电线充电，吓人", category="flying_wire_charging")
    strong = judge(same_words, placed, dups)
    assert strong.verdict is Verdict.LINK
    assert "only one names a place" in strong.reason
    weak = judge(fewer_words, placed, dups)
    assert dups.link_score <= weak.score < dups.strong_score  # would link were the place named
    assert weak.verdict is Verdict.POSSIBLE


def test_unsure_is_possible_not_linked(dups: DuplicatePolicy) -> None:
    judgement = judge(
        fp(dups, "3栋楼下乱停车", category="parking_disorder"),
        fp(dups, "3栋楼下有人在公共车位上装地锁", category="parking_disorder"),
        dups,
    )
    assert judgement.verdict is Verdict.POSSIBLE
    assert dups.possible_score <= judgement.score < dups.link_score


def test_best_match_prefers_a_link_then_the_closest_then_the_earliest(
    dups: DuplicatePolicy,
) -> None:
    new = fp(dups, "5栋电梯坏了，老人下不了楼", hours=5)
    candidates = [
        ("c-other-building", fp(dups, "6栋电梯坏了，老人下不了楼", hours=1)),
        ("c-later", fp(dups, "5栋电梯坏了，老人下不了楼", hours=2)),
        ("c-first", fp(dups, "5棟電梯壞了，老人下不了樓", hours=1)),
        ("c-unsure", fp(dups, "5栋电梯间的灯坏了", hours=0)),
    ]
    best = best_match(new, candidates, dups)
    assert best is not None
    assert (best.verdict, best.candidate_id) == (Verdict.LINK, "c-first")
    assert best_match(new, candidates[:1], dups) is None


def test_best_match_falls_back_to_a_possible_one(dups: DuplicatePolicy) -> None:
    new = fp(dups, "3栋楼下乱停车", category="parking_disorder", hours=2)
    unsure = fp(dups, "3栋楼下有人在公共车位上装地锁", category="parking_disorder")
    best = best_match(new, [("c-unsure", unsure)], dups)
    assert best is not None
    assert (best.verdict, best.candidate_id) == (Verdict.POSSIBLE, "c-unsure")


def test_a_fingerprint_round_trips_through_json(dups: DuplicatePolicy) -> None:
    original = fp(dups, "2號樓402的空調外機掉下來了", "2号楼")
    stored = json.dumps(original.model_dump(mode="json"), ensure_ascii=False)
    again = Fingerprint.model_validate(json.loads(stored))
    assert again == original
    assert judge(again, original, dups).verdict is Verdict.LINK
