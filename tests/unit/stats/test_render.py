"""CSV and watch table: the same numbers as the figures they show (the desk that
replaced the dashboard: tests/unit/stats/console/test_desk.py)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from services.stats.figures import Filters, compute
from services.stats.periods import Scope
from services.stats.render import to_csv
from services.stats.watch import render_table
from tests.unit.stats.derived import records
from tests.unit.stats.history import OCTOBER_COUNTS, october
from tests.unit.stats.test_tallies import running_snapshots

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def _inputs() -> tuple:  # type: ignore[type-arg]
    return records([e for _, e in october().events])


def test_csv_rows_parse_back_to_the_json_counts() -> None:
    complaints, notes = _inputs()
    figures = compute(complaints, notes, "2026-10", Filters(), NOW, rejected=1)
    rows = list(csv.DictReader(io.StringIO(to_csv(figures))))
    assert {r["period"] for r in rows} == {"2026-10"}
    counts = {
        r["metric"].removeprefix("counts."): int(r["value"])
        for r in rows
        if r["scope"] == "all" and r["metric"].startswith("counts.")
    }
    assert counts == OCTOBER_COUNTS


def test_watch_ranks_responders_by_response_then_resolution_then_satisfaction() -> None:
    complaints, notes = _inputs()
    snapshots = running_snapshots(complaints, notes, NOW)
    latest = {
        s.key: snapshots[s.key]
        for s in (
            Scope("responder", "2026-10", "cm-xueqiao"),
            Scope("responder", "2026-10", "pf-dianzhong"),
            Scope("responder", "2026-10", "fire"),
            Scope("city", "2026-10"),
            Scope("city", "2026-10-05"),
        )
    }
    table = render_table(latest)
    rows = table.splitlines()
    assert "2026-10" in rows[0]
    assert [r.split()[1] for r in rows[3:6]] == ["fire", "pf-dianzhong", "cm-xueqiao"]
    assert "(city-wide)" in rows[6]
    assert "sanitation" in table.split("volume by category")[1]
