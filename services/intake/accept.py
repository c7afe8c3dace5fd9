"""Accepting a complaint: give it its id, publish ``complaints.received`` exactly once.

Pure of I/O frameworks: the store and the publisher come in as ports."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from services.intake.store import Claim
from shared.events import ComplaintReceived, ComplaintRejected, ComplaintSubmission, RejectionReason
from shared.ids import complaint_id_for, stable_id
from shared.privacy import scrub_phones

Publish = Callable[[ComplaintReceived], Awaitable[None]]


class SubmissionStore(Protocol):
    async def hold(self, complaint_id: str, body_hash: str, event_json: str) -> bool: ...

    async def release(self, complaint_id: str) -> None: ...

    async def claim(self, complaint_id: str, body_hash: str) -> Claim: ...

    async def mark_published(self, complaint_id: str, body_hash: str) -> None: ...


@dataclass(frozen=True)
class Accepted:
    complaint_id: str
    new: bool
    """False when the same submission had been accepted before (no second event)."""


def body_hash(submission: ComplaintSubmission) -> str:
    return hashlib.sha256(submission.model_dump_json().encode()).hexdigest()


def received_event(
    submission: ComplaintSubmission, ingress: Literal["http", "kafka"]
) -> ComplaintReceived:
    complaint_id = complaint_id_for(submission.source, submission.source_ref)
    return ComplaintReceived(
        event_id=stable_id(complaint_id, "received"),
        complaint_id=complaint_id,
        source=submission.source,
        source_ref=submission.source_ref,
        channel=submission.channel,
        compound_id=submission.compound_id,
        category=submission.category,
        description=submission.description,
        location=submission.location,
        reporter=submission.reporter,
        incident_at=submission.occurred_at,
        ingress=ingress,
    )


async def accept(
    submission: ComplaintSubmission,
    ingress: Literal["http", "kafka"],
    *,
    store: SubmissionStore,
    publish: Publish,
) -> Accepted:
    """Hold the event, claim the complaint id, publish once, mark it published.

    The event is held before the claim so that a crash at any point leaves it where
    the relay re-publishes it (same event id); the caller may answer "accepted" once
    the claim holds."""
    event = received_event(submission, ingress)
    digest = body_hash(submission)
    held = await store.hold(event.complaint_id, digest, event.model_dump_json())
    claim = await store.claim(event.complaint_id, digest)
    if not claim.won:
        if held and claim.published:
            await store.release(event.complaint_id)  # a late resend: nothing to publish
        return Accepted(event.complaint_id, new=False)
    await publish(event)
    await store.mark_published(event.complaint_id, digest)
    await store.release(event.complaint_id)
    return Accepted(event.complaint_id, new=True)


def rejection_reasons(error: ValidationError | ValueError) -> list[RejectionReason]:
    if isinstance(error, ValidationError):
        return [
            RejectionReason(
                field=".".join(str(part) for part in err["loc"]) or "<body>", message=err["msg"]
            )
            for err in error.errors()
        ]
    return [RejectionReason(field="<body>", message=scrub_phones(str(error))[:500])]


def rejected_event(
    raw: bytes,
    reasons: list[RejectionReason],
    *,
    origin_topic: str,
    origin_partition: int,
    origin_offset: int,
    parsed: Any = None,
) -> ComplaintRejected:
    """The answer to a refused ingress message; its id is fixed by the message's position
    so a redelivered message is refused with the same event."""
    fields = parsed if isinstance(parsed, dict) else {}
    source, source_ref = fields.get("source"), fields.get("source_ref")
    return ComplaintRejected(
        event_id=stable_id(origin_topic, origin_partition, origin_offset, "rejected"),
        kind="submission",
        source=source if isinstance(source, str) else None,
        source_ref=source_ref if isinstance(source_ref, str) else None,
        reasons=reasons,
        origin_topic=origin_topic,
        origin_partition=origin_partition,
        origin_offset=origin_offset,
        excerpt=scrub_phones(raw[:300].decode("utf-8", errors="replace")),
    )
