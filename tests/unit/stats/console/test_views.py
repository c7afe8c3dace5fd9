"""The console's view models, from the scripted October history (tests/unit/stats)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.stats.access import Reader, as_seen_by
from services.stats.complaint import view
from services.stats.console.names import Names, load_category_names
from services.stats.console.views import (
    LEAD,
    SUPPORT,
    complaint_page,
    grouped,
    months_back,
    queue,
    ranking,
    supervision,
    trend,
    week_days,
    week_starts,
)
from services.stats.figures import Filters, compute
from shared.auth import ApiKey, hash_key
from shared.directory import default_directory_path, load_directory
from shared.events import Reporter
from tests.unit.stats.derived import TZ, records, states
from tests.unit.stats.history import (
    COMMUNITY,
    FIRE,
    FIRM,
    MASKED,
    PHONE,
    RESPONDER_RATES,
    at,
    october,
)

NOW = datetime(2026, 10, 20, tzinfo=UTC)
DIRECTORY = load_directory(default_directory_path())
NAMES = Names(DIRECTORY, load_category_names(None))


def cid(name: str) -> str:
    return october().cid(name)


def test_names_come_from_the_policy_and_directory_in_simplified_characters() -> None:
    assert NAMES.category("flying_wire_charging") == "飞线充电"
    assert NAMES.category("parking_disorder") == "车辆乱停乱放"
    assert NAMES.responder("pf-dianzhong") == "楚雄市滇中物业有限公司"
    assert NAMES.compound("cx-001") == "学桥花园"
    assert NAMES.category("no_such_code") == "no_such_code"


def test_the_queue_holds_only_open_complaints_of_mine_soonest_due_first() -> None:
    found = states([e for _, e in october().events])
    community = queue(found.values(), {"cm-xueqiao"}, NAMES, NOW, TZ)
    # E waits to be acknowledged (due 13 Oct); D was acknowledged, resolve due 17 Oct.
    # C (supported by the community) is resolved: not in the queue.
    assert [i.complaint_id for i in community] == [cid("e"), cid("d")]
    assert [(i.due_label, i.role, i.due.overdue) for i in community] == [
        ("签收时限", LEAD, True),
        ("办结时限", LEAD, True),
    ]
    assert community[0].escalation_level == 2
    assert community[0].due.text == "已超时 6天22小时"
    # The firm returned D and its other complaints are done: nothing of anyone else's.
    assert queue(found.values(), {"pf-dianzhong"}, NAMES, NOW, TZ) == []


def test_a_supporting_responder_sees_the_complaint_as_support() -> None:
    s = october()
    s.received("g", at(18, 8), "flying_wire_charging", "cx-001")
    s.routed(
        "g", at(18, 8, 0, 1), FIRE, timedelta(hours=1), timedelta(days=1), support=(FIRM, COMMUNITY)
    )
    found = states([e for _, e in s.events])
    firm = queue(found.values(), {"pf-dianzhong"}, NAMES, NOW, TZ)
    assert [(i.complaint_id, i.role, i.category) for i in firm] == [
        (s.cid("g"), SUPPORT, "飞线充电")
    ]


def test_the_supervision_list_holds_what_is_late_or_escalated_and_still_open() -> None:
    found = states([e for _, e in october().events])
    late = supervision(found.values(), NAMES, NOW, TZ)
    # E: never acknowledged, escalated twice. D: acknowledged, resolve due passed.
    # A, B (closed), C (resolved), F (duplicate) are not on it.
    assert [(i.complaint_id, i.late, i.escalation_level) for i in late] == [
        (cid("e"), "签收超时", 2),
        (cid("d"), "办结超时", 0),
    ]
    assert supervision(found.values(), NAMES, NOW, TZ, category="neighbour_dispute")[
        0
    ].complaint_id == cid("e")
    assert supervision(found.values(), NAMES, NOW, TZ, period="2026-10-10") == [late[1]]
    assert supervision(found.values(), NAMES, NOW, TZ, period="2026-09") == []
    # Before D's resolve due time D is not on it (never escalated); E is, for its
    # escalation, even where no due time has passed at that instant.
    early = supervision(found.values(), NAMES, at(11, 9), TZ)
    assert [(i.complaint_id, i.late) for i in early] == [(cid("e"), "")]


def test_the_supervision_list_groups_by_responder_compound_or_community() -> None:
    found = states([e for _, e in october().events])
    late = supervision(found.values(), NAMES, NOW, TZ)
    by_responder = grouped(late, "responder")
    assert [(g.key, g.name, len(g.items)) for g in by_responder] == [
        ("cm-xueqiao", "鹿城镇学桥街社区", 2)
    ]
    by_compound = grouped(late, "compound")
    assert [(g.key, [i.complaint_id for i in g.items]) for g in by_compound] == [
        ("cx-001", [cid("d")]),
        ("cx-002", [cid("e")]),
    ]
    assert [g.key for g in grouped(late, "community")] == ["cm-xueqiao"]


def test_the_ranking_orders_responders_by_the_three_rates_and_leaves_out_empty_rows() -> None:
    complaints, notes = records([e for _, e in october().events])
    figures = compute(complaints, notes, "2026-10", Filters(), datetime(2026, 11, 28, tzinfo=UTC))
    rows = ranking(figures["responders"], NAMES)
    # fire 100 % response; firm and community 50 %, the firm resolved more.
    assert [r.responder_id for r in rows] == ["fire", "pf-dianzhong", "cm-xueqiao"]
    assert [r.rank for r in rows] == [1, 2, 3]
    for row in rows:
        expected: dict[str, float | None] = RESPONDER_RATES[row.responder_id]  # type: ignore[assignment]
        assert [c.value for c in row.rates] == [
            expected["response_rate"],
            expected["resolution_rate"],
            expected["satisfaction_rate"],
        ]
    assert rows[2].rates[2].text == "—"
    figures["responders"]["housing"] = {
        "counts": {"routed": 0},
        "rates": {"response_rate": None, "resolution_rate": None, "satisfaction_rate": None},
    }
    assert "housing" not in [r.responder_id for r in ranking(figures["responders"], NAMES)]


def test_weeks_start_on_monday_in_the_city_and_months_go_back_across_a_year() -> None:
    # 2026-11-01 is a Sunday; 02:00 UTC on the 2nd is already Monday in the city.
    starts = week_starts(datetime(2026, 11, 1, 18, 0, tzinfo=UTC), TZ, 2)
    assert [s.strftime("%Y-%m-%d") for s in starts] == ["2026-10-26", "2026-11-02"]
    assert week_days(starts[0]) == [f"2026-10-{d}" for d in range(26, 32)] + ["2026-11-01"]
    assert months_back(datetime(2026, 2, 10, tzinfo=UTC), TZ, 4) == [
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
    ]


def test_the_trend_of_a_week_is_the_sum_of_its_days_and_a_month_is_the_figures_month() -> None:
    complaints, notes = records([e for _, e in october().events])
    now = datetime(2026, 11, 28, tzinfo=UTC)
    first_week = [f"2026-10-{d:02d}" for d in range(5, 12)]  # Monday 5 to Sunday 11
    rows = trend(complaints, [("10-05周", first_week), ("2026-10", ["2026-10"])], now)
    month = compute(complaints, notes, "2026-10", Filters(), now)
    assert rows[1].routed == month["counts"]["routed"] == 5
    assert [c.value for c in rows[1].rates] == list(month["rates"].values())
    # That week routed A, B, C and D (D twice: returned and re-routed, once as a complaint).
    assert rows[0].routed == 4
    week_figures = [compute(complaints, notes, d, Filters(), now)["counts"] for d in first_week]
    assert rows[0].routed == sum(c["routed"] for c in week_figures)


def test_a_firm_sees_the_complaint_with_the_reporter_masked_and_its_buttons() -> None:
    s = october()
    s.received("h", at(19, 9), "property_inaction", "cx-001", Reporter(name="王女士", phone=PHONE))
    s.routed("h", at(19, 9, 0, 1), FIRM, timedelta(days=1), timedelta(days=7))
    state = states([e for _, e in s.events])[s.cid("h")]
    firm_key = ApiKey(name="f", sha256=hash_key("x"), scopes=frozenset({"update:pf-dianzhong"}))
    shown = as_seen_by(Reader(key=firm_key), view(state), DIRECTORY)
    page = complaint_page(shown, NAMES, NOW, TZ, responders={"pf-dianzhong"})
    # About the firm itself: the firm sees neither the name nor the full phone.
    assert page.reporter_name == "（按规定不显示）"
    assert page.reporter_phone == MASKED
    assert PHONE not in str(page)
    assert page.role == LEAD
    assert page.actions == ["acknowledged", "in_progress", "resolved", "returned"]
    assert page.category == "物业不作为"
    assert page.lead is not None
    assert page.lead.kind == "物业企业"
    assert (page.acknowledge.text, page.acknowledge.tone) == ("剩余 1小时", "soon")
    assert [t.label for t in page.timeline] == ["受理", "派单"]
    assert "主办：楚雄市滇中物业有限公司" in page.timeline[1].detail


def test_a_closed_complaint_has_no_buttons_and_its_timeline_tells_every_step() -> None:
    state = states([e for _, e in october().events])[cid("b")]
    page = complaint_page(view(state), NAMES, NOW, TZ, responders={"pf-dianzhong"})
    assert page.actions == []
    assert page.status == "已评价归档"
    assert [t.label for t in page.timeline] == [
        "受理",
        "派单",
        "升级督办",
        "签收",
        "办结",
        "居民评价",
    ]
    assert page.timeline[2].detail.startswith("第1级 · 签收超时")
    assert page.timeline[3].detail == "超时"
    assert page.timeline[5].detail == "基本满意"
    assert page.rating == "基本满意"
    assert (page.acknowledge.text, page.resolve.text) == ("已完成", "已完成")


def test_an_operator_gets_no_buttons() -> None:
    state = states([e for _, e in october().events])[cid("e")]
    page = complaint_page(view(state), NAMES, NOW, TZ, responders=set())
    assert page.role is None
    assert page.actions == []
    assert page.escalation_level == 2
