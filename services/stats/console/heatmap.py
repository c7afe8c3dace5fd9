"""Volume by compound and category as a table heat map (pure): counts of the
complaints received in a period, each cell given one of a few shades."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from services.stats.complaint import ComplaintRecord
from services.stats.tallies import UNKNOWN, in_period

LEVELS = 5


def heat_level(count: int, peak: int, levels: int = LEVELS) -> int:
    """0 for an empty cell; else 1..levels in proportion to the busiest cell, so any
    complaint at all is visible and only the busiest cells get the darkest shade."""
    if count <= 0 or peak <= 0:
        return 0
    return min(levels, max(1, math.ceil(levels * count / peak)))


@dataclass(frozen=True)
class HeatRow:
    compound_id: str
    compound: str
    cells: tuple[tuple[int, int], ...]
    """(count, level) per column."""
    total: int


@dataclass(frozen=True)
class HeatMap:
    columns: tuple[tuple[str, str], ...]
    """(category code, name), policy order, only categories with complaints."""
    rows: tuple[HeatRow, ...]
    peak: int

    @property
    def empty(self) -> bool:
        return not self.rows


def heat_map(
    records: Iterable[ComplaintRecord],
    period: str,
    category_names: dict[str, str],
    compound_name: Callable[[str], str],
    category: str | None = None,
) -> HeatMap:
    """Rows are compounds, busiest first; ``compound_name`` maps an id to its name."""
    counts: Counter[tuple[str, str]] = Counter()
    for c in records:
        if not in_period(period, c.received_day, c.received_month):
            continue
        if category is not None and c.category != category:
            continue
        counts[(c.compound_id or UNKNOWN, c.category or UNKNOWN)] += 1
    used = {code for _, code in counts}
    order = [code for code in category_names if code in used]
    order += sorted(used - set(order))
    peak = max(counts.values(), default=0)
    totals: Counter[str] = Counter()
    for (compound, _), n in counts.items():
        totals[compound] += n
    rows = tuple(
        HeatRow(
            compound_id=compound,
            compound=compound_name(compound),
            cells=tuple(
                (counts[(compound, code)], heat_level(counts[(compound, code)], peak))
                for code in order
            ),
            total=total,
        )
        for compound, total in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    columns: Sequence[tuple[str, str]] = [(code, category_names.get(code, code)) for code in order]
    return HeatMap(tuple(columns), rows, peak)
