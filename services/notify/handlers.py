"""Notify's handlers: a consumed batch of trigger events, and the report of outcomes."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from services.notify.owner import Notifier, Planned, outcome_event
from services.notify.planning import plan_deliveries
from services.notify.triggers import (
    Trigger,
    from_escalated,
    from_hotspot,
    from_reminded,
    from_routed,
    from_updated,
)
from shared.broker import dead_letter_body, dead_letter_headers
from shared.consuming import Record, Refusal, decode_each
from shared.events import (
    ComplaintEscalated,
    ComplaintReminded,
    ComplaintRouted,
    ComplaintUpdated,
    HotspotDetected,
    NotificationFailed,
)
from shared.mongo import Document
from shared.publishing import Publisher, Sends
from shared.topics import (
    COMPLAINTS_ESCALATED,
    COMPLAINTS_REMINDED,
    COMPLAINTS_ROUTED,
    COMPLAINTS_UPDATED,
    HOTSPOTS_DETECTED,
    NOTIFICATIONS_FAILED,
    NOTIFICATIONS_SENT,
    dead_letter_topic,
)

SERVICE = "notify"

PARSERS: Mapping[str, Callable[[bytes], Trigger | None]] = {
    COMPLAINTS_ROUTED: lambda body: from_routed(ComplaintRouted.model_validate_json(body)),
    COMPLAINTS_ESCALATED: lambda body: from_escalated(ComplaintEscalated.model_validate_json(body)),
    COMPLAINTS_REMINDED: lambda body: from_reminded(ComplaintReminded.model_validate_json(body)),
    COMPLAINTS_UPDATED: lambda body: from_updated(ComplaintUpdated.model_validate_json(body)),
    HOTSPOTS_DETECTED: lambda body: from_hotspot(HotspotDetected.model_validate_json(body)),
}


@dataclass(frozen=True)
class NotifyDeps:
    notifier: Notifier
    topics: Mapping[str, str]
    """Public topic name by full name (with any prefix)."""


async def accept_triggers(records: Sequence[Record], deps: NotifyDeps) -> list[Refusal]:
    notifier = deps.notifier
    decoded, refused = decode_each(
        records, lambda record: PARSERS[deps.topics[record.topic]](record.value or b"")
    )
    planned = [
        (origin.partition, Planned(delivery, trigger, origin))
        for origin, trigger in decoded
        if trigger is not None
        for delivery in plan_deliveries(trigger, notifier.directory)
    ]
    async with notifier.lock:
        await notifier.accept([(p, item) for p, item in planned if p in notifier.held])
    return refused


class BrokerOutcomes:
    """Reports outcomes on ``notifications.*`` and parks failures on ``dlq.notify``."""

    def __init__(self, sent: Publisher, failed: Publisher, dead_letters: Publisher) -> None:
        self.sent, self.failed, self.dead_letters = sent, failed, dead_letters

    async def report(self, outcomes: Sequence[Document]) -> None:
        sends = Sends(SERVICE)
        for document in outcomes:
            event = outcome_event(document)
            body = event.model_dump_json().encode()
            if isinstance(event, NotificationFailed):
                await sends.add(self.failed, NOTIFICATIONS_FAILED, body, event.complaint_id)
                await self._park(document, event, sends)
            else:
                await sends.add(self.sent, NOTIFICATIONS_SENT, body, event.complaint_id)
        await sends.wait()

    async def _park(self, document: Document, event: NotificationFailed, sends: Sends) -> None:
        origin = document["origin"]
        body = {
            key: document[key]
            for key in ("_id", "complaint_id", "responder_id", "channel", "reason")
        }
        await sends.add(
            self.dead_letters,
            dead_letter_topic(SERVICE),
            dead_letter_body(json.dumps(body, ensure_ascii=False, default=str).encode()),
            event.complaint_id,
            headers=dead_letter_headers(
                service=SERVICE,
                origin_topic=origin["topic"],
                origin_partition=origin["partition"],
                origin_offset=origin["offset"],
                error=f"delivery {document['_id']} to {document['responder_id']} "
                f"over {document['channel']}: {event.error}",
                attempts=event.attempts,
            ),
        )
