"""The figures as CSV and as the server-rendered dashboard (inline SVG, no scripts)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from services.stats.figures import RATE_NAMES, flatten

PALETTE = (
    "#d1495b",
    "#edae49",
    "#00798c",
    "#30638e",
    "#003d5b",
    "#8d6a9f",
    "#66a182",
    "#e07a5f",
    "#3d405b",
    "#81b29a",
    "#f2cc8f",
    "#9e2a2b",
)
RATE_LABELS = {
    "response_rate": "response rate 響應率",
    "resolution_rate": "resolution rate 解決率",
    "satisfaction_rate": "satisfaction rate 滿意率",
}
TABLE_COUNTS = (
    "received",
    "routed",
    "acknowledged_on_time",
    "acknowledge_due",
    "acknowledge_overdue",
    "resolved",
    "resolve_overdue",
    "rated",
    "bounces",
    "escalations",
    "notifications_sent",
    "notifications_failed",
)


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


def _volume_chart(figures: Mapping[str, Any]) -> str:
    daily: Mapping[str, Any] = figures.get("daily") or {
        figures["period"]: {
            "received": figures["counts"]["received"],
            "by_category": figures["by_category"],
        }
    }
    categories = sorted({c for d in daily.values() for c in d["by_category"]})
    colour = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(categories)}
    peak = max([d["received"] for d in daily.values()] + [1])
    width, height, left = 760, 220, 34
    bar = (width - left) / max(len(daily), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height + 70}"'
        f' aria-label="daily volume by category">',
        f'<text x="4" y="14" font-size="11">{peak}</text>',
        f'<line x1="{left}" y1="{height}" x2="{width}" y2="{height}" stroke="#999"/>',
    ]
    for i, (day, data) in enumerate(daily.items()):
        x = left + i * bar
        y = float(height)
        for category in categories:
            count = data["by_category"].get(category, 0)
            if not count:
                continue
            h = (height - 20) * count / peak
            y -= h
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bar - 2, 1):.1f}" height="{h:.1f}"'
                f' fill="{colour[category]}"><title>{escape(day)} {escape(category)}: {count}</title></rect>'
            )
        if len(daily) <= 31 and (i % 5 == 0 or len(daily) == 1):
            parts.append(
                f'<text x="{x:.1f}" y="{height + 14}" font-size="10">{escape(day[-5:])}</text>'
            )
    for i, category in enumerate(categories):
        x = left + (i % 4) * 180
        y = height + 32 + (i // 4) * 16
        parts.append(
            f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour[category]}"/>'
        )
        parts.append(f'<text x="{x + 14}" y="{y}" font-size="11">{escape(category)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _rates_chart(responders: Mapping[str, Any]) -> str:
    row, label_width, scale = 22, 170, 500
    height = max(len(responders), 1) * (row * 3 + 10) + 34
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{label_width + scale + 70}"'
        f' height="{height}" aria-label="the three rates per responder">'
    ]
    for i, name in enumerate(RATE_NAMES):
        x = label_width + i * 190
        parts.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{PALETTE[i + 2]}"/>')
        parts.append(f'<text x="{x + 14}" y="13" font-size="11">{escape(RATE_LABELS[name])}</text>')
    y = 34
    for responder, data in responders.items():
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{escape(responder)}</text>')
        for i, name in enumerate(RATE_NAMES):
            rate = data["rates"][name]
            w = 0 if rate is None else scale * rate
            parts.append(
                f'<rect x="{label_width}" y="{y}" width="{w:.1f}" height="{row - 4}"'
                f' fill="{PALETTE[i + 2]}"><title>{escape(RATE_LABELS[name])}</title></rect>'
            )
            parts.append(
                f'<text x="{label_width + w + 4:.1f}" y="{y + 13}" font-size="11">{percent(rate)}</text>'
            )
            y += row
        y += 10
    parts.append("</svg>")
    return "".join(parts)


def _table(title: str, rows: Mapping[str, Any]) -> str:
    head = "".join(f"<th>{escape(n)}</th>" for n in TABLE_COUNTS)
    head += "".join(f"<th>{escape(RATE_LABELS[n])}</th>" for n in RATE_NAMES)
    head += "<th>median to acknowledge</th><th>median to resolve</th>"
    body = []
    for subject, data in rows.items():
        cells = "".join(f"<td>{data['counts'][n]}</td>" for n in TABLE_COUNTS)
        cells += "".join(f"<td>{percent(data['rates'][n])}</td>" for n in RATE_NAMES)
        cells += f"<td>{seconds(data['medians_seconds']['time_to_acknowledge'])}</td>"
        cells += f"<td>{seconds(data['medians_seconds']['time_to_resolve'])}</td>"
        body.append(f"<tr><th>{escape(subject)}</th>{cells}</tr>")
    return (
        f"<h2>{escape(title)}</h2><table><thead><tr><th></th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _hotspots(hotspots: Sequence[Mapping[str, Any]]) -> str:
    if not hotspots:
        return "<p>No open hot spot.</p>"
    rows = "".join(
        "<tr>"
        f"<th>{escape(h['category_name'] or h['category'])}</th>"
        f"<td>{escape(h['scope']['kind'])} {escape(h['scope']['id'])}</td>"
        f"<td>{escape(h['kind'])}</td><td>{h['count']}</td>"
        f"<td>{escape(h['opened_at'])}</td>"
        f"<td>{escape(', '.join(h['alerted']))}</td>"
        "</tr>"
        for h in hotspots
    )
    return (
        '<table class="hotspots"><thead><tr><th>category</th><th>where</th><th>kind</th>'
        "<th>complaints</th><th>opened</th><th>alerted</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def dashboard(figures: Mapping[str, Any], hotspots: Sequence[Mapping[str, Any]] = ()) -> str:
    period = escape(figures["period"])
    city = {"city-wide": figures}
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="30">
<title>Gongzhi 共治 — {period}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:1.5em;color:#222}}
table{{border-collapse:collapse;margin-bottom:1.5em;font-size:13px}}
th,td{{border:1px solid #ccc;padding:3px 6px;text-align:right}}
thead th{{background:#f3f3f3}} tbody th{{text-align:left}}
</style></head><body>
<h1>Gongzhi 共治 — property complaints, {period}</h1>
<form method="get"><label>period <input name="period" value="{period}"></label>
<button>show</button></form>
{_table("City-wide", city)}
<h2>Open hot spots (未訴先辦)</h2>
{_hotspots(hotspots)}
<h2>Daily volume by category</h2>
{_volume_chart(figures)}
<h2>The three rates per responder</h2>
{_rates_chart(figures.get("responders", {}))}
{_table("Responders", figures.get("responders", {}))}
{_table("Communities", figures.get("communities", {}))}
</body></html>
"""
