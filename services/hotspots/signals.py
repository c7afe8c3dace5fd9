"""The hot-spot detector's input: small facts about complaints that a service builds
from routing's events and state, in the order they happened.

Every signal names its complaint's compound, community and category, so a signal is
enough on its own (a reopening may come weeks after the report), and can travel on an
internal topic keyed by ``partition_key``. Each one is JSON: ``signal.model_dump_json()``
and ``parse_signal(data)``.

A signal is told apart from a replay of itself by ``identity``: a complaint is reported
once (a second report of the same id is a replay, whatever it says); it is reopened for
the n-th time once; it is resolved, or unlinked, once at a given time. The detector
applies each identity once. ``ClockTick`` carries no complaint: it only moves time."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StringConstraints,
)

from shared.privacy import scrub_phones

EXCERPT_LENGTH = 60
"""Characters of the description an alert lists for each complaint."""

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
# Alerts go to firms too, which must not see a resident's number: whatever text a
# service puts here leaves with its phone numbers masked.
Place = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(scrub_phones),
]
Excerpt = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=EXCERPT_LENGTH + 1),
    AfterValidator(scrub_phones),
]


def excerpt_of(description: str) -> str:
    """The start of a description as an alert lists it: phones masked (before the cut,
    so no number is left half visible), cut with an ellipsis."""
    text = " ".join(scrub_phones(description).split())
    return text if len(text) <= EXCERPT_LENGTH else text[:EXCERPT_LENGTH] + "…"


class _Signal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    at: AwareDatetime
    """When it happened (event time): the complaint was received, resolved, ..."""


class _ComplaintSignal(_Signal):
    complaint_id: Id
    compound_id: Id
    community_id: Id | None
    """None for a compound the directory does not know (no community scope then)."""
    category: Id

    @property
    def partition_key(self) -> str:
        """Where the signal goes: one detector sees all signals of one community."""
        return self.community_id or f"compound:{self.compound_id}"

    @property
    def identity(self) -> tuple[str, ...]:
        return (self.kind, self.complaint_id, self.at.isoformat())


class ComplaintReported(_ComplaintSignal):
    """A complaint was received and routed, or linked as a duplicate of an open one;
    ``at`` is when it was received."""

    kind: Literal["reported"] = "reported"
    place: Place | None = None
    excerpt: Excerpt = ""
    duplicate_of: Id | None = None

    @property
    def identity(self) -> tuple[str, ...]:
        return (self.kind, self.complaint_id)


class ComplaintResolved(_ComplaintSignal):
    """The lead resolved the complaint (its linked duplicates follow it)."""

    kind: Literal["resolved"] = "resolved"


class ComplaintReopened(_ComplaintSignal):
    """A dissatisfied rating reopened the complaint; ``times`` counts its reopenings
    so far (routing's ``ComplaintState.reopens`` after this one)."""

    kind: Literal["reopened"] = "reopened"
    times: int = Field(ge=1)
    reported_at: AwareDatetime
    place: Place | None = None
    excerpt: Excerpt = ""

    @property
    def identity(self) -> tuple[str, ...]:
        return (self.kind, self.complaint_id, str(self.times))


class ComplaintUnlinked(_ComplaintSignal):
    """A duplicate link was undone: the complaint is its own case from now on."""

    kind: Literal["unlinked"] = "unlinked"


class ClockTick(_Signal):
    """Time passed: the detector closes what is due by ``at``. A service whose timer
    publishes ticks on the input topic (instead of calling ``expire`` itself) makes
    its timer-driven closes part of the replayable history."""

    kind: Literal["tick"] = "tick"
    partition_key: Id


Signal = Annotated[
    ComplaintReported | ComplaintResolved | ComplaintReopened | ComplaintUnlinked | ClockTick,
    Field(discriminator="kind"),
]
ComplaintSignal = ComplaintReported | ComplaintResolved | ComplaintReopened | ComplaintUnlinked


class HotspotSignal(RootModel[Signal]):
    """Any signal, told apart by its ``kind`` (the schema of ``hotspots.signals``)."""


def parse_signal(data: str | bytes) -> Signal:
    """A signal from its JSON; raises pydantic.ValidationError saying what is wrong."""
    return HotspotSignal.model_validate_json(data).root
