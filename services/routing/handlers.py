"""Routing's handlers: a consumed batch of received complaints and updates, a pass of due
timers, the view of open complaints, and pruning. Each takes ``RoutingDeps``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from pydantic import ValidationError

from services.routing.decide import Arrived, Commanded, Input, Malformed, Requested
from services.routing.owner import SERVICE, Owner
from shared.consuming import Origin, PermanentError, Record, Refusal, decode_each
from shared.events import (
    ComplaintReceived,
    ComplaintRouted,
    ComplaintUpdated,
    IngressUpdate,
    RejectionReason,
    RoutingCommand,
)
from shared.ids import stable_id
from shared.mongo import now_ms
from shared.ownership import partition_of
from shared.publishing import Publisher, Sends
from shared.topics import INGRESS_UPDATES


@dataclass(frozen=True)
class Topics:
    """The full names (with any prefix) of the topics routing reads."""

    received: str
    updates: str
    commands: str
    routed: str
    updated: str
    responders: Mapping[str, str] = field(default_factory=dict)
    """Full name of each responder system's update topic -> that responder's id."""


@dataclass
class RoutingDeps:
    owner: Owner
    topics: Topics
    forward: Publisher
    """``ingress.updates``, for an update keyed so that it landed on another partition
    than its complaint's."""
    partitions: int
    """Of ``ingress.updates`` (read from the broker at start)."""


FORWARDED_FROM = "x-forwarded-from"
"""On an update sent on to its complaint's partition: the record it was first sent as
(``topic/partition/offset``, key in ``x-forwarded-key``), so the answer and the update's
idempotency key name what its sender sent."""
FORWARDED_KEY = "x-forwarded-key"


def decode(record: Record, topics: Topics) -> Input:
    body = record.value or b""
    origin = _first_origin(record)
    if record.topic == topics.received:
        return Arrived(ComplaintReceived.model_validate_json(body), origin)
    if record.topic == topics.commands:
        return Commanded(RoutingCommand.model_validate_json(body), origin)
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PermanentError(f"not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise PermanentError("not a JSON object")
    try:
        update = IngressUpdate.model_validate(parsed)
    except ValidationError as exc:
        return Malformed(parsed, _reasons(exc), origin)
    responder = topics.responders.get(origin.topic)
    if responder is not None:
        # ACLs let only this responder's principal write its topic; the actor named
        # inside must be that responder too, or a firm could post as the fire brigade.
        if update.actor_id != responder:
            return Malformed(parsed, [_not_as_itself(origin.topic, responder)], origin)
        update = update.model_copy(update={"via": f"kafka:{responder}"})
    elif update.via is None:
        update = update.model_copy(update={"via": f"topic:{origin.topic}"})
    key = update.request_id or stable_id("ingress", origin.topic, origin.partition, origin.offset)
    return Requested(update, key, _sent_at(record), origin)


def _not_as_itself(topic: str, responder: str) -> RejectionReason:
    return RejectionReason(
        field="actor_id",
        message=f"{topic} takes updates by {responder} only: a responder's system posts as itself",
    )


def _first_origin(record: Record) -> Origin:
    headers = dict(getattr(record, "headers", None) or ())
    forwarded = headers.get(FORWARDED_FROM)
    if forwarded is None:
        return Origin.of(record)
    topic, partition, offset = forwarded.decode().rsplit("/", 2)
    key = headers.get(FORWARDED_KEY)
    return Origin(topic, int(partition), int(offset), key or None)


async def route_batch(records: Sequence[Record], deps: RoutingDeps) -> list[Refusal]:
    decoded, refused = decode_each(records, lambda record: decode(record, deps.topics))
    inputs: list[tuple[int, Input]] = []
    forwards = Sends(SERVICE)
    for origin, item in decoded:
        if isinstance(item, Requested):
            home = partition_of(item.update.complaint_id, deps.partitions)
            if home != origin.partition:
                # Keyed by something else than its complaint: only the owner of the
                # complaint's partition may apply it.
                first = item.origin
                await forwards.add(
                    deps.forward,
                    INGRESS_UPDATES,
                    item.update.model_dump_json(exclude_none=True).encode(),
                    item.update.complaint_id,
                    headers={
                        FORWARDED_FROM: f"{first.topic}/{first.partition}/{first.offset}",
                        FORWARDED_KEY: (first.key or b"").decode(errors="replace"),
                    },
                )
                continue
        inputs.append((origin.partition, item))
    async with deps.owner.lock:
        await deps.owner.apply([(p, i) for p, i in inputs if p in deps.owner.held])
    await forwards.wait()
    return refused


async def fire_timers(deps: RoutingDeps) -> datetime | None:
    """Apply every due step of the owner's complaints; when the next one is due."""
    owner = deps.owner
    async with owner.lock:
        due = owner.due_inputs(now_ms())
        if due:
            await owner.apply(due)
            owner.reschedule_unchanged(due)
        return owner.next_timer()


async def observe_complaints(records: Sequence[Record], deps: RoutingDeps) -> None:
    """Feed the view of open complaints from every partition's routed and updated events."""
    events: list[ComplaintRouted | ComplaintUpdated] = []
    for record in records:
        try:
            if record.topic == deps.topics.routed:
                events.append(ComplaintRouted.model_validate_json(record.value or b""))
            elif record.topic == deps.topics.updated:
                events.append(ComplaintUpdated.model_validate_json(record.value or b""))
        except ValidationError:
            continue  # not ours to judge: the consumers of those topics park it
    deps.owner.index.observe(events)


async def prune(deps: RoutingDeps) -> int:
    ids = deps.owner.prunable()
    if ids:
        await deps.owner.store.delete_versions(ids)
    return len(ids)


def _sent_at(record: Record) -> datetime:
    """When the update was sent: the record's timestamp, fixed for every redelivery."""
    stamp = getattr(record, "timestamp", None)
    if isinstance(stamp, int) and stamp > 0:
        return datetime.fromtimestamp(stamp / 1000, UTC)
    return now_ms()


def _reasons(exc: ValidationError) -> list[RejectionReason]:
    return [
        RejectionReason(field=".".join(str(p) for p in err["loc"]) or "<body>", message=err["msg"])
        for err in exc.errors()
    ]
