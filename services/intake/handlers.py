"""Intake's handlers: a consumed ``ingress.complaints`` batch, a group of HTTP
submissions, and the answers to refused messages. Each takes ``IntakeDeps``.

Publish first, record after: a batch's new complaints go out (one flush) before they
are written down, so a complaint found recorded is one whose event was acknowledged
by Kafka, and a resend publishes nothing. A crash in between costs a second copy of
the same event (same id), which consumers drop; it never costs a complaint."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson

from services.intake.accept import Ingress, admission, body_hash, rejected_event
from services.intake.replies import ReplyWaiter
from shared.consuming import Record, Refusal, decode_each
from shared.events import ComplaintSubmission, IngressUpdate, UpdateReply
from shared.ids import complaint_id_for
from shared.mongo import Document, now_ms
from shared.publishing import Publisher, Sends
from shared.sealing import ContactKeyRing
from shared.topics import COMPLAINTS_RECEIVED, COMPLAINTS_REJECTED, INGRESS_UPDATES

SERVICE = "intake"
IDEMPOTENCY_KEEP = timedelta(hours=48)


class SubmissionStore(Protocol):
    """What intake keeps in MongoDB (``services.intake.store.IntakeStore``)."""

    async def known(self, complaint_ids: Iterable[str]) -> set[str]: ...
    async def record(self, records: Sequence[Document]) -> None: ...
    async def remember_keys(self, records: Sequence[Document]) -> dict[str, Document]: ...
    async def forget_keys_before(self, cutoff: datetime) -> int: ...


@dataclass(frozen=True)
class IntakeDeps:
    store: SubmissionStore
    received: Publisher
    rejected: Publisher
    contacts: ContactKeyRing
    """Seals each reporter's contact before the complaint's event is published."""
    clock: Callable[[], datetime] = now_ms


class IdempotencyConflictError(ValueError):
    """An Idempotency-Key reused with another request body."""


@dataclass(frozen=True)
class Submitted:
    """One HTTP submission waiting in a group commit."""

    submission: ComplaintSubmission
    idempotency_key: str | None = None
    """Scoped to the API key (``<key name>:<header value>``)."""


async def admit(
    submissions: Sequence[ComplaintSubmission], ingress: Ingress, deps: IntakeDeps
) -> list[str]:
    """Accept a batch: the complaint id of each submission, in order, once every new
    complaint's event is acknowledged and recorded."""
    ids = [complaint_id_for(s.source, s.source_ref) for s in submissions]
    known = await deps.store.known(ids)
    plan = admission(submissions, ingress, deps.contacts, known=known, at=deps.clock())
    sends = Sends(SERVICE)
    for event in plan.events:
        await sends.add(
            deps.received,
            COMPLAINTS_RECEIVED,
            event.model_dump_json().encode(),
            event.complaint_id,
        )
    await sends.wait()
    await deps.store.record(plan.records)
    return plan.complaint_ids


async def accept_ingress_batch(records: Sequence[Record], deps: IntakeDeps) -> list[Refusal]:
    decoded, refused = decode_each(
        records, lambda record: ComplaintSubmission.model_validate_json(record.value or b"")
    )
    if decoded:
        await admit([submission for _, submission in decoded], "kafka", deps)
    return refused


async def answer_refusals(refusals: Sequence[Refusal], deps: IntakeDeps) -> None:
    """Tell senders on ``complaints.rejected`` why their messages were refused."""
    sends = Sends(SERVICE)
    for refusal in refusals:
        event = rejected_event(refusal, _parsed(refusal.body))
        await sends.add(
            deps.rejected, COMPLAINTS_REJECTED, event.model_dump_json().encode(), refusal.origin.key
        )
    await sends.wait()


async def admit_requests(items: Sequence[Submitted], deps: IntakeDeps) -> list[str | BaseException]:
    """A group commit of HTTP submissions: the complaint id per request, or the error
    that request must answer (an Idempotency-Key reused with another body)."""
    conflicts = await _idempotency_conflicts(items, deps)
    accepted = [i for i, item in enumerate(items) if i not in conflicts]
    ids = await admit([items[i].submission for i in accepted], "http", deps)
    answers: dict[int, str | BaseException] = dict(conflicts)
    answers.update(zip(accepted, ids, strict=True))
    return [answers[i] for i in range(len(items))]


async def _idempotency_conflicts(
    items: Sequence[Submitted], deps: IntakeDeps
) -> dict[int, BaseException]:
    first_use: dict[str, Document] = {}
    for item in items:
        if item.idempotency_key and item.idempotency_key not in first_use:
            first_use[item.idempotency_key] = {
                "_id": item.idempotency_key,
                "body_hash": body_hash(item.submission),
                "complaint_id": complaint_id_for(
                    item.submission.source, item.submission.source_ref
                ),
                "created_at": deps.clock(),
            }
    if not first_use:
        return {}
    holding = first_use | await deps.store.remember_keys(list(first_use.values()))
    conflicts: dict[int, BaseException] = {}
    for index, item in enumerate(items):
        key = item.idempotency_key
        if key and holding[key]["body_hash"] != body_hash(item.submission):
            conflicts[index] = IdempotencyConflictError(
                "Idempotency-Key was already used with a different request body"
            )
    return conflicts


@dataclass(frozen=True)
class UpdateSender:
    """Sends an update to routing over ``ingress.updates`` and waits for its answer."""

    updates: Publisher
    replies: ReplyWaiter
    answer_within: float

    async def send(self, update: IngressUpdate) -> UpdateReply | None:
        """Routing's answer, or None if it did not come in time (the update stays queued
        and is applied when routing catches up)."""
        assert update.request_id is not None
        answer = self.replies.expect(update.request_id)
        try:
            sends = Sends(SERVICE)
            await sends.add(
                self.updates,
                INGRESS_UPDATES,
                update.model_dump_json(exclude_none=True).encode(),
                update.complaint_id,
            )
            await sends.wait()
            return await asyncio.wait_for(asyncio.shield(answer), self.answer_within)
        except TimeoutError:
            return None
        finally:
            self.replies.forget(update.request_id)


async def forget_old_keys(deps: IntakeDeps) -> int:
    return await deps.store.forget_keys_before(deps.clock() - IDEMPOTENCY_KEEP)


def _parsed(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
