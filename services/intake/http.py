"""Intake's public HTTP API: submitting complaints and posting lifecycle updates.

Routes are module-level functions; what they need (keys, rate limiter, the group
commit, the routing client) is put on ``app.state`` by the composition root."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse

from services.intake.auth import ApiKey, KeyRing, RateLimiter
from services.intake.group_commit import GroupCommit
from services.intake.handlers import IdempotencyConflictError, Submitted
from shared.consuming import TRANSIENT_ERRORS
from shared.events import ComplaintSubmission, ComplaintUpdateRequest

router = APIRouter()


def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> ApiKey:
    """The API key behind a request: 401 unknown, 429 over its rate."""
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(401, "missing API key (Authorization: Bearer <key>)")
    keys: KeyRing = request.app.state.keys
    key = keys.identify(authorization.removeprefix("Bearer ").strip())
    if key is None:
        raise HTTPException(401, "unknown API key")
    limiter: RateLimiter = request.app.state.limiter
    wait = limiter.try_take(key)
    if wait > 0:
        raise HTTPException(
            429, "rate limit exceeded", headers={"Retry-After": str(max(1, round(wait + 0.5)))}
        )
    return key


Caller = Annotated[ApiKey, Depends(caller)]
IdempotencyKey = Annotated[str | None, Header(max_length=200)]


@router.post("/v1/complaints", status_code=202)
async def submit_complaint(
    submission: ComplaintSubmission,
    key: Caller,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, str]:
    """Accept a complaint; 202 once it is recorded and published."""
    if not key.allows("submit", submission.source):
        raise HTTPException(403, f"this key may not submit for source {submission.source!r}")
    group: GroupCommit[Submitted, str] = request.app.state.group
    scoped = f"{key.name}:{idempotency_key}" if idempotency_key else None
    try:
        complaint_id = await group.submit(Submitted(submission, scoped))
    except IdempotencyConflictError as exc:
        raise HTTPException(422, str(exc)) from exc
    except TRANSIENT_ERRORS as exc:
        raise HTTPException(503, "not accepted: the broker or database is away; retry") from exc
    return {"complaint_id": complaint_id, "status": "received"}


@router.post("/v1/complaints/{complaint_id}/updates", status_code=202)
async def post_update(
    complaint_id: str,
    update: ComplaintUpdateRequest,
    key: Caller,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    if not key.allows("update", update.actor_id):
        raise HTTPException(403, f"this key may not act as {update.actor_id!r}")
    routing: httpx.AsyncClient = request.app.state.routing
    try:
        answer = await routing.post(
            f"/v1/complaints/{complaint_id}/updates",
            content=update.model_dump_json(exclude_none=True),
            headers={
                "content-type": "application/json",
                # Routing makes a retried update a no-op under the same key.
                **({"idempotency-key": f"{key.name}:{idempotency_key}"} if idempotency_key else {}),
            },
        )
    except httpx.TransportError as exc:
        raise HTTPException(503, "routing is not reachable; try again") from exc
    return JSONResponse(answer.json(), status_code=answer.status_code)
