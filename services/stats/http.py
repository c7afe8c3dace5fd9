"""Stats' HTTP API: a complaint's view, the figures (JSON and CSV), one scope's running
figures, the hot spots, and ``/dashboard``, which points to the console's desk. Routes are module-level functions; the store and settings
are put on ``app.state`` by the composition root."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from services.stats.access import FiguresReader, ReaderOf, as_seen_by, may_read
from services.stats.complaint import view
from services.stats.figures import Filters, Hotspots, compute
from services.stats.hotspots import STATUSES, listing, record_of
from services.stats.owner import snapshot_of
from services.stats.periods import Scope, is_period, month_of
from services.stats.render import to_csv
from services.stats.settings import StatsSettings
from services.stats.store import StatsStore

router = APIRouter()


def _store(request: Request) -> StatsStore:
    store: StatsStore = request.app.state.store
    return store


async def figures_of(
    request: Request,
    period: str | None,
    compound: str | None,
    community: str | None,
    responder: str | None,
    category: str | None,
) -> dict[str, Any]:
    """The figures of a period, recounted from the stored facts (exact, at ``now``)."""
    settings: StatsSettings = request.app.state.settings
    now = datetime.now(UTC)
    period = period or month_of(now, settings.tz)
    if not is_period(period):
        raise HTTPException(422, "period must be YYYY-MM or YYYY-MM-DD")
    complaints, notifications, rejected = await _store(request).period_data([period])
    hotspots, alerts = await _store(request).period_hotspots([period])
    figures = compute(
        complaints,
        notifications,
        period,
        Filters(compound, community, responder, category),
        now,
        rejected=rejected[period],
        hotspots=Hotspots(hotspots, alerts),
    )
    figures["generated_at"] = now.isoformat()
    return figures


@router.get("/v1/complaints/{complaint_id}")
async def get_complaint(complaint_id: str, request: Request, caller: ReaderOf) -> dict[str, Any]:
    """One complaint as its reader may see it (see ``services.stats.access``)."""
    found = await _store(request).complaint(complaint_id)
    shown = None if found is None else view(found[0]) | {"notifications": found[1]}
    if shown is None or not may_read(
        caller, complaint_id, shown, request.app.state.settings.tracking_key()
    ):
        # The same answer for "not yours" and "no such complaint": a guess at a
        # complaint id learns nothing.
        raise HTTPException(404, "unknown complaint")
    return as_seen_by(caller, shown, request.app.state.directory)


@router.get("/v1/stats", response_model=None)
async def get_stats(
    request: Request,
    _: FiguresReader,
    period: str | None = None,
    compound: str | None = None,
    community: str | None = None,
    responder: str | None = None,
    category: str | None = None,
    format: Annotated[str | None, Query(pattern="^(json|csv)$")] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    figures = await figures_of(request, period, compound, community, responder, category)
    wants_csv = format == "csv" or (format is None and "text/csv" in (accept or ""))
    if wants_csv:
        name = f"gongzhi-stats-{figures['period']}.csv"
        return Response(
            to_csv(figures),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return JSONResponse(figures)


@router.get("/v1/scopes/{scope}")
async def get_scope(scope: str, request: Request, _: FiguresReader) -> dict[str, Any]:
    """One snapshot scope's running figures (``city:2026-11``,
    ``responder:pf-dianzhong:2026-11`` ...), summed from its tallies: what its next
    snapshot will say, without a recount."""
    try:
        Scope.parse(scope)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    partitions: int = request.app.state.owner.partitions
    tallies = await _store(request).scope_tallies([scope], partitions)
    return snapshot_of(scope, tallies[scope], datetime.now(UTC)).model_dump(mode="json")


async def hotspots_of(
    request: Request, status: str | None, *, detailed: bool, alerting: set[str] | None = None
) -> list[dict[str, Any]]:
    """Hot spots of a status, newest first; only those alerting one of ``alerting``
    when given (a responder's key)."""
    tz = request.app.state.settings.tz
    records = [
        record
        for doc in await _store(request).find_hotspots(status)
        if (record := record_of(str(doc["_id"]), doc.get("facts") or {}, tz)) is not None
        and (alerting is None or alerting & set(record.alerted))
    ]
    records.sort(key=lambda r: (r.opened_at, r.hotspot_id), reverse=True)
    return [listing(r, detailed=detailed) for r in records]


@router.get("/v1/hotspots")
async def get_hotspots(
    request: Request,
    caller: ReaderOf,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
) -> dict[str, Any]:
    """Hot spots (``status=open`` for those still open), with their complaints and
    places: every one for an operator's key, those that alerted it for a responder's."""
    if caller.key is None:
        raise HTTPException(403, "hot spots need an API key")
    alerting = None if caller.operator else caller.responders
    found = await hotspots_of(request, status, detailed=True, alerting=alerting)
    return {"status": status, "statuses": list(STATUSES), "hotspots": found}


@router.get("/v1/hotspots/{hotspot_id}")
async def get_hotspot(hotspot_id: str, request: Request, caller: ReaderOf) -> dict[str, Any]:
    doc = await _store(request).hotspot(hotspot_id)
    record = None if doc is None else record_of(hotspot_id, doc.get("facts") or {},
                                                request.app.state.settings.tz)  # fmt: skip
    allowed = caller.key is not None and (
        caller.operator or (record is not None and caller.responders & set(record.alerted))
    )
    if record is None or not allowed:
        raise HTTPException(404, "unknown hot spot")
    return listing(record, detailed=True)


@router.get("/dashboard", include_in_schema=False)
async def get_dashboard(request: Request) -> RedirectResponse:
    """The operator's desk in the console replaced the old dashboard: one desk, not two."""
    query = request.url.query
    return RedirectResponse("/console/desk" + (f"?{query}" if query else ""), status_code=307)
