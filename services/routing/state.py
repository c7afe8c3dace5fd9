"""What routing remembers about one complaint, and the events a change must publish.

A change to a complaint and the events it causes are one value: ``outbox`` holds the
events of the change that made this version, and is stored with the version, so a
crash between the write and the publish loses nothing (the next owner publishes the
events of versions whose batch never finished)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_origin

from pydantic import BaseModel, ConfigDict

from shared.events import (
    Assignee,
    ComplaintStatus,
    ComplaintSummary,
    DueTimes,
    Event,
    Rating,
    RoutingCommand,
)
from shared.topics import ROUTING_COMMANDS

OPEN_STATUSES = (ComplaintStatus.ROUTED, ComplaintStatus.ACKNOWLEDGED, ComplaintStatus.IN_PROGRESS)
"""Someone still has to act."""

APPLIED_UPDATES_KEPT = 50


class OutboxEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str
    topic: str
    """The logical topic name (``shared.topics``); the prefix is added when publishing."""
    payload: str
    created_at: datetime
    key: str | None = None
    """The Kafka key when it is not the complaint's own id (a command to another owner)."""


class TimelineEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    at: datetime
    actor_id: str


class ComplaintState(BaseModel):
    """One complaint as routing follows it. Domain functions return changed copies."""

    model_config = ConfigDict(extra="ignore", validate_assignment=False)

    complaint_id: str
    version: int = 0
    status: ComplaintStatus
    summary: ComplaintSummary
    received_at: datetime
    category_source: Literal["given", "classified", "default"]
    matched_keyword: str | None = None
    unknown_compound: bool = False
    lead: Assignee | None = None
    support: list[Assignee] = []
    round: int = 1
    routed_at: datetime | None = None
    due: DueTimes | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    past_leads: list[str] = []
    bounces: int = 0
    reopens: int = 0
    escalation_level: int = 0
    reminded: bool = False
    resolve_escalated: bool = False
    overdue: bool = False
    duplicate_of: str | None = None
    possible_duplicate_of: str | None = None
    duplicate_note: str | None = None
    duplicates: list[str] = []
    hotspots: list[str] = []
    """Open hot spots the complaint is in (its acknowledge window was shortened)."""
    """Complaints linked to this one: they are resolved when it is."""
    rating: Rating | None = None
    next_check_at: datetime | None = None
    applied_updates: list[str] = []
    timeline: list[TimelineEntry] = []
    outbox: list[OutboxEntry] = []

    def copy_for_change(self) -> ComplaintState:
        """A copy that changes nothing of this one when it is changed. Every nested
        model is frozen, so only the lists can change in place: copying them is as good
        as a deep copy, which walked every frozen value (9 % of routing's CPU, py-spy)."""
        return self.model_copy(update={name: list(getattr(self, name)) for name in _LISTS})

    def next_version(self) -> ComplaintState:
        """A copy to change within one batch: the next version, no events yet."""
        changed = self.copy_for_change()
        changed.version += 1
        changed.outbox = []
        return changed

    def emit(self, topic: str, event: Event, now: datetime) -> None:
        """Queue ``event`` for publishing with this change."""
        self.outbox.append(
            OutboxEntry(
                event_id=event.event_id,
                topic=topic,
                payload=event.model_dump_json(),
                created_at=now,
            )
        )

    def ask(self, command: RoutingCommand, now: datetime) -> None:
        """Queue a command to the owner of another complaint with this change."""
        self.outbox.append(
            OutboxEntry(
                event_id=command.command_id,
                topic=ROUTING_COMMANDS,
                payload=command.model_dump_json(),
                created_at=now,
                key=command.complaint_id,
            )
        )

    def note(self, kind: str, at: datetime, actor_id: str) -> None:
        self.timeline.append(TimelineEntry(type=kind, at=at, actor_id=actor_id))

    def remember_update(self, key: str) -> None:
        self.applied_updates = [*self.applied_updates, key][-APPLIED_UPDATES_KEPT:]

    def is_assigned(self, responder_id: str) -> bool:
        return (self.lead is not None and self.lead.responder_id == responder_id) or any(
            s.responder_id == responder_id for s in self.support
        )


_LISTS = tuple(
    name
    for name, field in ComplaintState.model_fields.items()
    if get_origin(field.annotation) is list
)
"""ComplaintState's fields that can change in place (see ``copy_for_change``)."""
