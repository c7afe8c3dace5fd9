"""The figures as CSV, and how a rate and a duration are written (the console's desk,
in ``services.stats.console``, shows the figures in the browser)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from services.stats.figures import flatten


def to_csv(figures: Mapping[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["period", "scope", "metric", "value"])
    for scope, metric, value in flatten(figures):
        writer.writerow([figures["period"], scope, metric, value])
    return out.getvalue()


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    hours, rest = divmod(round(value), 3600)
    return f"{hours}h{rest // 60:02d}m"
