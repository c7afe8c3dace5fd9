"""Events and directories for notify's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.directory import Directory
from shared.events import (
    Assignee,
    Breach,
    Channel,
    ComplaintEscalated,
    ComplaintReminded,
    ComplaintRouted,
    ComplaintStatus,
    ComplaintSummary,
    ComplaintUpdated,
    DueTimes,
    Reporter,
    ResponderKind,
    UpdateKind,
    Urgency,
)
from shared.ids import stable_id
from shared.sealing import dev_key_ring

CONTACTS = dev_key_ring()
"""The key ring the builders seal with, as intake would (services built in tests get
the same development ring from their settings)."""

PHONE = "13812345678"
MASKED = "138****5678"
ROUTED_AT = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
KINDS = {
    "fire": ResponderKind.FIRE,
    "housing": ResponderKind.HOUSING,
    "pf-dianzhong": ResponderKind.PROPERTY_FIRM,
    "cx-001-committee": ResponderKind.COMMITTEE,
    "cm-xueqiao": ResponderKind.COMMUNITY,
}


def assignee(responder_id: str) -> Assignee:
    return Assignee(responder_id=responder_id, kind=KINDS.get(responder_id, ResponderKind.FIRE))


def summary(
    complaint_id: str = "c-1",
    *,
    category: str = "flying_wire_charging",
    category_name: str = "飛線充電",
    urgency: Urgency = Urgency.URGENT,
    reporter: Reporter | None = None,
) -> ComplaintSummary:
    return ComplaintSummary(
        category=category,
        category_name=category_name,
        urgency=urgency,
        compound_id="cx-001",
        compound_name="學橋小區",
        community_id="cm-xueqiao",
        description="3棟2單元樓道有人飛線充電",
        location="3棟2單元",
        reporter=CONTACTS.sealed_reporter(
            complaint_id,
            reporter
            if reporter is not None
            else Reporter(name="張女士", phone=PHONE, hide_identity=False),
        ),
        channel=Channel.HOTLINE,
    )


def routed(
    complaint_id: str = "c-1",
    *,
    lead: str = "fire",
    support: list[str] | None = None,
    round_: int = 1,
    rerouted: bool = False,
    **summary_options: Any,
) -> ComplaintRouted:
    return ComplaintRouted(
        event_id=stable_id(complaint_id, "routed", round_),
        occurred_at=ROUTED_AT,
        complaint_id=complaint_id,
        summary=summary(complaint_id, **summary_options),
        category_source="given",
        lead=assignee(lead),
        support=[assignee(s) for s in (support if support is not None else ["pf-dianzhong"])],
        due=DueTimes(
            acknowledge_by=ROUTED_AT + timedelta(hours=1),
            resolve_by=ROUTED_AT + timedelta(hours=24),
        ),
        round=round_,
        reason="rerouted" if rerouted else "initial",
    )


def escalated(
    complaint_id: str = "c-1", *, level: int = 1, to: list[str] | None = None
) -> ComplaintEscalated:
    return ComplaintEscalated(
        event_id=stable_id(complaint_id, "escalated", level),
        occurred_at=ROUTED_AT + timedelta(hours=1, minutes=1),
        complaint_id=complaint_id,
        level=level,
        breach=Breach.ACKNOWLEDGE,
        due_at=ROUTED_AT + timedelta(hours=1),
        lead=assignee("pf-dianzhong"),
        escalated_to=[assignee(r) for r in (to or ["housing", "cm-xueqiao"])],
        reason="物業公司超過1小時未簽收",
        summary=summary(complaint_id),
    )


def reminded(complaint_id: str = "c-1") -> ComplaintReminded:
    return ComplaintReminded(
        complaint_id=complaint_id,
        lead=assignee("fire"),
        acknowledge_by=ROUTED_AT + timedelta(hours=1),
        summary=summary(complaint_id),
    )


def reopened(
    complaint_id: str = "c-1", *, type_: UpdateKind = UpdateKind.REOPENED
) -> ComplaintUpdated:
    return ComplaintUpdated(
        complaint_id=complaint_id,
        type=type_,
        actor_id="resident",
        status=ComplaintStatus.ROUTED,
        note="居民不滿意：樓道仍有電線",
        lead=assignee("fire"),
        due=DueTimes(
            acknowledge_by=ROUTED_AT + timedelta(days=3),
            resolve_by=ROUTED_AT + timedelta(days=10),
        ),
        summary=summary(complaint_id),
    )


def responder(
    responder_id: str, kind: str, *, contact_details: bool, channels: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": responder_id,
        "name": f"{responder_id} 單位",
        "kind": kind,
        "contact_details": contact_details,
        "channels": channels,
    }


def directory_data(responders: list[dict[str, Any]]) -> dict[str, Any]:
    """A directory holding ``responders`` plus the desks every directory must have."""
    desks = [
        responder("city-dispatch", "dispatch", contact_details=True, channels=[]),
        responder("city-coordination", "coordination", contact_details=True, channels=[]),
    ]
    known = {r["id"] for r in responders}
    return {
        "city": "測試市",
        "fallback_responder": "city-dispatch",
        "coordination_responder": "city-coordination",
        "responders": responders + [d for d in desks if d["id"] not in known],
        "compounds": [],
    }


def directory(responders: list[dict[str, Any]]) -> Directory:
    return Directory.model_validate(directory_data(responders))
