"""The console's pages: sign-in, the responder's queue, one complaint with its actions,
the operator's desk (督办), and the live-update stream. Everything it needs is on
``app.state.console`` (see ``services.stats.console.Console``)."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent

from services.stats.access import Reader, as_seen_by, may_read
from services.stats.complaint import view
from services.stats.console.app_state import Console
from services.stats.console.desk import DeskData, DeskQuery, desk_view, trend_periods
from services.stats.console.reading import complaint_states, open_hotspots_of
from services.stats.console.sessions import SESSION_COOKIE, SIGN_IN_COOKIE, Session
from services.stats.console.views import (
    GROUPINGS,
    complaint_page,
    queue,
)
from services.stats.console.wording import ACTIONS, RATE_LABELS, Answer, refusal_text
from services.stats.figures import Hotspots
from services.stats.http import hotspots_of
from services.stats.periods import is_period, month_of
from shared.auth import ApiKey, responders_of

router = APIRouter(prefix="/console", include_in_schema=False)

MAX_FORM_BYTES = 16 * 1024
CATCH_UP_SECONDS = 5.0
"""How long an accepted action waits for stats to have read it, so the page shown next
already has it (routing answered intake; stats reads the same event a moment later)."""

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


SAFE_TARGET = re.compile(r"/console/(queue|desk|complaints/[A-Za-z0-9_.:-]{1,100})")


class SignInNeededError(Exception):
    """No valid session: the handler sends the browser to the sign-in page."""


def _console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


@dataclass(frozen=True)
class Viewer:
    session: Session
    key: ApiKey
    csrf: str

    @property
    def reader(self) -> Reader:
        return Reader(key=self.key)

    @property
    def operator(self) -> bool:
        return responders_of(self.key) is None

    @property
    def responders(self) -> set[str]:
        return responders_of(self.key) or set()


async def viewer(request: Request) -> Viewer:
    """The signed-in user; the key is looked up in the key ring on every request, so a
    key taken out of the ring ends its sessions at once."""
    console = _console(request)
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        raise SignInNeededError
    session = await console.sessions.find(session_id, datetime.now(UTC))
    key = None if session is None else console.keys.identify(session.raw_key)
    if session is None or key is None:
        raise SignInNeededError
    return Viewer(session, key, console.sessions.codec.csrf_token(session_id))


SignedIn = Annotated[Viewer, Depends(viewer)]


def back_to(target: str | None) -> str:
    """Where to go after signing in: a console page of this site, else the console's
    home (a link from an alert names a complaint; anything else is not followed)."""
    if target and SAFE_TARGET.fullmatch(target):
        return target
    return "/console"


def sign_in_redirect(request: Request) -> Response:
    if request.headers.get("HX-Request"):
        # htmx swaps answers into the page; this header makes it load the sign-in page.
        return Response(status_code=401, headers={"HX-Redirect": "/console/login"})
    wanted = request.url.path if request.method == "GET" else None
    if wanted and back_to(wanted) == wanted and wanted != "/console":
        return RedirectResponse(f"/console/login?{urlencode({'next': wanted})}", status_code=303)
    return RedirectResponse("/console/login", status_code=303)


def page(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    console = _console(request)
    response: HTMLResponse = console.templates.TemplateResponse(
        request,
        template,
        {"names": console.names, "rate_labels": RATE_LABELS, **context},
        status_code=status_code,
        headers=SECURITY_HEADERS,
    )
    return response


async def form_of(request: Request) -> dict[str, str]:
    """A url-encoded form (the only kind the console's pages send), bounded in size."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise HTTPException(415, "the console takes url-encoded forms")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413, "form too large")
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


# --- signing in and out ----------------------------------------------------------------


@router.get("")
async def home(request: Request) -> Response:
    try:
        who = await viewer(request)
    except SignInNeededError:
        return RedirectResponse("/console/login", status_code=303)
    return RedirectResponse("/console/desk" if who.operator else "/console/queue", status_code=303)


def _sign_in_page(
    request: Request, error: str | None = None, status_code: int = 200, target: str | None = None
) -> HTMLResponse:
    console = _console(request)
    nonce = console.sessions.codec.new_id()
    response = page(
        request,
        "login.html.j2",
        {
            "csrf": console.sessions.codec.csrf_token(nonce, "sign-in"),
            "error": error,
            "next": back_to(target),
        },
        status_code,
    )
    response.set_cookie(
        SIGN_IN_COOKIE,
        nonce,
        max_age=3600,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=console.settings.secure_cookies,
    )
    return response


@router.get("/login", response_class=HTMLResponse)
async def sign_in_form(
    request: Request, next: Annotated[str | None, Query(max_length=200)] = None
) -> HTMLResponse:
    return _sign_in_page(request, target=next)


@router.post("/login", response_model=None)
async def sign_in(request: Request) -> Response:
    console = _console(request)
    form = await form_of(request)
    if not console.sessions.codec.csrf_ok(
        request.cookies.get(SIGN_IN_COOKIE), form.get("csrf"), "sign-in"
    ):
        return _sign_in_page(request, "页面已过期，请重新输入密钥。", 403, form.get("next"))
    raw_key = form.get("api_key", "").strip()
    key = console.keys.identify(raw_key) if raw_key else None
    if key is None:
        return _sign_in_page(request, "密钥无效，请检查后重试。", 401, form.get("next"))
    responders = responders_of(key)
    if responders is not None and not responders:
        return _sign_in_page(
            request, "此密钥既不是管理员密钥，也不属于任何承办单位，不能登录工作台。", 403
        )
    session = await console.sessions.open(raw_key, key.name, datetime.now(UTC))
    response = RedirectResponse(back_to(form.get("next")), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session.session_id,
        max_age=int(console.sessions.lifetime.total_seconds()),
        path="/console",
        httponly=True,
        samesite="strict",
        secure=console.settings.secure_cookies,
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/console")
    return response


@router.post("/logout", response_model=None)
async def sign_out(request: Request, who: SignedIn) -> Response:
    console = _console(request)
    form = await form_of(request)
    if not console.sessions.codec.csrf_ok(who.session.session_id, form.get("csrf")):
        raise HTTPException(403, "anti-forgery token missing or wrong")
    await console.sessions.close(who.session.session_id)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


# --- the responder's queue --------------------------------------------------------------


async def _queue_context(request: Request, who: Viewer) -> dict[str, Any]:
    console = _console(request)
    now = datetime.now(UTC)
    states = await complaint_states(console.store)
    items = queue(states, who.responders, console.names, now, console.settings.tz)
    return {
        "who": who,
        "items": items,
        "overdue": sum(1 for i in items if i.due.overdue),
        "updated_at": now.astimezone(console.settings.tz).strftime("%H:%M:%S"),
    }


@router.get("/queue", response_model=None)
async def queue_page(request: Request, who: SignedIn) -> Response:
    if who.operator:
        return RedirectResponse("/console/desk", status_code=303)
    return page(request, "queue.html.j2", await _queue_context(request, who))


@router.get("/queue/items", response_class=HTMLResponse)
async def queue_items(request: Request, who: SignedIn) -> HTMLResponse:
    return page(request, "_queue_items.html.j2", await _queue_context(request, who))


# --- one complaint ----------------------------------------------------------------------


async def _shown(request: Request, who: Viewer, complaint_id: str) -> dict[str, Any] | None:
    console = _console(request)
    found = await console.store.complaint(complaint_id)
    shown = None if found is None else view(found[0])
    secret = console.settings.tracking_key()
    if shown is None or not may_read(who.reader, complaint_id, shown, secret):
        return None
    return as_seen_by(who.reader, shown, console.directory)


async def _complaint_response(
    request: Request,
    who: Viewer,
    complaint_id: str,
    *,
    notice: str | None = None,
    refusal: tuple[str, Answer] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    console = _console(request)
    shown = await _shown(request, who, complaint_id)
    if shown is None:
        # The same answer for "not yours" and "no such complaint", as the API gives.
        return page(request, "missing.html.j2", {"who": who, "complaint_id": complaint_id}, 404)
    hotspots = await open_hotspots_of(console.store, list(shown.get("hotspots") or []))
    model = complaint_page(
        shown,
        console.names,
        datetime.now(UTC),
        console.settings.tz,
        responders=who.responders,
        hotspots=hotspots,
    )
    return page(
        request,
        "complaint.html.j2",
        {
            "who": who,
            "c": model,
            "notice": notice,
            "refusal": refusal,
            "actions": ACTIONS,
            "attempt": uuid.uuid4().hex,
        },
        status_code,
    )


DONE = {
    "acknowledged": "已签收。",
    "in_progress": "已报告办理中。",
    "resolved": "已办结，等待居民评价。",
    "returned": "已退单，将改派其他单位。",
}


@router.get("/complaints/{complaint_id}", response_class=HTMLResponse)
async def complaint(
    complaint_id: str,
    request: Request,
    who: SignedIn,
    done: Annotated[str | None, Query(max_length=20)] = None,
    queued: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    notice = DONE.get(done or "")
    if notice and queued:
        notice = "已提交，系统正在处理，稍后刷新可见。"
    return await _complaint_response(request, who, complaint_id, notice=notice)


def _actor(who: Viewer, shown: dict[str, Any]) -> str | None:
    """Whom the action is posted as: the viewer's unit that leads, else one that supports."""
    lead = (shown.get("lead") or {}).get("responder_id")
    if lead in who.responders:
        return str(lead)
    supports = sorted(who.responders & {s["responder_id"] for s in shown.get("support") or []})
    return supports[0] if supports else None


async def _caught_up(request: Request, complaint_id: str, entries_before: int) -> None:
    console = _console(request)
    deadline = time.monotonic() + CATCH_UP_SECONDS
    while time.monotonic() < deadline:
        found = await console.store.complaint(complaint_id)
        if found is not None and len(found[0].timeline) > entries_before:
            return
        await asyncio.sleep(0.2)


@router.post("/complaints/{complaint_id}/updates", response_model=None)
async def act(complaint_id: str, request: Request, who: SignedIn) -> Response:
    console = _console(request)
    form = await form_of(request)
    if not console.sessions.codec.csrf_ok(who.session.session_id, form.get("csrf")):
        return await _complaint_response(
            request, who, complaint_id, notice="页面已过期，请重新操作。", status_code=403
        )
    action = form.get("type", "")
    if action not in ACTIONS:
        raise HTTPException(422, "unknown action")
    shown = await _shown(request, who, complaint_id)
    if shown is None:
        return page(request, "missing.html.j2", {"who": who, "complaint_id": complaint_id}, 404)
    actor = _actor(who, shown)
    if actor is None:
        words = (
            "管理员账号只能查看和督办，不能代替承办单位操作。"
            if who.operator
            else f"您的单位不是此件的承办单位，不能{ACTIONS[action]}。"
        )
        answer = Answer(
            False, 403, code="not_assigned", detail="the console acts only as an assigned responder"
        )
        return await _complaint_response(
            request, who, complaint_id, refusal=(words, answer), status_code=403
        )
    note = form.get("note", "").strip() or None
    answer = await console.intake.post_update(
        who.session.raw_key,
        complaint_id,
        {"type": action, "actor_id": actor, "note": note},
        idempotency_key=form.get("attempt") or uuid.uuid4().hex,
    )
    if not answer.accepted:
        status = answer.http_status if 400 <= answer.http_status < 500 else 503
        return await _complaint_response(
            request,
            who,
            complaint_id,
            refusal=(refusal_text(answer, action), answer),
            status_code=status,
        )
    queued = answer.status == "queued"
    if not queued:
        await _caught_up(request, complaint_id, len(shown.get("timeline") or []))
    query = urlencode({"done": action, **({"queued": "true"} if queued else {})})
    return RedirectResponse(f"/console/complaints/{complaint_id}?{query}", status_code=303)


# --- the operator's desk (督办) -----------------------------------------------------------


def desk_query(
    request: Request,
    period: Annotated[str | None, Query(max_length=10)] = None,
    category: Annotated[str | None, Query(max_length=60)] = None,
    group: Annotated[str | None, Query(max_length=20)] = None,
) -> DeskQuery:
    tz = _console(request).settings.tz
    chosen = (period or "").strip() or None
    if chosen is not None and not is_period(chosen):
        raise HTTPException(422, "period must be YYYY-MM or YYYY-MM-DD")
    return DeskQuery(
        period=chosen or month_of(datetime.now(UTC), tz),
        chosen_period=chosen,
        category=(category or "").strip() or None,
        group=group if group in GROUPINGS else "responder",
    )


Desk = Annotated[DeskQuery, Depends(desk_query)]


async def _desk_context(request: Request, who: Viewer, q: DeskQuery) -> dict[str, Any]:
    console = _console(request)
    store, tz = console.store, console.settings.tz
    now = datetime.now(UTC)
    complaints, notifications, rejected = await store.period_data([q.period])
    hotspot_records, alerts = await store.period_hotspots([q.period])
    history, _, _ = await store.period_data(trend_periods(now, tz))
    return {
        "who": who,
        **desk_view(
            DeskData(
                complaints=complaints,
                notifications=notifications,
                rejected=rejected[q.period],
                hotspots=Hotspots(hotspot_records, alerts),
                history=history,
                states=await complaint_states(store),
                open_hotspots=await hotspots_of(request, "open", detailed=False),
            ),
            q,
            console.names,
            now,
            tz,
        ),
    }


def _operators_only(who: Viewer) -> None:
    if not who.operator:
        raise HTTPException(403, "the desk needs an operator's key (read scope)")


@router.get("/desk", response_class=HTMLResponse)
async def desk(request: Request, who: SignedIn, q: Desk) -> HTMLResponse:
    if not who.operator:
        return page(request, "forbidden.html.j2", {"who": who}, 403)
    return page(request, "desk.html.j2", await _desk_context(request, who, q))


@router.get("/desk/body", response_class=HTMLResponse)
async def desk_body(request: Request, who: SignedIn, q: Desk) -> HTMLResponse:
    _operators_only(who)
    return page(request, "_desk_body.html.j2", await _desk_context(request, who, q))


# --- live updates -----------------------------------------------------------------------


@router.get("/events", response_class=EventSourceResponse)
async def events(request: Request, _: SignedIn) -> AsyncIterator[ServerSentEvent]:
    """``changed`` whenever stats published new figures; no data: the page asks for its
    own parts again with its own session, so nothing here can leak across viewers."""
    live = _console(request).live
    yield ServerSentEvent(comment="connected", retry=3000)
    async for _notice in live.changes():
        yield ServerSentEvent(event="changed", data="")
