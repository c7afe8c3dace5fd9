"""The compound x category heat map of the desk."""

from __future__ import annotations

import pytest

from services.stats.complaint import ComplaintRecord
from services.stats.console.heatmap import heat_level, heat_map


@pytest.mark.parametrize(
    ("count", "peak", "level"),
    [
        (0, 10, 0),
        (1, 10, 1),
        (2, 10, 1),
        (3, 10, 2),
        (5, 10, 3),
        (9, 10, 5),
        (10, 10, 5),
        (1, 1, 5),
    ],
)
def test_any_complaint_shows_and_only_the_busiest_cells_are_darkest(
    count: int, peak: int, level: int
) -> None:
    assert heat_level(count, peak) == level


def _record(cid: str, compound: str, category: str, day: str) -> ComplaintRecord:
    return ComplaintRecord(
        cid,
        compound_id=compound,
        category=category,
        received_day=day,
        received_month=day[:7],
    )


NAMES = {"parking_disorder": "车辆乱停乱放", "sanitation": "环境脏乱差", "other": "其他"}


def test_rows_are_compounds_busiest_first_and_columns_follow_the_policy() -> None:
    records = [
        _record("1", "cx-001", "sanitation", "2026-11-02"),
        _record("2", "cx-001", "sanitation", "2026-11-03"),
        _record("3", "cx-001", "parking_disorder", "2026-11-03"),
        _record("4", "cx-002", "sanitation", "2026-11-04"),
        _record("5", "cx-002", "sanitation", "2026-11-05"),
        _record("6", "cx-002", "sanitation", "2026-11-06"),
        _record("7", "cx-002", "parking_disorder", "2026-11-06"),
        _record("8", "cx-009", "parking_disorder", "2026-10-30"),  # another month
    ]
    heat = heat_map(records, "2026-11", NAMES, lambda c: f"name of {c}")
    assert heat.columns == (("parking_disorder", "车辆乱停乱放"), ("sanitation", "环境脏乱差"))
    assert [(r.compound_id, r.compound, r.total) for r in heat.rows] == [
        ("cx-002", "name of cx-002", 4),
        ("cx-001", "name of cx-001", 3),
    ]
    assert heat.peak == 3
    assert heat.rows[0].cells == ((1, 2), (3, 5))
    assert heat.rows[1].cells == ((1, 2), (2, 4))


def test_a_day_and_a_category_narrow_it() -> None:
    records = [
        _record("1", "cx-001", "sanitation", "2026-11-03"),
        _record("2", "cx-001", "parking_disorder", "2026-11-03"),
        _record("3", "cx-002", "sanitation", "2026-11-04"),
    ]
    heat = heat_map(records, "2026-11-03", NAMES, str, category="sanitation")
    assert heat.columns == (("sanitation", "环境脏乱差"),)
    assert [(r.compound_id, r.cells) for r in heat.rows] == [("cx-001", ((1, 5),))]
    assert heat_map([], "2026-11", NAMES, str).empty
