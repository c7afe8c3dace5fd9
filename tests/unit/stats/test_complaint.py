"""One complaint's state and view, derived from its facts in occurred_at order."""

from __future__ import annotations

from services.stats.complaint import derive, view
from tests.unit.stats.derived import TZ, fact_maps, states
from tests.unit.stats.history import MASKED, PHONE, october


def _views(seed: int | None = None) -> dict[str, dict]:  # type: ignore[type-arg]
    return {cid: view(s) for cid, s in states([e for _, e in october().events], seed).items()}


def test_reopened_complaint_shows_every_step_in_time_order() -> None:
    c = _views()["c-oct-c"]
    assert [t["type"] for t in c["timeline"]] == [
        "received",
        "routed",
        "acknowledged",
        "resolved",
        "rated",
        "reopened",
        "resolved",
    ]
    assert c["status"] == "resolved"
    assert c["rating"] == "dissatisfied"
    assert c["lead"] == {"responder_id": "fire", "kind": "fire"}
    assert [s["responder_id"] for s in c["support"]] == ["pf-dianzhong", "cm-xueqiao"]
    assert c["due"]["resolve_by"] == "2026-10-08T01:00:01+00:00"


def test_returned_complaint_is_rerouted_to_the_next_responder() -> None:
    d = _views()["c-oct-d"]
    assert [t["type"] for t in d["timeline"]] == [
        "received",
        "routed",
        "returned",
        "rerouted",
        "acknowledged",
    ]
    assert d["lead"]["responder_id"] == "cm-xueqiao"
    assert d["timeline"][3]["previous_lead"] == "pf-dianzhong"
    assert d["timeline"][2]["actor_id"] == "pf-dianzhong"
    assert d["bounces"] == 1
    assert d["status"] == "acknowledged"


def test_escalations_raise_the_level_and_show_in_the_timeline() -> None:
    e = _views()["c-oct-e"]
    assert e["escalation_level"] == 2
    escalations = [t for t in e["timeline"] if t["type"] == "escalated"]
    assert [t["escalated_to"] for t in escalations] == [["housing"], ["city-coordination"]]
    assert e["status"] == "routed"


def test_duplicate_links_to_the_open_complaint() -> None:
    f = _views()["c-oct-f"]
    assert f["status"] == "duplicate"
    assert f["duplicate_of"] == "c-oct-b"
    assert f["timeline"][-1]["type"] == "duplicate_linked"


def test_reporter_is_masked_and_hidden_when_asked() -> None:
    views = _views()
    a, b = views["c-oct-a"], views["c-oct-b"]
    assert a["reporter"] == {"name": None, "phone": MASKED, "hide_identity": True}
    assert b["reporter"]["name"] == "李先生"
    assert b["reporter"]["phone"] == MASKED
    assert PHONE not in repr(views)


def test_facts_never_hold_a_full_phone() -> None:
    complaints, deliveries = fact_maps([e for _, e in october().events])
    assert PHONE not in repr(complaints)
    assert PHONE not in repr(deliveries)


def test_arrival_order_and_redelivery_give_the_same_complaint() -> None:
    first = _views()
    for seed in range(10):
        assert _views(seed) == first
    complaints, _ = fact_maps([e for _, e in october().events])
    facts = complaints["c-oct-b"]
    doubled = {**facts, **dict(reversed(list(facts.items())))}
    assert view(derive("c-oct-b", doubled, TZ)) == first["c-oct-b"]


def test_late_acknowledgement_counts_as_overdue_and_not_on_time() -> None:
    b = states([e for _, e in october().events])["c-oct-b"].record
    assert b.ack_on_time is False
    assert b.ack_seconds == 26 * 3600
    assert b.ack_breached is True
    assert b.received_day == "2026-10-05"
    assert b.periods == ["2026-10", "2026-10-05"]
