"""Intake's public HTTP API: submitting complaints and posting lifecycle updates.

Routes are module-level functions; what they need (keys, rate limiter, the group
commit, the update sender) is put on ``app.state`` by the composition root."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Request, Security
from pydantic import BaseModel, ValidationError

from services.intake.group_commit import GroupCommit
from services.intake.handlers import IdempotencyConflictError, Submitted, UpdateSender
from services.intake.update_bodies import UpdateBody
from shared.auth import ApiKey, RateLimiter, tracking_token
from shared.consuming import TRANSIENT_ERRORS
from shared.events import ComplaintStatus, ComplaintSubmission, IngressUpdate
from shared.http_auth import identify, presented_key, unauthenticated
from shared.http_errors import ApiError, documented
from shared.ids import stable_id

router = APIRouter(tags=["complaints"])


async def caller(
    request: Request, raw_key: Annotated[str | None, Security(presented_key)]
) -> ApiKey:
    """The API key behind a request: 401 missing or unknown, 429 over its rate. (A
    coroutine: FastAPI runs a plain function dependency in its thread pool, which costs
    more than the hashing it does.)"""
    if raw_key is None:
        raise unauthenticated(
            "missing_credentials", "missing API key (Authorization: Bearer <key>)"
        )
    key = identify(request, raw_key)
    limiter: RateLimiter = request.app.state.limiter
    wait = limiter.try_take(key)
    if wait > 0:
        raise ApiError(
            429,
            "rate_limited",
            "rate limit exceeded",
            headers={"Retry-After": str(max(1, round(wait + 0.5)))},
        )
    return key


Caller = Annotated[ApiKey, Depends(caller)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=200,
        description="Makes a retry safe: the same key with the same body gets the first "
        "answer; with another body, 422 `idempotency_conflict`.",
    ),
]


class SubmissionAccepted(BaseModel):
    complaint_id: str
    status: Literal["received"]
    tracking_token: str
    """What the resident keeps to follow the complaint on stats (``X-Tracking-Token``)."""


class UpdateApplied(BaseModel):
    """Routing applied the update (or had already: a retry answers the same)."""

    complaint_id: str
    status: ComplaintStatus
    lead: str | None


class UpdateQueued(BaseModel):
    """Routing did not answer in time; it applies the update when it catches up."""

    complaint_id: str
    status: Literal["queued"]
    request_id: str


@router.post(
    "/v1/complaints",
    status_code=202,
    response_model=SubmissionAccepted,
    summary="Submit a complaint",
    responses=documented(
        400,
        401,
        413,
        429,
        503,
        s403="The key may not submit for this `source` (`forbidden`).",
        s422="The body is invalid (`invalid`, each field listed), or the Idempotency-Key "
        "was used before with another body (`idempotency_conflict`).",
    ),
)
async def submit_complaint(
    submission: ComplaintSubmission,
    key: Caller,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> SubmissionAccepted:
    """Accept a complaint; 202 once it is recorded and published on
    ``complaints.received``. The same ``source`` and ``source_ref`` twice is the same
    complaint: the answer names the same id. Needs a key with ``submit:<source>``."""
    if not key.allows("submit", submission.source):
        raise ApiError(
            403,
            "forbidden",
            f"this key may not submit for source {submission.source!r}",
            field="source",
            location="body",
        )
    group: GroupCommit[Submitted, str] = request.app.state.group
    scoped = f"{key.name}:{idempotency_key}" if idempotency_key else None
    try:
        complaint_id = await group.submit(Submitted(submission, scoped))
    except IdempotencyConflictError as exc:
        raise ApiError(
            422, "idempotency_conflict", str(exc), field="Idempotency-Key", location="header"
        ) from exc
    except TRANSIENT_ERRORS as exc:
        raise ApiError(
            503, "unavailable", "not accepted: the broker or database is away; retry"
        ) from exc
    # What the resident keeps to follow the complaint (GET :8083/v1/complaints/{id}).
    token = tracking_token(request.app.state.tracking_secret, complaint_id)
    return SubmissionAccepted(complaint_id=complaint_id, status="received", tracking_token=token)


REFUSAL_STATUS = {"not_routed": 409, "not_allowed": 409, "not_assigned": 403, "invalid": 422}
"""Routing's refusal codes (``services.routing.lifecycle``) and what HTTP answers them."""

UPDATE_RULES = """Apply a lifecycle update: 202 with the complaint's new status once
routing applied it; 202 `queued` if routing has not answered in time (it applies the
update when it catches up). Needs a key with `update:<actor_id>` (`update:resident` for
a resident's rating).

The body's shape depends on `type` (the schema says it): `rating` only with `rated`,
which needs one; `returned` needs a reason in `note`.

What the schema cannot say, routing decides from the complaint and the directory:
- only the lead acknowledges, resolves or returns; a supporting responder may post
  only `in_progress`, once the lead has acknowledged (403 `not_assigned`);
- a rating comes from `resident` or a callback desk (dispatch, coordination or
  community) not assigned to the complaint, and only once it is resolved;
- `unlinked` only by the dispatch or coordination desk or the compound's community,
  and only for a complaint linked as a duplicate (403 `not_assigned`);
- the lifecycle order: routed, acknowledged, in progress, resolved, rated (closed);
  an update out of order, or on a closed complaint or a duplicate, is 409
  `not_allowed`; one before the complaint is routed is 409 `not_routed`."""


@router.post(
    "/v1/complaints/{complaint_id}/updates",
    status_code=202,
    response_model=UpdateApplied | UpdateQueued,
    summary="Post a lifecycle update",
    description=UPDATE_RULES,
    responses=documented(
        400,
        401,
        413,
        422,
        429,
        503,
        s403="The key may not act as `actor_id` (`forbidden`), or routing says that actor "
        "may not post this update on this complaint (`not_assigned`).",
        s404="No such complaint (`not_found`).",
        s409="The update does not fit the complaint's state (`not_allowed`, `not_routed`).",
    ),
)
async def post_update(
    complaint_id: str,
    update: UpdateBody,
    key: Caller,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> UpdateApplied | UpdateQueued:
    if not key.allows("update", update.actor_id):
        raise ApiError(
            403,
            "forbidden",
            f"this key may not act as {update.actor_id!r}",
            field="actor_id",
            location="body",
        )
    updates: UpdateSender = request.app.state.updates
    # A retried request (same key and Idempotency-Key) names the same update: routing
    # applies it once and answers the retry with the complaint's status.
    request_id = (
        stable_id("http", key.name, idempotency_key) if idempotency_key else uuid.uuid4().hex
    )
    try:
        forwarded = IngressUpdate(
            complaint_id=complaint_id,
            request_id=request_id,
            via=f"key:{key.name}",
            **update.model_dump(),
        )
    except ValidationError as exc:
        raise ApiError(
            422, "invalid", exc.errors()[0]["msg"], field="complaint_id", location="path"
        ) from exc
    try:
        reply = await updates.send(forwarded)
    except TRANSIENT_ERRORS as exc:
        raise ApiError(503, "unavailable", "the broker is away; try again") from exc
    if reply is None:
        return UpdateQueued(complaint_id=complaint_id, status="queued", request_id=request_id)
    if reply.outcome == "unknown":
        raise ApiError(404, "not_found", "unknown complaint", field="complaint_id", location="path")
    if reply.outcome == "refused":
        code = reply.code or "not_allowed"
        raise ApiError(
            REFUSAL_STATUS.get(code, 409),
            code,
            reply.reason or "refused",
            field=reply.field,
            location="path" if reply.field == "complaint_id" else "body",
        )
    assert reply.status is not None
    return UpdateApplied(complaint_id=complaint_id, status=reply.status, lead=reply.lead)
