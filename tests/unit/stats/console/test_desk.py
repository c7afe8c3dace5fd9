"""The operator's desk, which replaced the dashboard: the same figures as the API, as
one page that fits a phone and updates itself without reloading."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.stats import console
from services.stats.console.desk import DeskData, DeskQuery, desk_view
from services.stats.console.names import Names, load_category_names
from services.stats.console.wording import RATE_LABELS
from services.stats.figures import Filters, Hotspots, compute
from services.stats.render import percent
from shared.directory import default_directory_path, load_directory
from tests.unit.stats.derived import TZ, records, states
from tests.unit.stats.history import october

NOW = datetime(2026, 11, 28, tzinfo=UTC)
NAMES = Names(load_directory(default_directory_path()), load_category_names(None))
TEMPLATES = console.make_templates()


def desk(q: DeskQuery, **overrides: Any) -> tuple[dict[str, Any], str]:
    events = [e for _, e in october().events]
    complaints, notes = records(events)
    data = DeskData(
        complaints=complaints,
        notifications=notes,
        rejected=1,
        hotspots=Hotspots(),
        history=complaints,
        states=list(states(events).values()),
        open_hotspots=[],
    )
    context = desk_view(data, q, NAMES, NOW, TZ) | overrides
    template = TEMPLATES.env.get_template("_desk_body.html.j2")
    return context, template.render(names=NAMES, rate_labels=RATE_LABELS, **context)


OCTOBER = DeskQuery(period="2026-10", chosen_period="2026-10", category=None, group="responder")


def cells(page: str, section: str) -> str:
    return page.split(f'id="{section}"', 1)[1].split("</section>", 1)[0]


def test_the_desk_shows_the_figures_of_the_api_for_every_responder() -> None:
    complaints, notes = records([e for _, e in october().events])
    figures = compute(complaints, notes, "2026-10", Filters(), NOW, rejected=1)
    _, page = desk(OCTOBER)
    city = cells(page, "city-rates")
    for rate in figures["rates"].values():
        assert percent(rate) in city
    ranking = cells(page, "ranking")
    for responder, data in figures["responders"].items():
        row = ranking.split(f'data-responder="{responder}"', 1)[1].split("</tr>", 1)[0]
        assert NAMES.responder(responder) in row
        for name, rate in data["rates"].items():
            assert re.search(rf'data-rate="{name}">.*?{re.escape(percent(rate))}', row)
    assert f"{figures['counts']['received']} / {figures['counts']['routed']}" in city


def test_the_supervision_list_and_heat_map_name_what_is_late_and_where() -> None:
    s = october()
    _, page = desk(OCTOBER)
    late = cells(page, "supervision")
    assert f'data-complaint="{s.cid("e")}"' in late
    assert f'data-complaint="{s.cid("d")}"' in late
    assert f'data-complaint="{s.cid("a")}"' not in late  # closed long ago
    assert "签收超时，已升级 2 级" in late
    heat = cells(page, "heatmap")
    assert '<tr data-compound="cx-001"><th>学桥花园</th>' in heat
    assert "环境脏乱差" in heat  # the policy's name, simplified


def test_a_category_narrows_every_part_of_the_desk() -> None:
    q = DeskQuery("2026-10", "2026-10", "neighbour_dispute", "compound")
    context, page = desk(q)
    assert [i.complaint_id for i in context["late"]] == [october().cid("e")]
    assert [g.key for g in context["groups"]] == ["cx-002"]
    assert context["city"]["counts"]["received"] == 1
    assert [c for c, _ in context["heat"].columns] == ["neighbour_dispute"]
    assert "邻里纠纷" in page


def test_the_desk_escapes_what_it_shows_and_carries_no_script_of_its_own() -> None:
    context, _ = desk(OCTOBER)
    bad = "<script>alert(1)</script>"
    row = context["ranking"][0]
    context["ranking"][0] = type(row)(
        row.rank, row.responder_id, bad, row.routed, row.overdue, row.rates
    )
    page = TEMPLATES.env.get_template("_desk_body.html.j2").render(
        names=NAMES, rate_labels=RATE_LABELS, **context
    )
    assert bad not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page
    assert 'http-equiv="refresh"' not in page


def test_the_desk_page_listens_for_changes_instead_of_reloading() -> None:
    source = (Path(console.__file__).parent / "templates" / "desk.html.j2").read_text()
    assert 'sse-connect="/console/events"' in source
    assert 'hx-trigger="sse:changed"' in source
    assert "refresh" not in source
