"""Intake's public HTTP API: submitting complaints and posting lifecycle updates.

Routes are module-level functions; what they need (keys, rate limiter, the group
commit, the update sender) is put on ``app.state`` by the composition root."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from services.intake.group_commit import GroupCommit
from services.intake.handlers import IdempotencyConflictError, Submitted, UpdateSender
from shared.auth import ApiKey, KeyRing, RateLimiter, tracking_token
from shared.consuming import TRANSIENT_ERRORS
from shared.events import ComplaintSubmission, ComplaintUpdateRequest, IngressUpdate
from shared.ids import stable_id

router = APIRouter()


async def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> ApiKey:
    """The API key behind a request: 401 unknown, 429 over its rate. (A coroutine:
    FastAPI runs a plain function dependency in its thread pool, which costs more than
    the hashing it does.)"""
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
    # What the resident keeps to follow the complaint (GET :8083/v1/complaints/{id}).
    token = tracking_token(request.app.state.tracking_secret, complaint_id)
    return {"complaint_id": complaint_id, "status": "received", "tracking_token": token}


REFUSAL_STATUS = {"not_routed": 409, "not_allowed": 409, "not_assigned": 403, "invalid": 422}


@router.post("/v1/complaints/{complaint_id}/updates", status_code=202)
async def post_update(
    complaint_id: str,
    update: ComplaintUpdateRequest,
    key: Caller,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Apply a lifecycle update: 202 with the complaint's new status once routing applied
    it, or the reason it was refused; 202 ``queued`` if routing has not answered in time
    (it will apply it when it catches up)."""
    if not key.allows("update", update.actor_id):
        raise HTTPException(403, f"this key may not act as {update.actor_id!r}")
    updates: UpdateSender = request.app.state.updates
    # A retried request (same key and Idempotency-Key) names the same update: routing
    # applies it once and answers the retry with the complaint's status.
    request_id = (
        stable_id("http", key.name, idempotency_key) if idempotency_key else uuid.uuid4().hex
    )
    try:
        reply = await updates.send(
            IngressUpdate(
                complaint_id=complaint_id,
                request_id=request_id,
                via=f"key:{key.name}",
                **update.model_dump(),
            )
        )
    except ValidationError as exc:
        raise HTTPException(422, "complaint_id: " + exc.errors()[0]["msg"]) from exc
    except TRANSIENT_ERRORS as exc:
        raise HTTPException(503, "the broker is away; try again") from exc
    if reply is None:
        return JSONResponse(
            {"complaint_id": complaint_id, "status": "queued", "request_id": request_id}, 202
        )
    if reply.outcome == "unknown":
        return JSONResponse({"detail": "unknown complaint"}, 404)
    if reply.outcome == "refused":
        return JSONResponse(
            {"detail": reply.reason, "field": reply.field, "code": reply.code},
            REFUSAL_STATUS.get(reply.code or "", 409),
        )
    return JSONResponse(
        {"complaint_id": complaint_id, "status": reply.status, "lead": reply.lead}, 202
    )
