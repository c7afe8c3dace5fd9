"""Hot spots in stats: gathered apart from complaints, counted once in the period they
opened in, open until closed, and the running tallies equal the recount."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from services.stats.figures import Filters, Hotspots, compute
from services.stats.handlers import read_batch
from services.stats.hotspots import hotspot_contributions, listing, record_of
from services.stats.owner import snapshot_of
from services.stats.periods import Scope
from services.stats.store import notification_records
from services.stats.tallies import Tally
from shared.events import (
    Assignee,
    HotspotClosed,
    HotspotCloseReason,
    HotspotComplaint,
    HotspotDetected,
    HotspotKind,
    HotspotScope,
    HotspotScopeKind,
    HotspotTrigger,
    NotificationReason,
    NotificationSent,
    ResponderKind,
)
from shared.topics import HOTSPOTS_CLOSED, HOTSPOTS_DETECTED, NOTIFICATIONS_SENT
from tests.unit.stats.derived import TZ
from tests.unit.stats.test_batch import FakeRecord

OPENED = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
TOPICS = {t: t for t in (HOTSPOTS_DETECTED, HOTSPOTS_CLOSED, NOTIFICATIONS_SENT)}


def detected(hotspot_id: str = "hs-1", kind: HotspotKind = HotspotKind.CLUSTER) -> HotspotDetected:
    complaints = [
        HotspotComplaint(
            complaint_id=f"c{i}",
            compound_id="cx-001",
            reported_at=OPENED - timedelta(hours=3 - i),
            place="3栋车棚",
            excerpt="飞线充电 138****5678",
        )
        for i in range(2)
    ]
    return HotspotDetected(
        event_id=f"det-{hotspot_id}",
        occurred_at=OPENED,
        hotspot_id=hotspot_id,
        scope=HotspotScope(kind=HotspotScopeKind.COMPOUND, id="cx-001"),
        community_id="cm-xueqiao",
        category="flying_wire_charging",
        category_name="飛線充電",
        kind=kind,
        trigger=HotspotTrigger.COUNT,
        threshold=2,
        within=timedelta(hours=24),
        opened_at=OPENED,
        window_start=complaints[0].reported_at,
        window_end=complaints[-1].reported_at,
        count=2,
        complaint_ids=["c0", "c1"],
        places=["3栋车棚"],
        complaints=complaints,
        alerted=[
            Assignee(responder_id="cm-xueqiao", kind=ResponderKind.COMMUNITY),
            Assignee(responder_id="fire", kind=ResponderKind.FIRE),
        ],
    )


def closed(event: HotspotDetected) -> HotspotClosed:
    return HotspotClosed.model_validate(
        event.model_dump()
        | {
            "event_id": f"closed-{event.hotspot_id}",
            "occurred_at": OPENED + timedelta(days=2),
            "reason": HotspotCloseReason.RESOLVED,
            "count": 3,
            "complaint_ids": ["c0", "c1", "c2"],
        }
    )


def alert(event: HotspotDetected, responder_id: str) -> NotificationSent:
    return NotificationSent(
        event_id=f"sent-{responder_id}",
        occurred_at=OPENED + timedelta(seconds=1),
        complaint_id=event.hotspot_id,
        hotspot_id=event.hotspot_id,
        delivery_id=f"d-{responder_id}",
        responder_id=responder_id,
        channel="webhook",
        reason=NotificationReason.HOTSPOT,
        trigger_event_id=event.event_id,
        attempts=1,
    )


def batch_of(*items: tuple[str, HotspotDetected | HotspotClosed | NotificationSent]):  # type: ignore[no-untyped-def]
    return read_batch(
        [
            FakeRecord(topic, 4, offset, b"hs", event.model_dump_json().encode())
            for offset, (topic, event) in enumerate(items)
        ],
        TOPICS,
        TZ,
    )


def test_a_hot_spot_and_its_alerts_are_gathered_apart_from_complaints() -> None:
    event = detected()
    batch, refused = batch_of(
        (HOTSPOTS_DETECTED, event),
        (NOTIFICATIONS_SENT, alert(event, "fire")),
        (HOTSPOTS_DETECTED, event),  # redelivered
    )
    assert refused == []
    assert batch.complaints == {}
    changes = batch.hotspots["hs-1"]
    assert set(changes.events) == {"detected"}
    assert len(changes.notified) == 1
    assert changes.periods == {"2026-11-03", "2026-11"}
    assert changes.partition == 4


def test_a_hot_spot_is_open_until_its_closing_comes_and_then_lists_every_complaint() -> None:
    event = detected()
    batch, _ = batch_of((HOTSPOTS_DETECTED, event))
    opened = record_of("hs-1", batch.hotspots["hs-1"].events, TZ)
    assert opened is not None
    assert (opened.status, opened.count, opened.alerted) == ("open", 2, ("cm-xueqiao", "fire"))
    batch, _ = batch_of((HOTSPOTS_DETECTED, event), (HOTSPOTS_CLOSED, closed(event)))
    done = record_of("hs-1", batch.hotspots["hs-1"].events, TZ)
    assert done is not None
    assert (done.status, done.close_reason, done.count) == ("closed", "resolved", 3)
    assert done.opened_at == OPENED
    shown = listing(done, detailed=True)
    assert shown["complaint_ids"] == ["c0", "c1", "c2"]
    assert "complaints" not in listing(done, detailed=False)
    # Only the closing read: nothing to count until its detection comes.
    batch, _ = batch_of((HOTSPOTS_CLOSED, closed(event)))
    assert record_of("hs-1", batch.hotspots["hs-1"].events, TZ) is None


def test_running_tallies_of_hot_spots_equal_the_recount_in_every_scope() -> None:
    cluster, recurring = detected("hs-1"), detected("hs-2", HotspotKind.RECURRING)
    batch, _ = batch_of(
        (HOTSPOTS_DETECTED, cluster),
        (HOTSPOTS_DETECTED, recurring),
        (HOTSPOTS_CLOSED, closed(recurring)),
        (NOTIFICATIONS_SENT, alert(cluster, "fire")),
        (NOTIFICATIONS_SENT, alert(cluster, "cm-xueqiao")),
    )
    records, notes = [], []
    totals: dict[str, Tally] = defaultdict(Tally)
    for hotspot_id, changes in batch.hotspots.items():
        record = record_of(hotspot_id, changes.events, TZ)
        alerts = notification_records(changes.notified, hotspot_id, TZ)
        assert record is not None
        records.append(record)
        notes += alerts
        for scope, tally in hotspot_contributions(record, alerts).items():
            totals[scope].add(tally)
    now = OPENED + timedelta(days=3)
    city = snapshot_of("city:2026-11", totals["city:2026-11"], now).counts
    assert (city["hotspots"], city["recurring_hotspots"], city["hotspots_open"]) == (2, 1, 1)
    assert city["notifications_sent"] == 2
    assert city["received"] == 0
    for key, tally in totals.items():
        parsed = Scope.parse(key)
        filters = {
            "city": Filters(),
            "community": Filters(community=parsed.subject),
            "responder": Filters(responder=parsed.subject),
        }[parsed.kind]
        recount = compute(
            [], [], parsed.period, filters, now, breakdowns=False,
            hotspots=Hotspots(records, notes),
        )  # fmt: skip
        counts = dict(snapshot_of(key, tally, now).counts)
        counts.pop("rejected", None)  # the recount adds it only when told the number
        assert counts == recount["counts"], key
    fire = compute([], [], "2026-11", Filters(responder="fire"), now,
                   hotspots=Hotspots(records, notes))  # fmt: skip
    assert fire["counts"]["hotspots"] == 2
    assert fire["counts"]["notifications_sent"] == 1
    assert set(fire["responders"]) == {"fire"}
