"""Event and message schemas: the public contract on Kafka.

Events are past-tense facts, frozen, and refuse unknown fields. Every complaint event
carries ``event_id`` (unique; derived deterministically where a retry may publish it
again), ``occurred_at``, ``schema_version`` and ``complaint_id``. Adding an optional
field is a compatible change; anything else needs a new ``schema_version``.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.privacy import mask_phone

SCHEMA_VERSION = 2
"""2: events carry the reporter masked, with the contact sealed (``SealedReporter``)."""

# Text is stripped before its length and pattern are checked. Each pattern holds for the
# text as sent too, so that the published schemas say what is accepted: some character
# that stripping leaves is what "at least one character once stripped" means for the
# text as sent.
VISIBLE = r"[^\s\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""One character that pydantic's ``strip_whitespace`` leaves. ``\\S`` alone is not that
for every reader of the published schema: schemathesis generated U+0085 (next line) for
it, which pydantic strips, and the request was refused as too short."""
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=VISIBLE)
]
Description = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=2,
        max_length=4000,
        pattern=rf"{VISIBLE}[\s\S]*{VISIBLE}",
    ),
]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\s*\+?[0-9][0-9 \-]{3,18}[0-9\-]\s*$"),
]


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339_only(value: object) -> object:
    """Pydantic would also take a Unix time (a number, or digits in a string) or a
    date alone; the contract says an RFC 3339 date-time, so that is what is taken."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise PydanticCustomError(
            "datetime_format",
            "Input should be an RFC 3339 date-time with its offset, e.g. 2026-11-28T08:00:00+08:00",
        )
    return value


DateTimeText = Annotated[AwareDatetime, BeforeValidator(_rfc3339_only)]
"""A date-time sent by an outside system: RFC 3339 text with an offset."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_event_id() -> str:
    return str(uuid.uuid4())


class Message(BaseModel):
    """Base of every schema: immutable, and strict about what it accepts."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Channel(StrEnum):
    HOTLINE = "hotline"
    WEB = "web"
    WECHAT = "wechat"
    GRID_WORKER = "grid_worker"
    WALK_IN = "walk_in"
    APP = "app"


class ResponderKind(StrEnum):
    PROPERTY_FIRM = "property_firm"
    COMMITTEE = "committee"
    COMMUNITY = "community"
    COMMUNITY_PARTY = "community_party"
    HOUSING = "housing"
    PLANNING = "planning"
    URBAN_MANAGEMENT = "urban_management"
    FIRE = "fire"
    PROPERTY_PARTY_COMMITTEE = "property_party_committee"
    COORDINATION = "coordination"
    DISPATCH = "dispatch"


class Urgency(StrEnum):
    URGENT = "urgent"
    NORMAL = "normal"
    COMPLEX = "complex"


class Rating(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"


class Reporter(Message):
    """The reporter as an outside system sends it, in clear. Only intake reads it: events
    carry a ``SealedReporter`` instead; the same fields are what a sealed contact holds."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    phone: Phone | None = None
    hide_identity: StrictBool = False


class SealedContact(Message):
    """The reporter's name and full phone, AES-GCM sealed by intake (``shared.sealing``).

    ``sealed`` is URL-safe base64 of the nonce and the ciphertext; the key id and the
    complaint id are bound in as associated data, so a blob opens only under its own key
    and only as the contact of its own complaint."""

    key_id: str
    sealed: str


class SealedReporter(Message):
    """The reporter as every event carries it: the phone masked, the name only when the
    reporter did not ask to stay hidden, and the whole contact sealed for the parties the
    privacy policy lets open it (notify for agencies, the callback desk)."""

    name: str | None = None
    masked_phone: str | None = None
    hide_identity: bool = False
    contact: SealedContact | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_schema_1(cls, data: object) -> object:
        """A schema-1 event (still on a topic after an upgrade) carried the reporter in
        clear: read it masked, as if sealed with a key no one has."""
        if isinstance(data, dict) and "phone" in data and "masked_phone" not in data:
            hidden = bool(data.get("hide_identity"))
            phone = data.get("phone")
            return {
                "name": None if hidden else data.get("name"),
                "masked_phone": mask_phone(phone) if isinstance(phone, str) else None,
                "hide_identity": hidden,
            }
        return data


class ComplaintSubmission(Message):
    """A new complaint as an outside system sends it (HTTP body or ``ingress.complaints``)."""

    source: ShortText
    source_ref: ShortText
    channel: Channel
    compound_id: ShortText
    category: ShortText | None = None
    description: Description
    location: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    reporter: Reporter | None = None
    occurred_at: DateTimeText | None = None


class UpdateType(StrEnum):
    """Lifecycle changes a responder or resident may ask for."""

    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    RETURNED = "returned"
    RATED = "rated"
    UNLINKED = "unlinked"
    """Undo a duplicate link (the dispatch or coordination desk, or the compound's
    community): the complaint is then routed on its own."""


class ComplaintUpdateRequest(Message):
    """A lifecycle update as a responder's or resident's system sends it."""

    type: UpdateType
    actor_id: ShortText
    note: Note | None = None
    rating: Rating | None = None


class IngressUpdate(ComplaintUpdateRequest):
    """An update on ``ingress.updates``: the request plus the complaint it is about.

    ``request_id`` is set by intake for updates posted over HTTP: it makes a retried
    request a no-op and names routing's answer on ``routing.replies``."""

    complaint_id: ShortText
    request_id: ShortText | None = None
    via: ShortText | None = None
    """Who sent it, for the audit: ``key:<API key name>`` (set by intake for HTTP) or
    ``kafka:<principal>`` (set by routing from the topic it came on). Only intake and
    routing may write ``ingress.updates``, so what it says there is theirs."""


class Event(Message):
    """The envelope every complaint event has."""

    schema_version: int = SCHEMA_VERSION
    event_id: str = Field(default_factory=new_event_id)
    occurred_at: AwareDatetime = Field(default_factory=utc_now)
    complaint_id: str


class ComplaintReceived(Event):
    """Intake accepted a complaint; it now has an id."""

    source: str
    source_ref: str
    channel: Channel
    compound_id: str
    category: str | None = None
    description: str
    location: str | None = None
    reporter: SealedReporter | None = None
    incident_at: AwareDatetime | None = None
    ingress: Literal["http", "kafka"]


class RejectionReason(Message):
    field: str
    message: str


class ComplaintRejected(Event):
    """A message was refused; the reasons let the sender see why.

    ``complaint_id`` is empty when the message never named a complaint."""

    complaint_id: str = ""
    kind: Literal["submission", "update"]
    source: str | None = None
    source_ref: str | None = None
    actor_id: str | None = None
    reasons: list[RejectionReason]
    origin_topic: str | None = None
    origin_partition: int | None = None
    origin_offset: int | None = None
    excerpt: str = ""


class Assignee(Message):
    responder_id: str
    kind: ResponderKind


class DueTimes(Message):
    acknowledge_by: AwareDatetime
    resolve_by: AwareDatetime


class ComplaintSummary(Message):
    """What a responder needs to act, carried along so consumers need no lookup."""

    category: str
    category_name: str
    urgency: Urgency
    compound_id: str
    compound_name: str | None = None
    community_id: str | None = None
    description: str
    location: str | None = None
    reporter: SealedReporter | None = None
    channel: Channel


class ComplaintRouted(Event):
    """Routing assigned a lead (and supports) with due times."""

    summary: ComplaintSummary
    category_source: Literal["given", "classified", "default"]
    matched_keyword: str | None = None
    lead: Assignee
    support: list[Assignee] = []
    due: DueTimes
    unknown_compound: bool = False
    round: int = 1
    reason: Literal["initial", "rerouted"] = "initial"
    previous_lead: str | None = None
    possible_duplicate_of: str | None = None
    """An open complaint this one may repeat, when the duplicate check was not sure
    enough to link them: the responder sees it and decides."""
    duplicate_note: str | None = None
    """Why the check thought so (place and wording)."""


class ComplaintStatus(StrEnum):
    RECEIVED = "received"
    ROUTED = "routed"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    DUPLICATE = "duplicate"


class UpdateKind(StrEnum):
    """Accepted lifecycle changes, as published on ``complaints.updated``."""

    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    RETURNED = "returned"
    RATED = "rated"
    REOPENED = "reopened"
    DUPLICATE_LINKED = "duplicate_linked"
    UNLINKED = "unlinked"
    HOTSPOT = "hotspot"
    """The complaint is in an open hot spot: its acknowledge due time is brought forward."""


class ComplaintUpdated(Event):
    """An accepted lifecycle change."""

    type: UpdateKind
    actor_id: str
    status: ComplaintStatus
    note: str | None = None
    rating: Rating | None = None
    on_time: bool | None = None
    duplicate_of: str | None = None
    lead: Assignee | None = None
    due: DueTimes | None = None
    hotspot_id: str | None = None
    summary: ComplaintSummary | None = None
    via: str | None = None
    """The door a responder's or resident's update came through (``key:<API key name>``
    or ``kafka:<principal>``), so a misuse can be traced; None for routing's own steps."""


class UpdateReply(Message):
    """Routing's answer to an update intake forwarded (internal topic ``routing.replies``,
    key = request id): what the HTTP caller is told."""

    request_id: str
    complaint_id: str
    outcome: Literal["applied", "refused", "unknown"]
    status: ComplaintStatus | None = None
    lead: str | None = None
    code: str | None = None
    field: str | None = None
    reason: str | None = None


class ScopeChanged(Message):
    """A snapshot scope whose figures changed (internal topic ``stats.changed``, key =
    scope): it tells the one stats instance that publishes the scope to do so."""

    scope: str


class RoutingCommand(Message):
    """What one routing owner asks of another about a complaint it does not own
    (internal topic ``routing.commands``, key = the complaint acted on):

    - ``attach``: ``duplicate_id`` was linked to ``complaint_id``; remember it;
    - ``follow``: ``complaint_id`` was linked to ``original_id``, which is resolved; the
      duplicate is resolved with it (its resident is then asked for a rating);
    - ``hotspot``: ``complaint_id`` is in the open hot spot ``hotspot_id``; its lead's
      acknowledge window is shortened by ``factor``."""

    command_id: str
    kind: Literal["attach", "follow", "hotspot"]
    complaint_id: str
    duplicate_id: str | None = None
    original_id: str | None = None
    hotspot_id: str | None = None
    factor: float | None = None
    at: AwareDatetime
    note: str | None = None


class Breach(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


class ComplaintEscalated(Event):
    """A due time passed; who is now alerted and why."""

    level: int = Field(ge=1)
    breach: Breach
    due_at: AwareDatetime
    lead: Assignee
    escalated_to: list[Assignee]
    reason: str
    summary: ComplaintSummary


class ComplaintReminded(Event):
    """Most of the acknowledge window passed in silence: remind the lead."""

    lead: Assignee
    acknowledge_by: AwareDatetime
    summary: ComplaintSummary


class NotificationReason(StrEnum):
    ROUTED = "routed"
    REROUTED = "rerouted"
    ESCALATED = "escalated"
    REOPENED = "reopened"
    REMINDER = "reminder"
    HOTSPOT = "hotspot"
    """A hot spot opened (``complaint_id`` of the outcome is then the hot-spot id)."""


class NotificationOutcome(Event):
    """Base of what notify did for one (complaint, responder, reason, channel)."""

    delivery_id: str
    responder_id: str
    channel: str
    reason: NotificationReason
    trigger_event_id: str
    attempts: int = Field(ge=1)
    hotspot_id: str | None = None
    """Set for a hot-spot alert, whose ``complaint_id`` is the hot-spot id too (its key)."""


class NotificationSent(NotificationOutcome):
    """The responder's channel accepted the alert."""


class NotificationFailed(NotificationOutcome):
    """The alert could not be delivered; ``error`` says why."""

    error: str
    permanent: bool


class StatsSnapshot(Message):
    """The latest figures of one scope (``stats.snapshots``; key = scope)."""

    schema_version: int = SCHEMA_VERSION
    scope: str
    period: str
    generated_at: AwareDatetime = Field(default_factory=utc_now)
    counts: dict[str, int]
    rates: dict[str, float | None]
    medians_seconds: dict[str, float | None] = {}
    by_category: dict[str, int] = {}


class HotspotKind(StrEnum):
    CLUSTER = "cluster"
    """Several complaints of one category in one compound or community within a short window."""
    RECURRING = "recurring"
    """The same problem coming back in one compound (督辦 by the coordination desk)."""


class HotspotScopeKind(StrEnum):
    COMPOUND = "compound"
    COMMUNITY = "community"


class HotspotTrigger(StrEnum):
    """What opened a hot spot."""

    COUNT = "count"
    """Enough complaints within the window."""
    REOPENED = "reopened"
    """One complaint reopened again and again."""


class HotspotCloseReason(StrEnum):
    SUBSIDED = "subsided"
    """Its window count fell below the threshold."""
    RESOLVED = "resolved"
    """Every complaint in it was resolved."""


class HotspotScope(Message):
    kind: HotspotScopeKind
    id: str


class HotspotComplaint(Message):
    """One complaint of a hot spot, with what an alert lists about it."""

    complaint_id: str
    compound_id: str
    reported_at: AwareDatetime
    place: str | None = None
    excerpt: str = ""
    """The start of the description, phone numbers masked."""
    duplicate_of: str | None = None


class HotspotEvent(Message):
    """The envelope and body of the hot-spot events (key = ``hotspot_id``).

    ``window_start``/``window_end`` span the complaints' report times; ``threshold`` and
    ``within`` are the rule that opened it (for a reopened complaint: how many reopenings)."""

    schema_version: int = SCHEMA_VERSION
    event_id: str = Field(default_factory=new_event_id)
    occurred_at: AwareDatetime = Field(default_factory=utc_now)
    hotspot_id: str
    scope: HotspotScope
    community_id: str | None = None
    category: str
    category_name: str | None = None
    kind: HotspotKind
    trigger: HotspotTrigger
    threshold: int
    within: timedelta
    opened_at: AwareDatetime
    window_start: AwareDatetime
    window_end: AwareDatetime
    count: int = Field(ge=1)
    complaint_ids: list[str]
    places: list[str] = []
    complaints: list[HotspotComplaint]
    alerted: list[Assignee]


class HotspotDetected(HotspotEvent):
    """A hot spot opened: exactly one per hot spot; ``occurred_at`` is when it opened."""


class HotspotClosed(HotspotEvent):
    """A hot spot closed, with every complaint that joined it; ``occurred_at`` is when."""

    reason: HotspotCloseReason
