"""What stats' HTTP API answers, as models for its OpenAPI document.

The answers themselves are built as plain dicts by pure functions (``complaint.view``,
``figures.compute``, ``hotspots.listing``) that the snapshots and the CSV share; these
models describe them, and the conformance test (schemathesis) checks the real answers
against them. Nested entries that grow with the lifecycle (timeline entries, the
reporter) allow fields beyond those named."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events import ResponderKind


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssigneeView(_Closed):
    responder_id: str
    kind: ResponderKind


class DueView(_Closed):
    acknowledge_by: str | None = Field(description="ISO 8601, UTC.")
    resolve_by: str | None = Field(description="ISO 8601, UTC.")


class ReporterView(_Open):
    """As this reader may see the reporter: the phone masked; the name left out for a
    hidden reporter, and for a firm or committee reading a complaint about the firm."""

    name: str | None = None
    phone: str | None = None
    hide_identity: bool | None = None


class TimelineEntry(_Open):
    """One step: ``received``, ``routed``, ``acknowledged``, ``escalated``, ... with the
    step's own details (``lead``, ``note``, ``rating``, ``level``, ...)."""

    type: str
    at: str = Field(description="ISO 8601, UTC.")
    actor_id: str | None


class ComplaintView(_Closed):
    complaint_id: str
    status: str | None
    category: str | None
    compound_id: str | None
    community_id: str | None
    lead: AssigneeView | None
    support: list[AssigneeView]
    due: DueView
    escalation_level: int
    duplicate_of: str | None
    possible_duplicate_of: str | None
    duplicate_note: str | None
    hotspots: list[str]
    past_leads: list[str]
    bounces: int
    rating: str | None
    channel: str | None
    description: str | None
    location: str | None
    reporter: ReporterView | None
    timeline: list[TimelineEntry]
    notifications: dict[str, int] = Field(
        description="How many alerts about this complaint were `sent` and how many `failed`."
    )


class ScopeFigures(_Closed):
    """Counts (every name, zeros included), the three rates (null without a
    denominator), the medians in seconds and the volume by category."""

    counts: dict[str, int]
    rates: dict[str, float | None]
    medians_seconds: dict[str, float | None]
    by_category: dict[str, int]


class DayVolume(_Closed):
    received: int
    by_category: dict[str, int]


class Figures(ScopeFigures):
    """``GET /v1/stats``: a period's figures, for the whole city (under the filters)
    and per responder and community."""

    period: str = Field(description="`YYYY-MM` or `YYYY-MM-DD`, the city's calendar.")
    filters: dict[str, str]
    by_status: dict[str, int]
    by_compound: dict[str, int]
    by_community: dict[str, int]
    by_responder: dict[str, int]
    responders: dict[str, ScopeFigures]
    communities: dict[str, ScopeFigures]
    daily: dict[str, DayVolume] | None = Field(
        default=None, description="A month's days (only when `period` is a month)."
    )
    generated_at: str = Field(description="When they were counted (ISO 8601).")


class HotspotScopeView(_Closed):
    kind: Literal["compound", "community"]
    id: str


class HotspotComplaintView(_Closed):
    complaint_id: str
    compound_id: str
    reported_at: str
    place: str | None
    excerpt: str = Field(description="The start of the description, phone numbers masked.")
    duplicate_of: str | None


class HotspotView(_Closed):
    hotspot_id: str
    status: Literal["open", "closed"]
    kind: str
    category: str
    category_name: str | None
    scope: HotspotScopeView
    community_id: str | None
    opened_at: str
    closed_at: str | None
    close_reason: str | None
    threshold: int
    within_seconds: int
    count: int
    alerted: list[str] = Field(description="The responders it alerted.")
    complaint_ids: list[str]
    places: list[str]
    complaints: list[HotspotComplaintView]


class HotspotList(_Closed):
    status: Literal["open", "closed"] | None
    statuses: list[str]
    hotspots: list[HotspotView]
