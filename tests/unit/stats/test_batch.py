"""A consumed batch grouped so each complaint's document is written once per batch."""

from __future__ import annotations

import pytest

from services.stats.handlers import Batch, Source, parse
from shared.consuming import PermanentError, RecordInfo
from shared.events import Event
from shared.topics import COMPLAINTS_UPDATED
from tests.unit.stats.derived import TZ
from tests.unit.stats.history import october


def _batch(events: list[tuple[str, Event]] | None = None) -> Batch:
    batch = Batch(TZ)
    for offset, (topic, event) in enumerate(october().events if events is None else events):
        body = event.model_dump_json().encode()
        batch.add(parse(topic, body), Source(topic, body, RecordInfo(topic, 0, offset, None)))
    return batch


def test_every_event_of_one_complaint_lands_in_one_group_whatever_its_topic() -> None:
    groups = _batch().groups
    complaints = {key: g for (kind, key), g in groups.items() if kind == "complaint"}
    assert sorted(complaints) == [f"c-oct-{n}" for n in "abcdef"]
    c = complaints["c-oct-c"]
    # received, routed, five updates, and both attempts of delivery d2 with their tally.
    assert len(c.facts) == 7
    assert set(c.deliveries) == {"c-oct-d2"}
    assert len(c.deliveries["c-oct-d2"]) == 2
    assert len(c.notified) == 2
    assert {s.topic for s in c.sources} >= {"complaints.received", "notifications.sent"}
    assert c.periods == {"2026-10", "2026-10-06", "2026-10-07"}
    assert c.alerted == {("2026-10", "fire"), ("2026-10-06", "fire")}


def test_rejections_share_one_group_and_a_redelivery_rewrites_the_same_fact() -> None:
    events = october().events
    batch = _batch(events + events)
    rejections = batch.groups[("rejections", "")]
    assert len(rejections.rejections) == 1
    assert rejections.complaint_id is None
    assert len(batch.groups[("complaint", "c-oct-c")].facts) == 7


def test_an_update_naming_no_complaint_is_refused() -> None:
    event = next(e for t, e in october().events if t == COMPLAINTS_UPDATED)
    body = event.model_copy(update={"complaint_id": " "}).model_dump_json().encode()
    with pytest.raises(PermanentError):
        parse(COMPLAINTS_UPDATED, body)
