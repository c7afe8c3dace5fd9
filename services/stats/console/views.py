"""What the console's pages show, computed from stats' own records (pure): the
responder's queue, one complaint's page, the supervision list (督办), the ranking and
the trend of the three rates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from services.stats.complaint import ComplaintState
from services.stats.console.duetime import Due, due, local_time
from services.stats.console.names import Names
from services.stats.console.wording import (
    BREACH,
    CHANNELS,
    KINDS,
    RATINGS,
    STATUS,
    TIMELINE,
)
from services.stats.render import percent
from services.stats.tallies import RATE_NAMES, Tally, in_period, record_tally, total

OPEN_STATUSES = ("routed", "acknowledged", "in_progress")
"""A responder still has work to do: not resolved, closed or linked as a duplicate."""
LEAD, SUPPORT = "主办", "协办"


def role_of(state: ComplaintState, responders: set[str]) -> str | None:
    """The viewer's part in the complaint now (a past lead has none: it was returned)."""
    if state.record.lead_id in responders:
        return LEAD
    if responders & {s["responder_id"] for s in state.support}:
        return SUPPORT
    return None


def pending_due(state: ComplaintState) -> tuple[str, datetime | None]:
    """The due time that matters now: acknowledging until the lead did, then resolving."""
    rec = state.record
    if rec.status == "routed":
        return "签收时限", rec.acknowledge_by
    return "办结时限", rec.resolve_by


@dataclass(frozen=True)
class QueueItem:
    complaint_id: str
    category: str
    compound: str
    place: str
    status: str
    role: str
    due_label: str
    due: Due
    escalation_level: int


def queue(
    states: Iterable[ComplaintState],
    responders: set[str],
    names: Names,
    now: datetime,
    tz: tzinfo,
) -> list[QueueItem]:
    """The open complaints assigned to ``responders`` (lead or support), soonest due
    first; one without a due time last."""
    items: list[tuple[datetime, str, QueueItem]] = []
    for state in states:
        rec = state.record
        role = role_of(state, responders)
        if role is None or rec.status not in OPEN_STATUSES:
            continue
        label, at = pending_due(state)
        items.append(
            (
                at or datetime.max.replace(tzinfo=now.tzinfo),
                rec.complaint_id,
                QueueItem(
                    complaint_id=rec.complaint_id,
                    category=names.category(rec.category),
                    compound=names.compound(rec.compound_id),
                    place=state.location or "",
                    status=STATUS.get(rec.status or "", rec.status or ""),
                    role=role,
                    due_label=label,
                    due=due(at, now, tz),
                    escalation_level=rec.escalation_level,
                ),
            )
        )
    items.sort(key=lambda item: (item[0], item[1]))
    return [item for _, _, item in items]


# --- one complaint ------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    responder_id: str
    name: str
    kind: str


@dataclass(frozen=True)
class TimelineRow:
    at: str
    label: str
    actor: str
    detail: str


@dataclass(frozen=True)
class HotspotRow:
    hotspot_id: str
    category: str
    where: str
    count: int
    opened_at: str
    kind: str
    alerted: str


@dataclass
class ComplaintPage:
    complaint_id: str
    status_code: str
    status: str
    category: str
    compound: str
    community: str
    place: str
    description: str
    channel: str
    reporter_name: str
    reporter_phone: str
    lead: Party | None
    supports: list[Party]
    acknowledge: Due
    resolve: Due
    escalation_level: int
    bounces: int
    rating: str
    duplicate_of: str | None
    possible_duplicate_of: str | None
    timeline: list[TimelineRow]
    hotspots: list[HotspotRow] = field(default_factory=list)
    role: str | None = None
    actions: list[str] = field(default_factory=list)
    """The buttons this viewer gets (the API still decides: a refusal is shown)."""


def _at(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _party(entry: Mapping[str, Any] | None, names: Names) -> Party | None:
    if not entry:
        return None
    kind = str(entry.get("kind") or "")
    return Party(
        entry["responder_id"], names.responder(entry["responder_id"]), KINDS.get(kind, kind)
    )


def _detail(entry: Mapping[str, Any], names: Names, tz: tzinfo) -> str:
    kind = entry["type"]
    parts: list[str] = []
    if kind in ("routed", "rerouted"):
        parts.append(f"主办：{names.responder(entry.get('lead'))}")
        if entry.get("support"):
            parts.append("协办：" + "、".join(names.responder(s) for s in entry["support"]))
        if entry.get("acknowledge_by"):
            parts.append(f"签收时限 {local_time(_at(entry['acknowledge_by']), tz)}")
        if entry.get("resolve_by"):
            parts.append(f"办结时限 {local_time(_at(entry['resolve_by']), tz)}")
    elif kind == "escalated":
        parts.append(f"第{entry.get('level')}级 · {BREACH.get(entry.get('breach') or '', '')}")
        if entry.get("escalated_to"):
            parts.append("督办：" + "、".join(names.responder(r) for r in entry["escalated_to"]))
    elif kind == "rated":
        parts.append(RATINGS.get(entry.get("rating") or "", entry.get("rating") or ""))
    elif kind == "hotspot":
        if entry.get("acknowledge_by"):
            parts.append(f"签收时限提前至 {local_time(_at(entry['acknowledge_by']), tz)}")
    elif kind == "duplicate_linked" and entry.get("duplicate_of"):
        parts.append(f"原件 {entry['duplicate_of']}")
    elif kind == "received" and entry.get("channel"):
        parts.append(CHANNELS.get(entry["channel"], entry["channel"]))
    if entry.get("on_time") is False:
        parts.append("超时")
    if entry.get("note"):
        parts.append(f"“{entry['note']}”")
    return "；".join(parts)


def _actor(entry: Mapping[str, Any], names: Names) -> str:
    actor = entry.get("actor_id")
    if actor == "routing":
        return "系统"
    if actor == "resident":
        return "居民"
    if entry["type"] == "received":
        return "受理渠道"
    return names.responder(actor) if actor else "—"


def complaint_page(
    shown: Mapping[str, Any],
    names: Names,
    now: datetime,
    tz: tzinfo,
    *,
    responders: set[str],
    hotspots: Sequence[Mapping[str, Any]] = (),
) -> ComplaintPage:
    """``shown`` is the complaint as ``GET /v1/complaints/{id}`` shows it to this viewer
    (reporter already masked per policy); ``hotspots`` the open ones it belongs to."""
    status = str(shown.get("status") or "")
    reporter = shown.get("reporter") or {}
    lead = _party(shown.get("lead"), names)
    supports = [p for s in shown.get("support") or [] if (p := _party(s, names))]
    role = (
        LEAD
        if lead and lead.responder_id in responders
        else SUPPORT
        if responders & {p.responder_id for p in supports}
        else None
    )
    actions: list[str] = []
    if status in OPEN_STATUSES and role is not None:
        actions = ["acknowledged", "in_progress", "resolved", "returned"]
    due_times = shown.get("due") or {}
    entries = list(shown.get("timeline") or [])
    acknowledged = status not in ("routed", "received")
    resolved = status in ("resolved", "closed")
    return ComplaintPage(
        complaint_id=str(shown["complaint_id"]),
        status_code=status,
        status=STATUS.get(status, status),
        category=names.category(shown.get("category")),
        compound=names.compound(shown.get("compound_id")),
        community=names.community(shown.get("community_id")),
        place=str(shown.get("location") or ""),
        description=str(shown.get("description") or ""),
        channel=CHANNELS.get(str(shown.get("channel") or ""), str(shown.get("channel") or "")),
        reporter_name=(reporter.get("name") or "（按规定不显示）") if reporter else "（无）",
        reporter_phone=(reporter.get("phone") or "—") if reporter else "—",
        lead=lead,
        supports=supports,
        acknowledge=due(_at(due_times.get("acknowledge_by")), now, tz, met=acknowledged),
        resolve=due(_at(due_times.get("resolve_by")), now, tz, met=resolved),
        escalation_level=int(shown.get("escalation_level") or 0),
        bounces=int(shown.get("bounces") or 0),
        rating=RATINGS.get(str(shown.get("rating") or ""), ""),
        duplicate_of=shown.get("duplicate_of"),
        possible_duplicate_of=shown.get("possible_duplicate_of"),
        timeline=[
            TimelineRow(
                at=local_time(_at(e["at"]), tz),
                label=TIMELINE.get(e["type"], e["type"]),
                actor=_actor(e, names),
                detail=_detail(e, names, tz),
            )
            for e in entries
        ],
        hotspots=[hotspot_row(h, names, tz) for h in hotspots],
        role=role,
        actions=actions,
    )


def hotspot_row(h: Mapping[str, Any], names: Names, tz: tzinfo) -> HotspotRow:
    scope = h.get("scope") or {}
    where = (
        names.compound(scope.get("id"))
        if scope.get("kind") == "compound"
        else names.community(scope.get("id"))
    )
    return HotspotRow(
        hotspot_id=str(h["hotspot_id"]),
        category=names.category(h.get("category")),
        where=where,
        count=int(h.get("count") or 0),
        opened_at=local_time(_at(h.get("opened_at")), tz),
        kind="反复发生" if h.get("kind") == "recurring" else "集中发生",
        alerted="、".join(names.responder(r) for r in h.get("alerted") or []),
    )


# --- the supervision list (督办) -------------------------------------------------------


@dataclass(frozen=True)
class SupervisionItem:
    complaint_id: str
    category_code: str | None
    category: str
    compound_id: str
    compound: str
    community_id: str
    community: str
    lead_id: str
    lead: str
    status: str
    late: str
    """签收超时 / 办结超时, or empty when it is on the list for its escalation only."""
    due: Due
    escalation_level: int


GROUPINGS = {"responder": "按承办单位", "compound": "按小区", "community": "按社区"}


def supervision(
    states: Iterable[ComplaintState],
    names: Names,
    now: datetime,
    tz: tzinfo,
    *,
    category: str | None = None,
    period: str | None = None,
) -> list[SupervisionItem]:
    """Open complaints that are late now or were escalated, most overdue first; a
    complaint leaves the list once it is resolved. ``period`` keeps those received in it."""
    found: list[SupervisionItem] = []
    for state in states:
        rec = state.record
        if rec.status not in OPEN_STATUSES:
            continue
        if category and rec.category != category:
            continue
        if period and not in_period(period, rec.received_day, rec.received_month):
            continue
        _, at = pending_due(state)
        late_now = at is not None and now > at
        if not late_now and rec.escalation_level == 0:
            continue
        late = BREACH["acknowledge" if rec.status == "routed" else "resolve"] if late_now else ""
        found.append(
            SupervisionItem(
                complaint_id=rec.complaint_id,
                category_code=rec.category,
                category=names.category(rec.category),
                compound_id=rec.compound_id or "",
                compound=names.compound(rec.compound_id),
                community_id=rec.community_id or "",
                community=names.community(rec.community_id),
                lead_id=rec.lead_id or "",
                lead=names.responder(rec.lead_id),
                status=STATUS.get(rec.status or "", rec.status or ""),
                late=late,
                due=due(at, now, tz),
                escalation_level=rec.escalation_level,
            )
        )
    found.sort(key=lambda i: (i.due.at or now, -i.escalation_level, i.complaint_id))
    return found


@dataclass(frozen=True)
class Group:
    key: str
    name: str
    items: tuple[SupervisionItem, ...]


def grouped(items: Sequence[SupervisionItem], by: str) -> list[Group]:
    """Groups by responder (the lead), compound or community; the largest first."""
    groups: dict[str, tuple[str, list[SupervisionItem]]] = {}
    for item in items:
        if by == "compound":
            key, name = item.compound_id, item.compound
        elif by == "community":
            key, name = item.community_id, item.community
        else:
            key, name = item.lead_id, item.lead
        groups.setdefault(key, (name, []))[1].append(item)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1][1]), kv[0]))
    return [Group(key, name, tuple(members)) for key, (name, members) in ordered]


# --- the three rates: ranking and trend ------------------------------------------------


@dataclass(frozen=True)
class RateCell:
    value: float | None
    text: str

    @property
    def width(self) -> int:
        return 0 if self.value is None else round(self.value * 100)


def rate_cells(rates: Mapping[str, float | None]) -> tuple[RateCell, ...]:
    return tuple(RateCell(rates.get(n), percent(rates.get(n))) for n in RATE_NAMES)


@dataclass(frozen=True)
class RankRow:
    rank: int
    responder_id: str
    name: str
    routed: int
    overdue: int
    rates: tuple[RateCell, ...]


def ranking(responders: Mapping[str, Mapping[str, Any]], names: Names) -> list[RankRow]:
    """Responders that had complaints routed in the period, by response rate, then
    resolution, then satisfaction (no rate yet sorts last), as ``gongzhi-watch`` does."""

    def key(item: tuple[str, Mapping[str, Any]]) -> tuple[Any, ...]:
        rates = item[1]["rates"]
        return (
            *(-(rates.get(n) if rates.get(n) is not None else -1.0) for n in RATE_NAMES),
            item[0],
        )

    active = [(r, data) for r, data in responders.items() if data["counts"].get("routed")]
    return [
        RankRow(
            rank=i,
            responder_id=r,
            name=names.responder(r),
            routed=int(data["counts"]["routed"]),
            overdue=int(data["counts"].get("acknowledge_overdue", 0))
            + int(data["counts"].get("resolve_overdue", 0)),
            rates=rate_cells(data["rates"]),
        )
        for i, (r, data) in enumerate(sorted(active, key=key), start=1)
    ]


@dataclass(frozen=True)
class TrendRow:
    label: str
    routed: int
    rates: tuple[RateCell, ...]


def week_starts(now: datetime, tz: tzinfo, weeks: int) -> list[datetime]:
    """Mondays (local midnight) of the last ``weeks`` weeks, oldest first, this week last."""
    today = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def week_days(start: datetime) -> list[str]:
    return [(start + timedelta(days=d)).strftime("%Y-%m-%d") for d in range(7)]


def months_back(now: datetime, tz: tzinfo, months: int) -> list[str]:
    """The last ``months`` calendar months, oldest first, this month last."""
    local = now.astimezone(tz)
    year, month = local.year, local.month
    found = []
    for _ in range(months):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return found[::-1]


def trend(
    records: Sequence[Any],
    buckets: Sequence[tuple[str, Sequence[str]]],
    now: datetime,
) -> list[TrendRow]:
    """The three rates of each bucket ``(label, periods)``: a week is its seven days, a
    month itself. A complaint is routed on one day, so summing the days' tallies counts
    it once, the same arithmetic as the figures."""
    rows = []
    for label, periods in buckets:
        tally: Tally = total(
            record_tally(c, p, now)
            for p in periods
            for c in records
            if in_period(p, c.received_day, c.received_month)
            or in_period(p, c.routed_day, c.routed_month)
        )
        figures = tally.figures()
        rows.append(TrendRow(label, figures["counts"]["routed"], rate_cells(figures["rates"])))
    return rows
