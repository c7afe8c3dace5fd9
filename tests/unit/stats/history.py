"""A scripted October 2026 history and the figures it must give (worked out by hand).

Six complaints in the city's time (UTC+8):
- A parking, firm: acknowledged on time (1 h), resolved (24 h), rated satisfied.
- B sanitation, firm: acknowledge escalated, acknowledged late (26 h), resolved (72 h),
  rated basically satisfied.
- C cable charging, fire: acknowledged on time (30 min), resolved, rated dissatisfied,
  reopened, resolved again (34 h after routing); not rated again.
- D facility repair: returned by the firm, re-routed to the community, acknowledged on
  time there (2 h); never resolved, so resolve overdue.
- E neighbour dispute, community: reminded, escalated twice, never acknowledged.
- F sanitation: linked as a duplicate of B, never routed.
Plus three deliveries (one failed then sent, one failed for good) and one rejection."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.events import (
    Assignee,
    Breach,
    Channel,
    ComplaintEscalated,
    ComplaintReceived,
    ComplaintRejected,
    ComplaintReminded,
    ComplaintRouted,
    ComplaintStatus,
    ComplaintSummary,
    ComplaintUpdated,
    DueTimes,
    Event,
    NotificationFailed,
    NotificationReason,
    NotificationSent,
    Rating,
    RejectionReason,
    Reporter,
    ResponderKind,
    UpdateKind,
    Urgency,
)
from shared.sealing import dev_key_ring
from shared.topics import (
    COMPLAINTS_ESCALATED,
    COMPLAINTS_RECEIVED,
    COMPLAINTS_REJECTED,
    COMPLAINTS_REMINDED,
    COMPLAINTS_ROUTED,
    COMPLAINTS_UPDATED,
    NOTIFICATIONS_FAILED,
    NOTIFICATIONS_SENT,
)

CST = timezone(timedelta(hours=8))
PHONE = "13812345678"
MASKED = "138****5678"
FIRM = Assignee(responder_id="pf-dianzhong", kind=ResponderKind.PROPERTY_FIRM)
FIRE = Assignee(responder_id="fire", kind=ResponderKind.FIRE)
COMMUNITY = Assignee(responder_id="cm-xueqiao", kind=ResponderKind.COMMUNITY)
HOUSING = Assignee(responder_id="housing", kind=ResponderKind.HOUSING)
COORDINATION = Assignee(responder_id="city-coordination", kind=ResponderKind.COORDINATION)


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=CST)


class Script:
    """Builds events and remembers the topic each one goes to."""

    def __init__(self, prefix: str = "c-oct") -> None:
        self.prefix = prefix
        self.events: list[tuple[str, Event]] = []
        self.summaries: dict[str, ComplaintSummary] = {}

    def cid(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def received(
        self,
        name: str,
        when: datetime,
        category: str,
        compound: str,
        reporter: Reporter | None = None,
    ) -> None:
        self.events.append(
            (
                COMPLAINTS_RECEIVED,
                ComplaintReceived(
                    complaint_id=self.cid(name),
                    occurred_at=when,
                    source="hotline-12345",
                    source_ref=f"HL-{name}",
                    channel=Channel.HOTLINE,
                    compound_id=compound,
                    category=category,
                    description=f"complaint {name}: call me on {PHONE}",
                    reporter=None
                    if reporter is None
                    else dev_key_ring().sealed_reporter(self.cid(name), reporter),
                    ingress="http",
                ),
            )
        )
        self.summaries[name] = ComplaintSummary(
            category=category,
            category_name=category,
            urgency=Urgency.URGENT if category == "flying_wire_charging" else Urgency.NORMAL,
            compound_id=compound,
            community_id="cm-xueqiao",
            description=f"complaint {name}",
            channel=Channel.HOTLINE,
        )

    def routed(
        self,
        name: str,
        when: datetime,
        lead: Assignee,
        ack: timedelta,
        resolve: timedelta,
        *,
        support: tuple[Assignee, ...] = (),
        previous: str | None = None,
    ) -> None:
        self.events.append(
            (
                COMPLAINTS_ROUTED,
                ComplaintRouted(
                    complaint_id=self.cid(name),
                    occurred_at=when,
                    summary=self.summaries[name],
                    category_source="given",
                    lead=lead,
                    support=list(support),
                    due=DueTimes(acknowledge_by=when + ack, resolve_by=when + resolve),
                    round=2 if previous else 1,
                    reason="rerouted" if previous else "initial",
                    previous_lead=previous,
                ),
            )
        )

    def updated(
        self,
        name: str,
        when: datetime,
        kind: UpdateKind,
        actor: str,
        status: ComplaintStatus,
        **extra: object,
    ) -> None:
        self.events.append(
            (
                COMPLAINTS_UPDATED,
                ComplaintUpdated.model_validate(
                    {
                        "complaint_id": self.cid(name),
                        "occurred_at": when,
                        "type": kind,
                        "actor_id": actor,
                        "status": status,
                        **extra,
                    }
                ),
            )
        )

    def escalated(
        self, name: str, when: datetime, level: int, breach: Breach, lead: Assignee
    ) -> None:
        self.events.append(
            (
                COMPLAINTS_ESCALATED,
                ComplaintEscalated(
                    complaint_id=self.cid(name),
                    occurred_at=when,
                    level=level,
                    breach=breach,
                    due_at=when,
                    lead=lead,
                    escalated_to=[HOUSING] if level == 1 else [COORDINATION],
                    reason=f"{breach} due time passed",
                    summary=self.summaries[name],
                ),
            )
        )


def october() -> Script:
    s = Script()
    day, week = timedelta(hours=24), timedelta(days=7)
    ack, res = UpdateKind.ACKNOWLEDGED, UpdateKind.RESOLVED
    st = ComplaintStatus

    s.received(
        "a",
        at(5, 9),
        "parking_disorder",
        "cx-001",
        Reporter(name="張女士", phone=PHONE, hide_identity=True),
    )
    s.routed("a", at(5, 9, 0, 1), FIRM, day, week)
    s.updated("a", at(5, 10, 0, 1), ack, "pf-dianzhong", st.ACKNOWLEDGED, on_time=True)
    s.updated("a", at(6, 9, 0, 1), res, "pf-dianzhong", st.RESOLVED, note=f"done, ring {PHONE}")
    s.updated("a", at(7, 9), UpdateKind.RATED, "resident", st.CLOSED, rating=Rating.SATISFIED)

    s.received("b", at(5, 11), "sanitation", "cx-001", Reporter(name="李先生", phone=PHONE))
    s.routed("b", at(5, 11, 0, 1), FIRM, day, week)
    s.escalated("b", at(6, 11, 0, 2), 1, Breach.ACKNOWLEDGE, FIRM)
    s.updated("b", at(6, 13, 0, 1), ack, "pf-dianzhong", st.ACKNOWLEDGED, on_time=False)
    s.updated("b", at(8, 11, 0, 1), res, "pf-dianzhong", st.RESOLVED)
    s.updated(
        "b", at(9, 9), UpdateKind.RATED, "resident", st.CLOSED, rating=Rating.BASICALLY_SATISFIED
    )

    s.received("c", at(6, 8), "flying_wire_charging", "cx-001")
    s.routed("c", at(6, 8, 0, 1), FIRE, timedelta(hours=1), day, support=(FIRM, COMMUNITY))
    s.updated("c", at(6, 8, 30, 1), ack, "fire", st.ACKNOWLEDGED, on_time=True)
    s.updated("c", at(6, 20, 0, 1), res, "fire", st.RESOLVED)
    s.updated("c", at(7, 9), UpdateKind.RATED, "resident", st.CLOSED, rating=Rating.DISSATISFIED)
    s.updated(
        "c",
        at(7, 9, 0, 1),
        UpdateKind.REOPENED,
        "routing",
        st.IN_PROGRESS,
        lead=FIRE,
        due=DueTimes(acknowledge_by=at(6, 9, 0, 1), resolve_by=at(8, 9, 0, 1)),
    )
    s.updated("c", at(7, 18, 0, 1), res, "fire", st.RESOLVED)

    s.received("d", at(10, 9), "facility_repair", "cx-001")
    s.routed("d", at(10, 9, 0, 1), FIRM, day, week)
    s.updated(
        "d",
        at(10, 10),
        UpdateKind.RETURNED,
        "pf-dianzhong",
        st.RECEIVED,
        note="lift belongs to the city",
    )
    s.routed("d", at(10, 10, 0, 5), COMMUNITY, day, week, previous="pf-dianzhong")
    s.updated("d", at(10, 12, 0, 5), ack, "cm-xueqiao", st.ACKNOWLEDGED, on_time=True)

    s.received("e", at(12, 9), "neighbour_dispute", "cx-002")
    s.routed("e", at(12, 9, 0, 1), COMMUNITY, day, week)
    s.events.append(
        (
            COMPLAINTS_REMINDED,
            ComplaintReminded(
                complaint_id=s.cid("e"),
                occurred_at=at(13, 6),
                lead=COMMUNITY,
                acknowledge_by=at(13, 9, 0, 1),
                summary=s.summaries["e"],
            ),
        )
    )
    s.escalated("e", at(13, 9, 0, 2), 1, Breach.ACKNOWLEDGE, COMMUNITY)
    s.escalated("e", at(14, 9, 0, 2), 2, Breach.ACKNOWLEDGE, COMMUNITY)

    s.received("f", at(5, 12), "sanitation", "cx-001")
    s.updated(
        "f",
        at(5, 12, 0, 1),
        UpdateKind.DUPLICATE_LINKED,
        "routing",
        st.DUPLICATE,
        duplicate_of=s.cid("b"),
    )

    def outcome(
        cls: type[NotificationSent] | type[NotificationFailed],
        delivery: str,
        name: str,
        who: str,
        when: datetime,
        **extra: object,
    ) -> None:
        topic = NOTIFICATIONS_SENT if cls is NotificationSent else NOTIFICATIONS_FAILED
        s.events.append(
            (
                topic,
                cls.model_validate(
                    {
                        "complaint_id": s.cid(name),
                        "occurred_at": when,
                        "delivery_id": f"{s.prefix}-{delivery}",
                        "responder_id": who,
                        "channel": "webhook",
                        "reason": NotificationReason.ROUTED,
                        "trigger_event_id": "t",
                        "attempts": 1,
                        **extra,
                    }
                ),
            )
        )

    outcome(NotificationSent, "d1", "a", "pf-dianzhong", at(5, 9, 0, 2))
    outcome(NotificationFailed, "d2", "c", "fire", at(6, 8, 0, 2), error="timeout", permanent=False)
    outcome(NotificationSent, "d2", "c", "fire", at(6, 8, 0, 10))
    outcome(
        NotificationFailed, "d3", "e", "cm-xueqiao", at(12, 9, 0, 2), error="410", permanent=True
    )
    s.events.append(
        (
            COMPLAINTS_REJECTED,
            ComplaintRejected(
                occurred_at=at(5, 9, 30),
                kind="submission",
                source="hotline-12345",
                reasons=[RejectionReason(field="compound_id", message="missing")],
            ),
        )
    )
    return s


# The hand-worked figures of October 2026 (city-wide).
OCTOBER_COUNTS = {
    "received": 6,
    "duplicates": 1,
    "routed": 5,
    "acknowledged": 4,
    "acknowledged_on_time": 3,
    "acknowledge_due": 5,
    "acknowledge_overdue": 2,
    "resolved": 3,
    "resolve_overdue": 2,
    "open": 2,
    "rated": 3,
    "satisfied": 1,
    "basically_satisfied": 1,
    "dissatisfied": 1,
    "reopened": 1,
    "bounces": 1,
    "escalations": 3,
    "escalated_complaints": 2,
    "reminders": 1,
    "notifications_sent": 2,
    "notifications_failed": 1,
    "hotspots": 0,
    "recurring_hotspots": 0,
    "hotspots_open": 0,
    "rejected": 1,
}
OCTOBER_RATES = {"response_rate": 0.6, "resolution_rate": 0.6, "satisfaction_rate": 0.6667}
# Acknowledge: 1800, 3600, 7200, 93600 s; resolve: 86400, 122400, 259200 s.
OCTOBER_MEDIANS = {"time_to_acknowledge": 5400.0, "time_to_resolve": 122400.0}
OCTOBER_BY_CATEGORY = {
    "facility_repair": 1,
    "flying_wire_charging": 1,
    "neighbour_dispute": 1,
    "parking_disorder": 1,
    "sanitation": 2,
}
RESPONDER_RATES = {
    "pf-dianzhong": {"response_rate": 0.5, "resolution_rate": 1.0, "satisfaction_rate": 1.0},
    "fire": {"response_rate": 1.0, "resolution_rate": 1.0, "satisfaction_rate": 0.0},
    "cm-xueqiao": {"response_rate": 0.5, "resolution_rate": 0.0, "satisfaction_rate": None},
}
# 5 October: A, B and F received; A and B routed; A on time, B late.
OCT_5_COUNTS = {"received": 3, "routed": 2, "acknowledged_on_time": 1, "acknowledge_due": 2}
OCT_5_RATES = {"response_rate": 0.5, "resolution_rate": 1.0, "satisfaction_rate": 1.0}
