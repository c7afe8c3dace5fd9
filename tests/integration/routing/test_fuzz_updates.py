"""Property-based fuzzing of routing's door for lifecycle updates, ``ingress.updates``.

Random bytes and near-valid updates (wrong actors, impossible transitions, unknown
complaints, missing and retyped fields) go to a routing process. Every message must end
as applied (``complaints.updated``), refused with a reason (``complaints.rejected``) or
dead-lettered (``dlq.routing``), and the process must keep running: none unaccounted for."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.loopback import produce
from shared.events import Channel, ComplaintReceived, Rating, Reporter, UpdateType
from shared.sealing import dev_key_ring
from shared.topics import (
    COMPLAINTS_RECEIVED,
    COMPLAINTS_REJECTED,
    COMPLAINTS_ROUTED,
    COMPLAINTS_UPDATED,
    INGRESS_UPDATES,
    dead_letter_topic,
)
from tests.support import Infra, collect, lone_service, unique_name

pytestmark = pytest.mark.integration

UPDATE_FIELDS = ("complaint_id", "type", "actor_id", "note", "rating")
odd_values = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=30)
    | st.lists(st.integers(), max_size=3)
)


@pytest.fixture(scope="module")
def routing(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with lone_service(infra, "routing", tmp_path_factory.mktemp("fuzz")) as (_, prefix):
        yield {"prefix": prefix, "bootstrap": infra.bootstrap_servers}


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_update_is_applied_refused_or_dead_lettered(
    routing: dict[str, str], data: st.DataObject
) -> None:
    asyncio.run(_fuzz_one_complaint(routing, data))


async def _fuzz_one_complaint(routing: dict[str, str], data: st.DataObject) -> None:
    prefix, bootstrap = routing["prefix"], routing["bootstrap"]
    complaint_id, lead = await _route_a_complaint(prefix, bootstrap)

    @st.composite
    def near_valid(draw: st.DrawFn) -> dict[str, Any]:
        """An update that could apply to the complaint, with a few things wrong."""
        body: dict[str, Any] = {
            "complaint_id": draw(st.sampled_from([*[complaint_id] * 4, "nope", ""])),
            "type": draw(st.sampled_from([*UpdateType, "reopened", ""])),
            "actor_id": draw(st.sampled_from([*[lead] * 3, "resident", "fire-xiangcheng", ""])),
            "note": draw(st.text(max_size=60)),
        }
        if body["type"] == UpdateType.RATED:
            body["rating"] = draw(st.sampled_from([*Rating, "meh"]))
        for field in draw(st.lists(st.sampled_from(UPDATE_FIELDS), max_size=1)):
            if draw(st.booleans()):
                body.pop(field, None)
            else:
                body[field] = draw(odd_values)
        return body

    # Mostly near-valid updates, so that many apply and the state moves on; junk between.
    updates = data.draw(st.lists(near_valid(), min_size=20, max_size=40))
    junk = data.draw(
        st.lists(st.binary(max_size=120) | st.text(max_size=60).map(str.encode), max_size=15)
    )
    encoded = [json.dumps(u, ensure_ascii=False).encode() for u in updates]
    messages = data.draw(st.permutations(encoded + junk))
    # One key for the whole batch: one partition, applied in the order sent.
    marker = unique_name("batch")
    ingress = prefix + INGRESS_UPDATES
    await produce(bootstrap, ingress, [(marker.encode(), m) for m in messages])
    sent = await collect(
        bootstrap,
        [ingress],
        until=lambda r: sum(x["key"] == marker for x in r) >= len(messages),
        timeout=30,
    )
    offsets = {int(r["offset"]) for r in sent if r["key"] == marker}
    assert len(offsets) == len(messages)

    def outcomes(records: list[dict[str, Any]]) -> tuple[set[int], set[str]]:
        """Offsets refused or dead-lettered, and the distinct updates applied."""
        answered: set[int] = set()
        applied: set[str] = set()
        for record in records:
            value = record["value"]
            if record["topic"].endswith(COMPLAINTS_UPDATED):
                if value["complaint_id"] == complaint_id:
                    applied.add(value["event_id"])
            elif record["key"] != marker:
                continue
            elif record["topic"].endswith(COMPLAINTS_REJECTED):
                assert value["reasons"], value
                assert all(r["message"] for r in value["reasons"]), value
                answered.add(value["origin_offset"])
            else:
                assert record["headers"]["x-error"]
                answered.add(int(record["headers"]["x-origin-offset"]))
        return answered, applied

    def all_accounted(records: list[dict[str, Any]]) -> bool:
        # Both sides only grow and meet at their final values, so this cannot stop early.
        answered, applied = outcomes(records)
        return len(offsets - answered) == len(applied)

    topics = [
        prefix + t for t in (COMPLAINTS_UPDATED, COMPLAINTS_REJECTED, dead_letter_topic("routing"))
    ]
    records = await collect(bootstrap, topics, until=all_accounted, timeout=60)
    answered, applied = outcomes(records)
    assert answered <= offsets
    assert len(offsets - answered) == len(applied), (
        f"{len(offsets)} updates sent, {len(answered)} refused or dead-lettered, "
        f"{len(applied)} applied: some were lost or answered twice"
    )


async def _route_a_complaint(prefix: str, bootstrap: str) -> tuple[str, str]:
    """A fresh complaint, routed; its id and its lead responder."""
    complaint_id = unique_name("c")
    received = ComplaintReceived(
        complaint_id=complaint_id,
        source="fuzz",
        source_ref=complaint_id,
        channel=Channel.APP,
        # A compound of its own (unknown: the dispatch desk leads), so routing never
        # links it to the previous example's complaint as a duplicate.
        compound_id=f"cx-fuzz-{uuid.uuid4().hex[:8]}",
        description="小区垃圾堆放多日无人清理",
        reporter=dev_key_ring().sealed_reporter(
            complaint_id, Reporter(name="李先生", phone="13812345678")
        ),
        ingress="kafka",
    )
    await produce(
        bootstrap,
        prefix + COMPLAINTS_RECEIVED,
        [(complaint_id.encode(), received.model_dump_json().encode())],
    )
    routed = await collect(
        bootstrap,
        [prefix + COMPLAINTS_ROUTED],
        until=lambda r: any(x["key"] == complaint_id for x in r),
        timeout=60,
    )
    [event] = {
        r["value"]["event_id"]: r["value"] for r in routed if r["key"] == complaint_id
    }.values()
    return complaint_id, str(event["lead"]["responder_id"])
