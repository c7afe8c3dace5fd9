"""The fair baseline's stages write the documents per message that the docs state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord

from devtools.bench.baseline import (
    ALERTED_HEADER,
    SENT_HEADER,
    Batch,
    Completion,
    Shape,
    Topics,
    intake,
    notify_deliveries,
    notify_outcomes,
    routing,
    stamp,
    stats,
)
from devtools.bench.load import BenchComplaints

TOPICS = Topics("t.")
NOW = datetime(2026, 11, 28, tzinfo=UTC)


def _records(topic: str, values: list[bytes], headers: Any = ()) -> list[ConsumerRecord]:
    return [
        ConsumerRecord(topic, 0, offset, 0, 0, b"k", value, None, 1, len(value), tuple(headers))
        for offset, value in enumerate(values)
    ]


def _values(batch: Batch) -> list[bytes]:
    return [value for _, _, value, _ in batch.sends]


def _through_the_stages(count: int, shape: Shape) -> tuple[list[Batch], Batch]:
    bodies = BenchComplaints("u").take(count, "s")
    sent = [(SENT_HEADER, stamp(1.0))]
    received = intake(
        _records(TOPICS.ingress, [orjson.dumps(b) for b in bodies], sent), TOPICS, NOW
    )
    routed = routing(_records(TOPICS.received, _values(received), sent), TOPICS, NOW)
    routed_records = _records(TOPICS.routed, _values(routed), sent)
    deliveries = notify_deliveries(routed_records, NOW, shape)
    outcomes = notify_outcomes(routed_records, TOPICS, shape, alerted=1.25)
    return [received, routed, deliveries, outcomes], outcomes


def _documents(batch: Batch) -> int:
    return sum(len(d) for d in batch.inserts.values())


def test_each_stage_writes_the_documents_the_shape_states() -> None:
    shape = Shape(deliveries=2)
    (received, routed, deliveries, outcomes), _ = _through_the_stages(30, shape)
    events = _records(TOPICS.received, _values(received)) + _records(TOPICS.routed, _values(routed))
    events += _records(
        TOPICS.outcomes,
        _values(outcomes),
        [(SENT_HEADER, stamp(1.0)), (ALERTED_HEADER, stamp(1.25))],
    )
    counted, _ = stats(events, TOPICS, Completion(shape.deliveries), {})
    written = {
        "intake": _documents(received),
        "routing": _documents(routed),
        "notify": _documents(deliveries) + _documents(outcomes),
        "stats": _documents(counted),
    }
    assert written == {stage: n * 30 for stage, n in shape.documents().items()}
    assert len(outcomes.sends) == 60
    # The open markers are the ones deleted again, once the outcomes are out.
    assert outcomes.deletes == {
        "baseline_open": [d["_id"] for d in deliveries.inserts["baseline_open"]]
    }
    assert {stage: len(ids) // 30 for stage, ids in outcomes.deletes.items()} == {
        "baseline_open": shape.deleted()["notify"]
    }


def test_ids_derive_from_the_message_so_a_replay_writes_the_same_documents() -> None:
    first, _ = _through_the_stages(5, Shape())
    again, _ = _through_the_stages(5, Shape())
    for one, other in zip(first, again, strict=True):
        ids = {name: [d["_id"] for d in docs] for name, docs in one.inserts.items()}
        assert ids == {name: [d["_id"] for d in docs] for name, docs in other.inserts.items()}
        assert [orjson.loads(v).get("event_id") for v in _values(one)] == [
            orjson.loads(v).get("event_id") for v in _values(other)
        ]


def test_a_message_is_done_once_every_event_is_stored_and_reports_its_latency() -> None:
    shape = Shape(deliveries=2)
    (received, routed, _, outcomes), _ = _through_the_stages(1, shape)
    completion = Completion(shape.deliveries)
    headers = [(SENT_HEADER, stamp(1.0)), (ALERTED_HEADER, stamp(1.25))]
    # The outcomes come before the received event: not done until all four are in.
    batches = [
        _records(TOPICS.outcomes, _values(outcomes), headers),
        _records(TOPICS.routed, _values(routed)),
        _records(TOPICS.received, _values(received)),
    ]
    finished = []
    parts: dict[str, int] = {}
    for records in batches:
        _, marks = stats(records, TOPICS, completion, parts)
        finished += [latency for cid, bit, latency in marks if completion.add(cid, bit)]
    assert completion.done == 1
    assert finished == [None]
    # The latency travels with the outcomes (send to alert), not with the last event.
    _, marks = stats(batches[0], TOPICS, Completion(shape.deliveries), {})
    assert [latency for *_, latency in marks] == [250.0, 250.0]


def test_a_batch_inserts_one_part_per_complaint_whatever_its_events() -> None:
    (received, routed, _, outcomes), _ = _through_the_stages(3, Shape())
    records = (
        _records(TOPICS.received, _values(received))
        + _records(TOPICS.routed, _values(routed))
        + _records(TOPICS.outcomes, _values(outcomes))
    )
    parts: dict[str, int] = {}
    batch, _ = stats(records, TOPICS, Completion(2), parts)
    assert list(batch.inserts) == ["baseline_complaints"]
    complaints = batch.inserts["baseline_complaints"]
    assert len(complaints) == 3
    first = complaints[0]
    assert first["_id"] == first["complaint_id"]
    assert (len(first["events"]), len(first["notified"]), len(first["periods"])) == (2, 2, 2)
    # The next batch about the same complaints adds their second parts.
    again, _ = stats(_records(TOPICS.outcomes, _values(outcomes)), TOPICS, Completion(2), parts)
    assert {d["_id"] for d in again.inserts["baseline_complaints"]} == {
        f"{d['_id']}~1" for d in complaints
    }
