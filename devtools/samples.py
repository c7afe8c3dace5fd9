"""Realistic Chinese complaints for the demo, the end-to-end tests and the benchmarks.

``complaint``/``complaints`` assemble descriptions from fragments so that different
complaints read differently while each stays plausible. ``ComplaintMix`` and
``resident_complaints`` write them as residents do, each about a problem at a named
place, with a chosen share of duplicates (the same problem retold in other words)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import opencc

COMPOUNDS = (
    "cx-001", "cx-002", "cx-003", "cx-004", "cx-005", "cx-006",
    "cx-007", "cx-008", "cx-009", "cx-010", "cx-011", "cx-012",
)  # fmt: skip

# category → (what happened, in several wordings)
PROBLEMS: dict[str, tuple[str, ...]] = {
    "flying_wire_charging": (
        "有人從窗戶拉線充電，電線從{floor}樓一直垂到地面",
        "樓道里私拉電線給電動車充電，插線板就放在樓梯口",
        "電動車推進樓道充電，充電線橫穿走廊",
        "每天晚上都有人飛線充電，電線掛在{floor}樓外墻上",
    ),
    "fire_access_blocked": (
        "消防通道被私家車長期占用，消防車根本進不來",
        "安全出口被雜物堵死，一旦起火人跑不出去",
        "生命通道上堆滿了裝修垃圾和舊家具",
        "消防栓前面停了三輛電動車，完全擋住了",
    ),
    "property_inaction": (
        "物業不作為，報修了{days}天沒人來看",
        "找了物業好多次，物業推諉說不歸他們管",
        "物業不管小區的事，打電話也沒人接",
    ),
    "property_fees": (
        "物業費今年突然漲價，沒有開業主大會表決",
        "停車費亂收費，臨時停車一小時收{fee}元",
        "公共收益的賬目從來不公開，維修基金用途不明",
    ),
    "illegal_construction": (
        "{floor}樓住戶在樓頂私搭亂建，加蓋了一層陽光房",
        "一樓住戶圈占公共綠地，搭建了鐵皮棚子",
        "有人在露臺違章搭建，施工噪音很大而且不安全",
    ),
    "planning_violation": (
        "小區規劃的配套設施一直沒建，幼兒園改成了商鋪",
        "開發商擅自改變用途，把規劃的綠地改成了停車場",
    ),
    "committee_governance": (
        "業委會換屆選舉拖了{days}天沒有結果",
        "物委會成員不公開會議記錄，業主大會也不召開",
        "小區想籌建業委會，但不知道找誰",
    ),
    "parking_disorder": (
        "小區里車輛亂停亂放，占道嚴重，早上出不了門",
        "有一輛僵尸車在{building}棟樓下停了半年",
        "車位被外來車輛占用，晚上回來沒地方停",
    ),
    "sanitation": (
        "垃圾堆放在{building}棟門口好幾天沒人清運，臭氣熏天",
        "小區污水橫流，老鼠到處跑，蚊蠅很多",
        "綠化帶里全是生活垃圾，衛生狀況很差",
    ),
    "facility_repair": (
        "{building}棟電梯壞了{days}天還沒修好，老人上下樓很困難",
        "樓頂漏水，家里墻面都發霉了",
        "小區路燈壞了一片，晚上走路很危險",
        "門禁損壞，外來人員隨意進出",
    ),
    "neighbour_dispute": (
        "樓上鄰居裝修噪音從早上七點開始，嚴重擾民",
        "鄰居家寵物狗整夜叫，溝通多次無果",
    ),
}

DETAILS = (
    "已經反映過好幾次了。",
    "希望盡快派人來處理。",
    "住戶們意見都很大。",
    "老人和小孩都很擔心安全。",
    "請相關部門盡快到現場看看。",
    "拍了照片可以提供。",
    "這個問題存在很久了。",
    "晚上尤其嚴重。",
)

SURNAMES = "王李張劉陳楊趙黃周吳徐孫胡朱高林何郭馬羅"
CHANNELS = ("hotline", "web", "wechat", "grid_worker", "walk_in", "app")


def description(category: str, rng: random.Random) -> str:
    problem = rng.choice(PROBLEMS[category]).format(
        floor=rng.randint(2, 18),
        building=rng.randint(1, 24),
        days=rng.randint(3, 40),
        fee=rng.choice((5, 8, 10, 15)),
    )
    location = f"{rng.randint(1, 24)}棟{rng.randint(1, 4)}單元"
    extra = "".join(rng.sample(DETAILS, k=rng.randint(1, 3)))
    return f"{location}：{problem}。{extra}"


def phone(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}"


def complaint(
    index: int,
    rng: random.Random,
    *,
    source: str = "hotline-12345",
    run: str = "demo",
    compound_id: str | None = None,
    category: str | None = None,
    give_category: bool | None = None,
) -> dict[str, Any]:
    """One submission as the HTTP API and ``ingress.complaints`` take it."""
    chosen = category or rng.choice(tuple(PROBLEMS))
    body: dict[str, Any] = {
        "source": source,
        "source_ref": f"{run}-{index:06d}",
        "channel": rng.choice(CHANNELS),
        "compound_id": compound_id or rng.choice(COMPOUNDS),
        "description": description(chosen, rng),
        "location": f"{rng.randint(1, 24)}棟",
        "reporter": {
            "name": f"{rng.choice(SURNAMES)}{rng.choice('先生女士')}",
            "phone": phone(rng),
            "hide_identity": rng.random() < 0.5,
        },
        "occurred_at": "2026-11-28T08:00:00+08:00",
    }
    if give_category if give_category is not None else rng.random() < 0.5:
        body["category"] = chosen
    return body


def complaints(count: int, *, seed: int = 7, **options: Any) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for index in range(count):
        yield complaint(index, rng, **options)


# --- Complaints as residents write them ----------------------------------------------
#
# The functions above vary texts from fragments. Those below write a complaint the way
# a resident does: a problem at a named place (building, unit, floor, flat, zone,
# gate), in one of several wordings, simplified or traditional, sometimes with a typo,
# the place sometimes in the location field. ``ComplaintMix`` makes a stream where a
# chosen share of the complaints retells, in other words, a problem already reported
# in the same compound: the duplicates. Every other complaint is a new problem or the
# same problem at another place, so the duplicate check has real work to do and only
# the retellings should be linked.

_TO_TRADITIONAL = opencc.OpenCC("s2t")


@dataclass(frozen=True)
class Problem:
    """One kind of problem: where it is (a place pattern of ``{b}`` building, ``{u}``
    unit, ``{f}`` floor, ``{flat}``, ``{zone}``, ``{gate}``, ``{side}``) and the ways
    residents tell it (each with ``{place}``)."""

    place: str
    wordings: tuple[str, ...]


RESIDENT_PROBLEMS: dict[str, tuple[Problem, ...]] = {
    "flying_wire_charging": (
        Problem(
            "{b}栋{u}单元楼道",
            (
                "{place}有人飞线充电",
                "{place}里有人私拉电线给电动车充电",
                "有人在{place}拉线给电瓶车充电，太危险了",
            ),
        ),
        Problem(
            "{b}栋{f}楼",
            (
                "{place}有人从窗户吊电线下来给电动车充电",
                "{place}那户把电线从窗户放下来充电瓶车",
                "{place}窗户上吊着电线，下面电动车在充电",
            ),
        ),
        Problem(
            "{zone}区车棚",
            (
                "{place}有人私拉乱接电线充电",
                "{place}的电线是私自拉的，一排电瓶车在充电",
                "{place}里有人飞线充电，线都搭在铁架上",
            ),
        ),
    ),
    "fire_access_blocked": (
        Problem(
            "{gate}门",
            (
                "{place}的消防通道被私家车堵死了",
                "{place}那边的消防车道天天停满车，消防车进不来",
                "小区{place}消防通道被车占了",
            ),
        ),
        Problem(
            "{b}栋{u}单元",
            (
                "{place}安全出口被杂物堵了",
                "{place}的安全出口堆满了旧家具，人都过不去",
                "{place}安全出口让人用杂物堵死了",
            ),
        ),
        Problem(
            "{b}栋楼下",
            (
                "{place}的消防栓被电动车挡住了",
                "{place}消火栓前面停满了电动车，挡得严严实实",
            ),
        ),
    ),
    "property_inaction": (
        Problem(
            "{b}栋",
            (
                "{place}的水管漏水报修了好多天物业不管",
                "{place}水管漏水跟物业说了几次，一直不派人",
                "物业不作为，{place}水管漏水报修没人来",
            ),
        ),
        Problem(
            "{gate}门",
            (
                "{place}的道闸坏了物业不修",
                "物业不管{place}的道闸，坏了好久",
            ),
        ),
    ),
    "property_fees": (
        Problem(
            "{zone}区",
            (
                "{place}地面停车费突然涨价，没有公示",
                "{place}的停车费说涨就涨，也不公示",
                "{place}停车费涨了，物业没有公示",
            ),
        ),
        Problem(
            "{b}栋",
            (
                "{place}的二次供水费收得不合理",
                "{place}二次供水费太贵，收费不合理",
            ),
        ),
    ),
    "illegal_construction": (
        Problem(
            "{b}栋楼顶",
            (
                "{place}有人私搭乱建，加盖了阳光房",
                "{place}有住户在天台上盖阳光房",
                "{place}违章加盖了一层阳光房",
            ),
        ),
        Problem(
            "{b}栋{flat}",
            (
                "{place}在阳台外面违章搭建铁架子",
                "{place}住户阳台外扩违建，搭了铁架子",
            ),
        ),
    ),
    "planning_violation": (
        Problem(
            "{zone}区",
            (
                "{place}规划的绿地被开发商改成停车场",
                "{place}的绿地按规划不能停车，开发商改成停车场收费了",
            ),
        ),
        Problem(
            "{b}栋",
            (
                "规划里{place}是住宅，现在改成了酒店",
                "{place}按规划是住宅楼，被开发商改成酒店了",
            ),
        ),
    ),
    "committee_governance": (
        Problem(
            "{zone}区",
            (
                "{place}的业主代表选举没通知我们",
                "{place}选业主代表根本没通知业主",
            ),
        ),
        Problem(
            "{b}栋",
            (
                "{place}的楼栋长选举有人拉票",
                "{place}选楼栋长有人拉票还代签名",
            ),
        ),
    ),
    "parking_disorder": (
        Problem(
            "{b}栋楼下",
            (
                "{place}有辆僵尸车停了半年",
                "{place}那辆旧车好几个月没动过，占着车位",
                "{place}有僵尸车一直没人开",
            ),
        ),
        Problem(
            "{b}栋{u}单元门口",
            (
                "{place}电动车乱停，轮椅推不出去",
                "{place}停满了电瓶车，轮椅都推不出去",
            ),
        ),
        Problem(
            "{zone}区路边",
            (
                "{place}车辆乱停，两边停满",
                "{place}乱停车，路都堵了",
            ),
        ),
    ),
    "sanitation": (
        Problem(
            "{b}栋门口",
            (
                "{place}的垃圾好几天没人清运，很臭",
                "{place}垃圾堆了几天没人拉走，味道很大",
                "{place}垃圾没人清运，臭气熏天",
            ),
        ),
        Problem(
            "{gate}门垃圾站",
            (
                "{place}的垃圾满了溢出来",
                "{place}堆满了，垃圾都溢出来了",
            ),
        ),
        Problem(
            "{b}栋{u}单元楼道",
            (
                "{place}有人养鸡，又臭又脏",
                "{place}里有人养鸡，鸡屎味很臭",
            ),
        ),
    ),
    "facility_repair": (
        Problem(
            "{b}栋{u}单元",
            (
                "{place}电梯坏了，老人上下楼很困难",
                "{place}的电梯又坏了，好几天没修好",
                "{place}电梯故障，老人只能爬楼梯",
            ),
        ),
        Problem(
            "{b}栋{u}单元门口",
            (
                "{place}门禁坏了，谁都能进",
                "{place}的门禁刷卡没反应，坏了，外来人员随意进出",
            ),
        ),
        Problem(
            "{b}栋{f}楼",
            (
                "{place}楼道灯不亮了",
                "{place}楼道的灯坏了，晚上看不见",
            ),
        ),
        Problem(
            "{zone}区车库出口",
            (
                "{place}的道闸坏了，车出不去",
                "{place}栏杆坏了，车堵在里面出不去",
            ),
        ),
        Problem(
            "{b}栋{flat}",
            (
                "{place}家里天花板漏水，墙都发霉了",
                "{place}天花板渗水，墙皮发霉",
            ),
        ),
    ),
    "neighbour_dispute": (
        Problem(
            "{b}栋{flat}",
            (
                "{place}装修噪音太大，早上七点就开始",
                "{place}天天装修，电钻声吵死了",
            ),
        ),
        Problem(
            "{b}栋{u}单元",
            (
                "{place}楼上天天打麻将吵人",
                "{place}有人半夜打麻将，噪音太大",
            ),
        ),
    ),
    "other": (
        Problem(
            "{gate}门",
            (
                "{place}快递柜坏了，取不了快递",
                "{place}的快递柜屏幕黑了坏了，取不出包裹",
            ),
        ),
        Problem(
            "{b}栋",
            (
                "{place}外墙瓷砖掉了好几块",
                "{place}外墙的瓷砖掉下来了，下面有人走",
            ),
        ),
    ),
}

# How often each category comes in (repairs, rubbish and parking lead, as they do).
CATEGORY_WEIGHTS: dict[str, int] = {
    "facility_repair": 20, "sanitation": 15, "parking_disorder": 15,
    "neighbour_dispute": 10, "flying_wire_charging": 8, "fire_access_blocked": 6,
    "property_inaction": 6, "property_fees": 5, "illegal_construction": 5, "other": 5,
    "committee_governance": 3, "planning_violation": 2,
}  # fmt: skip

OPENERS = ("", "", "", "你好，", "您好，", "反映一下，", "再次反映：", "我要投诉，", "麻烦管一下，")
CLOSERS = (
    "", "", "希望尽快处理。", "请尽快派人来看看。", "已经反映过好几次了。", "住户意见很大。",
    "谢谢！", "太闹心了。", "拍了照片可以提供。", "老人小孩都很担心。",
)  # fmt: skip
TYPOS = (("垃圾", "拉圾"), ("充电", "冲电"), ("电梯", "电悌"))
_CN_NUMERALS = "零一二三四五六七八九十"


def _chinese(number: int) -> str:
    if number <= 10:
        return _CN_NUMERALS[number]
    tens, ones = divmod(number, 10)
    return ("" if tens == 1 else _CN_NUMERALS[tens]) + "十" + (_CN_NUMERALS[ones] if ones else "")


@dataclass(frozen=True)
class Situation:
    """A problem at a place in a compound: what duplicates retell."""

    compound_id: str
    category: str
    problem: int
    values: tuple[tuple[str, int | str], ...]

    def value(self, name: str) -> int | str:
        return dict(self.values)[name]


def _draw_values(place: str, rng: random.Random) -> tuple[tuple[str, int | str], ...]:
    floor = rng.randint(2, 18)
    values: dict[str, int | str] = {
        "b": rng.randint(1, 30),
        "u": rng.randint(1, 4),
        "f": floor,
        "flat": floor * 100 + rng.randint(1, 4),
        "zone": rng.choice("ABCDE"),
        "gate": rng.choice(("东", "西", "南", "北")),
    }
    return tuple((k, v) for k, v in values.items() if "{" + k + "}" in place)


def _render_place(place: str, situation: Situation, rng: random.Random) -> tuple[str, str | None]:
    """The place as this resident writes it, and what goes into the location field."""
    values = dict(situation.values)
    written = dict(values)
    if isinstance(values.get("b"), int) and rng.random() < 0.3:
        building = int(values["b"])
        written["b"] = _chinese(building) if building <= 20 else str(building)
    if isinstance(values.get("u"), int) and rng.random() < 0.3:
        written["u"] = _chinese(int(values["u"]))
    text = place.format(**written)
    if "b" in values and rng.random() < 0.2:
        text = text.replace("栋", "号楼", 1)
    if "b" in values and "{b}栋" in place and rng.random() < 0.3:
        # The building goes into the location field, the rest stays in the text.
        head = f"{written['b']}栋"
        return text.replace(head, "", 1) or "小区", head
    return text, None


def resident_description(
    situation: Situation, rng: random.Random, *, wording: int | None = None
) -> tuple[str, str | None]:
    """One resident's description of a situation, and the location field (or None)."""
    problem = RESIDENT_PROBLEMS[situation.category][situation.problem]
    chosen = problem.wordings[
        wording if wording is not None else rng.randrange(len(problem.wordings))
    ]
    place, location = _render_place(problem.place, situation, rng)
    text = rng.choice(OPENERS) + chosen.format(place=place) + "。" + rng.choice(CLOSERS)
    if rng.random() < 0.1:
        right, wrong = rng.choice(TYPOS)
        text = text.replace(right, wrong, 1)
    if rng.random() < 0.35:
        text = str(_TO_TRADITIONAL.convert(text))
        location = str(_TO_TRADITIONAL.convert(location)) if location else None
    return text, location


class ComplaintMix:
    """A stream of complaints of which about ``duplicate_share`` retell, in another
    wording, a situation already reported in the same compound and category; the
    others are each a situation of their own (a new problem, or one at a new place)."""

    def __init__(self, rng: random.Random, *, duplicate_share: float = 0.1) -> None:
        if not 0 <= duplicate_share < 1:
            raise ValueError("duplicate_share must be at least 0 and below 1")
        self.rng = rng
        self.duplicate_share = duplicate_share
        self.reported: dict[tuple[str, str], list[tuple[Situation, int]]] = {}
        self.seen: set[Situation] = set()

    def _fresh(self, compound_id: str, category: str) -> Situation | None:
        """A situation not reported yet, or None when a few draws found none."""
        problems = RESIDENT_PROBLEMS[category]
        for _ in range(50):
            index = self.rng.randrange(len(problems))
            values = _draw_values(problems[index].place, self.rng)
            situation = Situation(compound_id, category, index, values)
            if situation not in self.seen:
                self.seen.add(situation)
                return situation
        return None

    def describe(self, compound_id: str, category: str) -> tuple[str, str | None, bool]:
        """A description, its location field, and whether it retells an earlier one."""
        earlier = self.reported.get((compound_id, category))
        fresh = None
        if not earlier or self.rng.random() >= self.duplicate_share:
            fresh = self._fresh(compound_id, category)
        if fresh is None and earlier:
            # Asked for a retelling, or every place of this kind is taken: retell.
            situation, first_wording = self.rng.choice(earlier)
            count = len(RESIDENT_PROBLEMS[category][situation.problem].wordings)
            wording = (first_wording + 1 + self.rng.randrange(count - 1)) % count
            text, location = resident_description(situation, self.rng, wording=wording)
            return text, location, True
        situation = fresh or Situation(compound_id, category, 0, ())
        count = len(RESIDENT_PROBLEMS[category][situation.problem].wordings)
        wording = self.rng.randrange(count)
        self.reported.setdefault((compound_id, category), []).append((situation, wording))
        text, location = resident_description(situation, self.rng, wording=wording)
        return text, location, False

    def complaint(
        self,
        index: int,
        *,
        source: str = "hotline-12345",
        run: str = "demo",
        compound_id: str | None = None,
        category: str | None = None,
        give_category: bool | None = None,
    ) -> dict[str, Any]:
        """One submission, with the same options as ``complaint``."""
        rng = self.rng
        chosen = (
            category
            or rng.choices(tuple(CATEGORY_WEIGHTS), weights=tuple(CATEGORY_WEIGHTS.values()))[0]
        )
        compound = compound_id or rng.choice(COMPOUNDS)
        text, location, _ = self.describe(compound, chosen)
        body: dict[str, Any] = {
            "source": source,
            "source_ref": f"{run}-{index:06d}",
            "channel": rng.choice(CHANNELS),
            "compound_id": compound,
            "description": text,
            "reporter": {
                "name": f"{rng.choice(SURNAMES)}{rng.choice('先生女士')}",
                "phone": phone(rng),
                "hide_identity": rng.random() < 0.5,
            },
            "occurred_at": "2026-11-28T08:00:00+08:00",
        }
        if location:
            body["location"] = location
        if give_category if give_category is not None else rng.random() < 0.5:
            body["category"] = chosen
        return body


def resident_complaints(
    count: int, *, seed: int = 7, duplicate_share: float = 0.1, **options: Any
) -> Iterator[dict[str, Any]]:
    """``count`` submissions as residents write them (see ``ComplaintMix``)."""
    mix = ComplaintMix(random.Random(seed), duplicate_share=duplicate_share)
    for index in range(count):
        yield mix.complaint(index, **options)
