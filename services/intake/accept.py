"""Accepting complaints: what a batch of submissions becomes (pure: no I/O).

A submission's complaint id and event id are fixed by where it came from
(``source``, ``source_ref``), so a resend or a replayed batch names the same complaint
and publishes the same event, which consumers drop. Intake publishes a batch's new
complaints first and records them after; a complaint found recorded is one whose
event went out, so a resend publishes nothing (see ``handlers.admit``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from shared.consuming import Refusal
from shared.events import (
    ComplaintReceived,
    ComplaintRejected,
    ComplaintSubmission,
    RejectionReason,
    Reporter,
)
from shared.ids import complaint_id_for, stable_id
from shared.mongo import Document
from shared.privacy import scrub_phones
from shared.sealing import ContactKeyRing

Ingress = Literal["http", "kafka"]


def body_hash(submission: ComplaintSubmission) -> str:
    return hashlib.sha256(submission.model_dump_json().encode()).hexdigest()


def received_event(
    submission: ComplaintSubmission,
    ingress: Ingress,
    contacts: ContactKeyRing,
    at: datetime | None = None,
) -> ComplaintReceived:
    """The event of an accepted complaint: from here on the reporter's contact exists
    only sealed (the phone masked, the name only when not hidden)."""
    complaint_id = complaint_id_for(submission.source, submission.source_ref)
    reporter = submission.reporter
    fields: dict[str, Any] = {} if at is None else {"occurred_at": at}
    return ComplaintReceived(
        event_id=stable_id(complaint_id, "received"),
        complaint_id=complaint_id,
        source=submission.source,
        source_ref=submission.source_ref,
        channel=submission.channel,
        compound_id=submission.compound_id,
        category=submission.category,
        description=own_words(submission.description, reporter),
        location=None if submission.location is None else own_words(submission.location, reporter),
        reporter=None if reporter is None else contacts.sealed_reporter(complaint_id, reporter),
        incident_at=submission.occurred_at,
        ingress=ingress,
        **fields,
    )


def own_words(text: str, reporter: Reporter | None) -> str:
    """A resident's free text as the topics carry it: a phone number written into it is
    masked like the reporter's own, and a hidden reporter's name is withheld."""
    text = scrub_phones(text)
    if reporter is not None and reporter.hide_identity and reporter.name:
        text = text.replace(reporter.name, "***")
    return text


@dataclass(frozen=True)
class Admission:
    """What to do with one batch of submissions: the events to publish (one per new
    complaint) and, for every submission in order, the complaint it names."""

    events: list[ComplaintReceived]
    records: list[Document]
    """What to remember of each new complaint once its event is out."""
    complaint_ids: list[str]


def admission(
    submissions: Sequence[ComplaintSubmission],
    ingress: Ingress,
    contacts: ContactKeyRing,
    *,
    known: set[str],
    at: datetime,
) -> Admission:
    """New complaints of a batch: neither recorded before (``known``) nor repeated
    earlier in the same batch."""
    events: dict[str, ComplaintReceived] = {}
    records: list[Document] = []
    ids: list[str] = []
    for submission in submissions:
        event = received_event(submission, ingress, contacts, at)
        ids.append(event.complaint_id)
        if event.complaint_id not in known and event.complaint_id not in events:
            events[event.complaint_id] = event
            records.append(submission_record(event, body_hash(submission)))
    return Admission(list(events.values()), records, ids)


def submission_record(event: ComplaintReceived, digest: str) -> Document:
    """What intake remembers of an accepted complaint: enough to know it again, no
    reporter (the event carries it; intake need not keep it)."""
    return {
        "_id": event.complaint_id,
        "source": event.source,
        "source_ref": event.source_ref,
        "body_hash": digest,
        "accepted_at": event.occurred_at,
    }


def rejection_reasons(error: ValidationError | ValueError) -> list[RejectionReason]:
    if isinstance(error, ValidationError):
        return [
            RejectionReason(
                field=".".join(str(part) for part in err["loc"]) or "<body>", message=err["msg"]
            )
            for err in error.errors()
        ]
    return [RejectionReason(field="<body>", message=scrub_phones(str(error))[:500])]


def rejected_event(refusal: Refusal, parsed: Any = None) -> ComplaintRejected:
    """The answer to a refused ingress message; its id is fixed by the message's position
    so a redelivered message is refused with the same event."""
    origin = refusal.origin
    fields = parsed if isinstance(parsed, dict) else {}
    source, source_ref = fields.get("source"), fields.get("source_ref")
    return ComplaintRejected(
        event_id=stable_id(origin.topic, origin.partition, origin.offset, "rejected"),
        kind="submission",
        source=source if isinstance(source, str) else None,
        source_ref=source_ref if isinstance(source_ref, str) else None,
        reasons=submission_reasons(parsed, refusal.reason),
        origin_topic=origin.topic,
        origin_partition=origin.partition,
        origin_offset=origin.offset,
        excerpt=excerpt(refusal.body, fields),
    )


def excerpt(body: bytes, fields: dict[str, Any]) -> str:
    """The start of a refused message for its sender: phones masked and the reporter's
    name withheld (the sender knows it; every reader of complaints.rejected need not)."""
    text = scrub_phones(body[:300].decode("utf-8", errors="replace"))
    reporter = fields.get("reporter")
    name = reporter.get("name") if isinstance(reporter, dict) else None
    if isinstance(name, str) and name.strip():
        # As the sender wrote it, trimmed, or escaped as JSON does with ensure_ascii.
        for spelling in (name, name.strip(), json.dumps(name.strip())[1:-1]):
            text = text.replace(spelling, "***")
    return text


def submission_reasons(parsed: Any, fallback: str) -> list[RejectionReason]:
    """Field-level reasons where the body parsed as JSON, else one for the whole body."""
    if parsed is None:
        return [RejectionReason(field="<body>", message="not valid JSON")]
    try:
        ComplaintSubmission.model_validate(parsed)
    except ValidationError as exc:
        return rejection_reasons(exc)
    return [RejectionReason(field="<body>", message=scrub_phones(fallback)[:500])]
