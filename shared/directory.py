"""The directory: compounds and the responders who act on their complaints.

It is data (a YAML file whose path comes from configuration); this module only
describes its shape, checks that it hangs together, and answers look-ups.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.datafile import load_model
from shared.events import ResponderKind

COMPOUND_COMMUNITY = "@community"
"""In ``escalates_to``/``returns_to``: the community of the complaint's compound."""


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WebhookChannel(_Entry):
    type: Literal["webhook"]
    url: str
    secret_env: str | None = None
    """Name of the environment variable holding the HMAC secret (never the secret)."""


class WeComChannel(_Entry):
    type: Literal["wecom"]
    key: str


class DingTalkChannel(_Entry):
    type: Literal["dingtalk"]
    access_token: str
    secret_env: str | None = None


class EmailChannel(_Entry):
    type: Literal["email"]
    to: list[str] = Field(min_length=1)


class SmsChannel(_Entry):
    type: Literal["sms"]
    phones: list[str] = Field(min_length=1)


NotificationChannel = Annotated[
    WebhookChannel | WeComChannel | DingTalkChannel | EmailChannel | SmsChannel,
    Field(discriminator="type"),
]


class Responder(_Entry):
    id: str
    name: str
    kind: ResponderKind
    contact_details: bool = False
    """May see the reporter's name and full phone (agencies); firms and committees may not."""
    escalates_to: list[str] = []
    returns_to: list[str] = []
    channels: list[NotificationChannel] = []


class CommitteeKind(StrEnum):
    OWNERS_COMMITTEE = "owners_committee"
    PROPERTY_MANAGEMENT_COMMITTEE = "property_management_committee"


class Compound(_Entry):
    id: str
    name: str
    community: str
    grid: str | None = None
    property_firm: str | None = None
    committee: str | None = None
    committee_kind: CommitteeKind | None = None

    @model_validator(mode="after")
    def _committee_kind_goes_with_committee(self) -> Compound:
        if (self.committee is None) != (self.committee_kind is None):
            raise ValueError("committee and committee_kind must be given together")
        return self


class Directory(_Entry):
    city: str
    fallback_responder: str
    coordination_responder: str
    responders: list[Responder]
    compounds: list[Compound]

    @cached_property
    def responders_by_id(self) -> dict[str, Responder]:
        return {r.id: r for r in self.responders}

    @cached_property
    def compounds_by_id(self) -> dict[str, Compound]:
        return {c.id: c for c in self.compounds}

    def responder(self, responder_id: str) -> Responder:
        return self.responders_by_id[responder_id]

    def compound(self, compound_id: str) -> Compound | None:
        return self.compounds_by_id.get(compound_id)

    def agency(self, kind: ResponderKind) -> Responder | None:
        """The city-wide responder of ``kind`` (the first one listed)."""
        return next((r for r in self.responders if r.kind == kind), None)

    @model_validator(mode="after")
    def _references_resolve(self) -> Directory:
        ids = [r.id for r in self.responders]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"responder ids listed twice: {', '.join(duplicates)}")
        known = set(ids)
        for name in ("fallback_responder", "coordination_responder"):
            if getattr(self, name) not in known:
                raise ValueError(f"{name}: unknown responder {getattr(self, name)!r}")
        for index, responder in enumerate(self.responders):
            for field in ("escalates_to", "returns_to"):
                for target in getattr(responder, field):
                    if target != COMPOUND_COMMUNITY and target not in known:
                        raise ValueError(
                            f"responders[{index}] (id={responder.id}).{field}: "
                            f"unknown responder {target!r}"
                        )
        for index, compound in enumerate(self.compounds):
            for field in ("community", "property_firm", "committee"):
                target = getattr(compound, field)
                if target is not None and target not in known:
                    raise ValueError(
                        f"compounds[{index}] (id={compound.id}).{field}: "
                        f"unknown responder {target!r}"
                    )
        return self


def load_directory(path: str | Path) -> Directory:
    """Load and validate the directory file; a broken file raises DataFileError."""
    return load_model(path, Directory)


def default_directory_path() -> Path:
    """The demo directory that ships with the project."""
    return Path(__file__).resolve().parent / "data" / "directory.yaml"
