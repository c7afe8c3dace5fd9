"""A consumed batch gathered so each complaint's document is written once per batch."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from services.stats.handlers import parse, read_batch
from shared.consuming import PermanentError
from shared.events import Event
from shared.topics import COMPLAINTS_UPDATED, STATS_CHANGED
from tests.unit.stats.derived import TZ
from tests.unit.stats.history import october

TOPICS = {name: name for name in (*{t for t, _ in october().events}, STATS_CHANGED)}


@dataclass(frozen=True)
class FakeRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def records(events: list[tuple[str, Event]]) -> list[FakeRecord]:
    return [
        FakeRecord(topic, 1, offset, event.complaint_id.encode(), event.model_dump_json().encode())
        for offset, (topic, event) in enumerate(events)
    ]


def test_every_event_of_one_complaint_lands_in_one_place_whatever_its_topic() -> None:
    batch, refused = read_batch(records(october().events), TOPICS, TZ)
    assert refused == []
    assert sorted(batch.complaints) == [f"c-oct-{n}" for n in "abcdef"]
    c = batch.complaints["c-oct-c"]
    # received, routed, five updates; both attempts of delivery d2, with its responder.
    assert len(c.events) == 7
    assert len(c.notified) == 2
    assert {n["delivery_id"] for n in c.notified.values()} == {"c-oct-d2"}
    assert {n["responder_id"] for n in c.notified.values()} == {"fire"}
    assert c.periods == {"2026-10", "2026-10-06", "2026-10-07"}
    assert c.partition == 1


def test_a_redelivery_rewrites_the_same_facts_and_notices_are_read_apart() -> None:
    events = october().events
    notices = [FakeRecord(STATS_CHANGED, 0, 9, b"city:2026-10", b'{"scope": "city:2026-10"}')]
    batch, _ = read_batch(records(events + events) + notices, TOPICS, TZ)
    assert len(batch.rejections) == 1
    assert len(batch.complaints["c-oct-c"].events) == 7
    assert batch.changed_scopes == {"city:2026-10"}


def test_an_update_naming_no_complaint_is_refused() -> None:
    event = next(e for t, e in october().events if t == COMPLAINTS_UPDATED)
    body = event.model_copy(update={"complaint_id": " "}).model_dump_json().encode()
    with pytest.raises(PermanentError):
        parse(COMPLAINTS_UPDATED, body)
