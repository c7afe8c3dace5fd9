"""The routing table: realistic complaints, the category they get and who must act.

Residents write simplified characters; the policy is written the way the product
documents it. A few cases are in traditional characters to show both meet."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from services.routing.assign import assign
from services.routing.classify import classify
from services.routing.policy import RoutingPolicy
from shared.directory import Directory


@dataclass(frozen=True)
class Case:
    id: str
    compound: str
    text: str
    category: str
    lead: str
    support: list[str] = field(default_factory=list)
    given: str | None = None
    source: str = "classified"
    unknown_compound: bool = False


CASES = [
    # 飛線充電: fire leads, the firm (or whoever stands in for it) and the community support.
    Case("flying-wire-traditional-in-cx-001", "cx-001", "3棟2單元有住戶從五樓窗戶飛線給電動車充電，很危險",
         "flying_wire_charging", "fire", ["pf-dianzhong", "cm-xueqiao"]),
    Case("flying-wire-no-firm-committee-stands-in", "cx-002", "供销社宿舍2号楼有人私拉电线给电瓶车充电",
         "flying_wire_charging", "fire", ["cx-002-committee", "cm-xueqiao"]),
    Case("flying-wire-no-firm-no-committee-community-once", "cx-003", "楼道充电的电动车越来越多，晚上都摆在楼梯口",
         "flying_wire_charging", "fire", ["cm-xueqiao"]),
    Case("flying-wire-other-firm", "cx-007", "有人从三楼拉线充电，充电线就挂在单元门口",
         "flying_wire_charging", "fire", ["pf-yiyuan", "cm-lucheng"]),
    Case("flying-wire-beats-property-inaction", "cx-001", "物业不管，楼上天天飞线充电",
         "flying_wire_charging", "fire", ["pf-dianzhong", "cm-xueqiao"]),
    # 消防通道堵塞
    Case("fire-lane-blocked", "cx-001", "小区消防通道被私家车堵死了，消防车根本进不来",
         "fire_access_blocked", "fire", ["pf-dianzhong"]),
    Case("fire-lane-beats-parking", "cx-006", "东门口车辆乱停，连消防车道都占了",
         "fire_access_blocked", "fire", ["pf-dianzhong"]),
    Case("safety-exit-blocked-no-firm", "cx-003", "单元的安全出口被杂物堵住了",
         "fire_access_blocked", "fire", ["cm-xueqiao"]),
    Case("hydrant-enclosed", "cx-010", "龙江家园的消防栓被围进了商铺里",
         "fire_access_blocked", "fire", ["pf-jiaye"]),
    # 物業不作為
    Case("inaction-beats-broken-light", "cx-001", "反映多次楼道灯坏了物业不处理",
         "property_inaction", "housing", ["property-party-committee", "cm-xueqiao"]),
    Case("inaction-buck-passing", "cx-011", "物业推诿扯皮，什么事都没人管",
         "property_inaction", "housing", ["property-party-committee", "cm-longjiang"]),
    Case("inaction-traditional", "cx-001", "物業不作為，業主投訴半年沒有任何回應",
         "property_inaction", "housing", ["property-party-committee", "cm-xueqiao"]),
    # 物業收費
    Case("fees-beat-owners-assembly", "cx-001", "物业费今年涨了一倍，也没开业主大会",
         "property_fees", "housing", ["cx-001-committee"]),
    Case("parking-fee-no-committee-community-supports", "cx-007", "小区停车费乱收费，一个月收三百",
         "property_fees", "housing", ["cm-lucheng"]),
    Case("maintenance-fund-pm-committee", "cx-002", "维修基金被挪用，账目不公开",
         "property_fees", "housing", ["cx-002-committee"]),
    Case("public-income-beats-lift", "cx-004", "公共收益去向不明，电梯广告的钱不知道去哪了",
         "property_fees", "housing", ["cx-004-committee"]),
    # 違章搭建
    Case("extra-floor-and-sunroom", "cx-001", "顶楼住户私自加层，在楼顶搭建阳光房",
         "illegal_construction", "urban-management", ["planning", "pf-dianzhong"]),
    Case("wall-encloses-green-no-firm", "cx-002", "一楼住户违建围墙圈占公共绿地",
         "illegal_construction", "urban-management", ["planning", "cx-002-committee"]),
    Case("shack-no-firm-no-committee", "cx-003", "院子里有人私搭乱建铁皮房",
         "illegal_construction", "urban-management", ["planning", "cm-xueqiao"]),
    # 規劃問題
    Case("change-of-use", "cx-006", "开发商擅自改变用途，把规划的幼儿园改成了售楼部",
         "planning_violation", "planning", ["housing"]),
    Case("floor-area-ratio", "cx-004", "小区配套设施一直没建，容积率也超了",
         "planning_violation", "planning", ["housing"]),
    # 業委會/物委會事務
    Case("owners-committee-election", "cx-001", "业委会换届选举不公开，业主不知情",
         "committee_governance", "cm-xueqiao", ["housing"]),
    Case("pm-committee-members-idle", "cx-010", "物委会成员长期不履职",
         "committee_governance", "cm-longjiang", ["housing"]),
    Case("owners-assembly-setup", "cx-012", "小区想筹建业主大会，社区迟迟不给答复",
         "committee_governance", "cm-longjiang", ["housing"]),
    # 車輛亂停亂放
    Case("parking-firm", "cx-001", "小区里车辆乱停乱放，早上车都开不出去",
         "parking_disorder", "pf-dianzhong"),
    Case("zombie-cars-pm-committee", "cx-002", "院子里有好几辆僵尸车，占了车位",
         "parking_disorder", "cx-002-committee"),
    Case("parking-no-firm-no-committee", "cx-003", "外来车辆随意停放，占道严重",
         "parking_disorder", "cm-xueqiao"),
    Case("parking-space-locked", "cx-008", "地下车库的车位被人用地锁占了",
         "parking_disorder", "pf-yiyuan"),
    # 環境臟亂差
    Case("rubbish-not-collected", "cx-001", "垃圾桶满了三天没人清运，臭气熏天",
         "sanitation", "pf-dianzhong"),
    Case("sewage-pm-committee", "cx-012", "污水井堵塞，污水漫到路面上",
         "sanitation", "cx-012-committee"),
    Case("rats-no-firm-no-committee", "cx-009", "楼道里老鼠蚊蝇很多，卫生太差",
         "sanitation", "cm-lucheng"),
    Case("rubble-traditional", "cx-005", "單元門口堆放大量建築垃圾",
         "sanitation", "cx-005-committee"),
    # 設施維修
    Case("lift-broken", "cx-004", "3号楼电梯又坏了，老人上不了楼",
         "facility_repair", "pf-dianzhong"),
    Case("roof-leak-pm-committee", "cx-005", "楼顶漏水，家里墙面都发霉了",
         "facility_repair", "cx-005-committee"),
    Case("street-lights", "cx-011", "小区路灯损坏一个月没人修",
         "facility_repair", "pf-jiaye"),
    Case("water-cut-no-firm-no-committee", "cx-003", "院里停水三天了",
         "facility_repair", "cm-xueqiao"),
    # 鄰里糾紛
    Case("noise-committee-supports", "cx-001", "楼上邻居半夜噪音扰民",
         "neighbour_dispute", "cm-xueqiao", ["cx-001-committee"]),
    Case("pet-no-committee-support-is-lead", "cx-003", "隔壁养的宠物狗天天叫，多次沟通无果",
         "neighbour_dispute", "cm-xueqiao"),
    Case("renovation-noise-no-committee", "cx-007", "楼下装修从早到晚没完没了",
         "neighbour_dispute", "cm-lucheng"),
    # 其他
    Case("nothing-matches-goes-to-community", "cx-001", "希望小区增加一些健身器材",
         "other", "cm-xueqiao", source="default"),
    # The given category, and when it is ignored.
    Case("explicit-category-wins", "cx-001", "8栋门口有安全隐患，电梯旁边",
         "flying_wire_charging", "fire", ["pf-dianzhong", "cm-xueqiao"],
         given="flying_wire_charging", source="given"),
    Case("explicit-category-wins-over-keywords", "cx-004", "电梯间旁边的垃圾没人收",
         "sanitation", "pf-dianzhong", given="sanitation", source="given"),
    Case("explicit-other-is-classified", "cx-001", "小区垃圾没人清运",
         "sanitation", "pf-dianzhong", given="other"),
    Case("unknown-category-code-is-classified", "cx-008", "门口车位被占",
         "parking_disorder", "pf-yiyuan", given="parking_chaos"),
    Case("explicit-other-no-keyword-is-default", "cx-006", "咨询一下社区活动时间",
         "other", "cm-lucheng", given="other", source="default"),
    # Unknown compound: not dropped, the dispatch desk gets it, flagged.
    Case("unknown-compound-goes-to-dispatch", "cx-999", "有人飞线充电",
         "flying_wire_charging", "city-dispatch", unknown_compound=True),
    Case("unknown-compound-unclassified", "yx-123", "想问问小区归哪个社区管",
         "other", "city-dispatch", source="default", unknown_compound=True),
    # The three examples the policy gives, exactly.
    Case("policy-example-flying-wire-cx-002", "cx-002", "飛線充電",
         "flying_wire_charging", "fire", ["cx-002-committee", "cm-xueqiao"]),
    Case("policy-example-parking-cx-003", "cx-003", "車輛亂停亂放",
         "parking_disorder", "cm-xueqiao"),
    Case("policy-example-fees-cx-001", "cx-001", "物業費",
         "property_fees", "housing", ["cx-001-committee"]),
]  # fmt: skip


def test_table_covers_every_category(policy: RoutingPolicy) -> None:
    assert {c.category for c in CASES} == set(policy.by_code)
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_complaint_goes_to_the_responders_policy_names(
    case: Case, policy: RoutingPolicy, directory: Directory
) -> None:
    classification = classify(policy, case.given, case.text)
    assignment = assign(classification.category, case.compound, directory)

    assert classification.category.code == case.category
    assert classification.source == case.source
    assert assignment.lead.responder_id == case.lead
    assert [s.responder_id for s in assignment.support] == case.support
    assert assignment.unknown_compound is case.unknown_compound


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("东门口车辆乱停，连消防车道都占了", "消防車道"),
        ("物业不管，楼上天天飞线充电", "飛線"),
        ("小区停车费乱收费", "亂收費"),
    ],
)
def test_classification_records_the_keyword_as_the_policy_writes_it(
    text: str, keyword: str, policy: RoutingPolicy
) -> None:
    assert classify(policy, None, text).matched_keyword == keyword


def test_given_category_records_no_keyword(policy: RoutingPolicy) -> None:
    result = classify(policy, "sanitation", "楼道有人飞线充电")
    assert (result.category.code, result.source, result.matched_keyword) == (
        "sanitation",
        "given",
        None,
    )


def test_assignees_carry_the_responders_own_kind(
    policy: RoutingPolicy, directory: Directory
) -> None:
    assignment = assign(policy.category("parking_disorder"), "cx-002", directory)
    assert assignment.lead.kind == "committee"
