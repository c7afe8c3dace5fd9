"""Realistic Chinese complaints for the demo, the end-to-end tests and the benchmarks.

Descriptions are assembled from fragments so that different complaints read
differently (the duplicate check compares texts) while each stays plausible."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

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
