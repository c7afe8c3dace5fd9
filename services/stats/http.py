"""Stats' HTTP API: a complaint's view, the figures (JSON and CSV), one scope's running
figures, the hot spots, and ``/dashboard``, which points to the console's desk. Routes are module-level functions; the store and settings
are put on ``app.state`` by the composition root."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from services.stats.access import FiguresReader, ReaderOf, as_seen_by, may_read
from services.stats.complaint import view
from services.stats.figures import Filters, Hotspots, compute
from services.stats.hotspots import STATUSES, listing, record_of
from services.stats.owner import snapshot_of
from services.stats.periods import PERIOD_PATTERN, SCOPE_PATTERN, Scope, is_period, month_of
from services.stats.render import to_csv
from services.stats.responses import ComplaintView, Figures, HotspotList, HotspotView
from services.stats.settings import StatsSettings
from services.stats.store import StatsStore
from shared.auth import tracking_token_opens
from shared.events import StatsSnapshot
from shared.http_auth import UNAUTHENTICATED
from shared.http_errors import ApiError, documented

router = APIRouter()

Period = Annotated[
    str | None,
    Query(
        pattern=PERIOD_PATTERN,
        description="A month (`2026-11`) or a day (`2026-11-28`) of the city's calendar; "
        "default: this month.",
    ),
]


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
        raise ApiError(
            422, "invalid", "period must be YYYY-MM or YYYY-MM-DD", field="period", location="query"
        )
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


FIGURES_ACCESS = (
    "Needs a key with the `read` scope, unless the deployment made the figures public "
    "(`GONGZHI_PUBLIC_FIGURES`; then no key is needed, but a key sent must be known)."
)
FIGURES_PATHS = ("/v1/stats", "/v1/scopes/{scope}")
"""Public when the deployment makes the figures public."""
FIGURES_REFUSALS = documented(
    401, 422, s403="A responder's key: the figures need the `read` scope (`forbidden`)."
)


@router.get(
    "/v1/complaints/{complaint_id}",
    tags=["complaints"],
    summary="One complaint, as its reader may see it",
    response_model=None,
    responses={
        200: {"model": ComplaintView, "description": "The complaint."},
        **documented(
            s401="No credentials, an unknown key, or a tracking token that does not open "
            "this complaint (`unknown_token`, whether or not it exists).",
            s404="No such complaint, or not one this caller may read: the same answer "
            "for both (`not_found`).",
        ),
    },
)
async def get_complaint(complaint_id: str, request: Request, caller: ReaderOf) -> dict[str, Any]:
    """An operator's key (`read`) reads every complaint; a responder's key
    (`update:<id>`) the complaints assigned to it (lead, support, or lead before a
    return); a resident's tracking token the one complaint it was given with. The
    reporter's phone is always masked; the name is left out where the privacy policy
    says so."""
    secret = request.app.state.settings.tracking_key()
    if caller.key is None and not tracking_token_opens(secret, complaint_id, caller.token or ""):
        # A token opens one complaint id: it is refused for any other id whether or not
        # that complaint exists, so the refusal tells nothing about other complaints.
        raise ApiError(
            401,
            "unknown_token",
            "this tracking token does not open this complaint",
            field="X-Tracking-Token",
            location="header",
            headers=UNAUTHENTICATED,
        )
    found = await _store(request).complaint(complaint_id)
    shown = None if found is None else view(found[0]) | {"notifications": found[1]}
    if shown is None or not may_read(caller, complaint_id, shown, secret):
        # The same answer for "not yours" and "no such complaint": a guess at a
        # complaint id learns nothing.
        raise ApiError(404, "not_found", "unknown complaint", field="complaint_id", location="path")
    return as_seen_by(caller, shown, request.app.state.directory)


@router.get(
    "/v1/stats",
    tags=["figures"],
    summary="A period's figures, as JSON or CSV",
    description="The figures of a period (default: this month), recounted from the stored "
    "facts. CSV with `format=csv` or `Accept: text/csv` (one `period,scope,metric,value` "
    "row per figure), else JSON. " + FIGURES_ACCESS,
    response_model=None,
    responses={
        200: {
            "model": Figures,
            "description": "The figures.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **FIGURES_REFUSALS,
    },
)
async def get_stats(
    request: Request,
    _: FiguresReader,
    period: Period = None,
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


@router.get(
    "/v1/scopes/{scope}",
    tags=["figures"],
    summary="One snapshot scope's running figures",
    response_model=None,
    responses={
        200: {"model": StatsSnapshot, "description": "The scope's figures."},
        **FIGURES_REFUSALS,
    },
)
async def get_scope(
    scope: Annotated[str, Path(pattern=SCOPE_PATTERN)], request: Request, _: FiguresReader
) -> dict[str, Any]:
    """One snapshot scope's running figures (``city:2026-11``,
    ``responder:pf-dianzhong:2026-11`` ...), summed from its tallies: what its next
    snapshot will say, without a recount. The scope is `<kind>[:<id>]:<period>`, kind
    `city`, `responder` or `community`."""
    try:
        Scope.parse(scope)
    except ValueError as exc:
        raise ApiError(422, "invalid", str(exc), field="scope", location="path") from exc
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


@router.get(
    "/v1/hotspots",
    tags=["hot spots"],
    summary="Hot spots, newest first",
    response_model=None,
    responses={
        200: {"model": HotspotList, "description": "The hot spots this key may see."},
        **documented(
            401, 422, s403="A tracking token opens no hot spot: they need a key (`forbidden`)."
        ),
    },
)
async def get_hotspots(
    request: Request,
    caller: ReaderOf,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
) -> dict[str, Any]:
    """Hot spots (``status=open`` for those still open), with their complaints and
    places: every one for an operator's key, those that alerted it for a responder's."""
    if caller.key is None:
        raise ApiError(403, "forbidden", "hot spots need an API key")
    alerting = None if caller.operator else caller.responders
    found = await hotspots_of(request, status, detailed=True, alerting=alerting)
    return {"status": status, "statuses": list(STATUSES), "hotspots": found}


@router.get(
    "/v1/hotspots/{hotspot_id}",
    tags=["hot spots"],
    summary="One hot spot",
    response_model=None,
    responses={
        200: {"model": HotspotView, "description": "The hot spot."},
        **documented(
            401,
            s403="A tracking token opens no hot spot: they need a key (`forbidden`).",
            s404="No such hot spot, or not one this key may see (`not_found`): a "
            "responder's key sees those that alerted it.",
        ),
    },
)
async def get_hotspot(hotspot_id: str, request: Request, caller: ReaderOf) -> dict[str, Any]:
    if caller.key is None:
        raise ApiError(403, "forbidden", "hot spots need an API key")
    doc = await _store(request).hotspot(hotspot_id)
    record = None if doc is None else record_of(hotspot_id, doc.get("facts") or {},
                                                request.app.state.settings.tz)  # fmt: skip
    allowed = caller.operator or (record is not None and caller.responders & set(record.alerted))
    if record is None or not allowed:
        raise ApiError(404, "not_found", "unknown hot spot", field="hotspot_id", location="path")
    return listing(record, detailed=True)


@router.get("/dashboard", include_in_schema=False)
async def get_dashboard(request: Request) -> RedirectResponse:
    """The operator's desk in the console replaced the old dashboard: one desk, not two."""
    query = request.url.query
    return RedirectResponse("/console/desk" + (f"?{query}" if query else ""), status_code=307)
