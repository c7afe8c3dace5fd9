"""Nested values stored packed (shared.mongo.packed): they read back as they were
stored, and documents written before packing read alike."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import bson

from services.notify.planning import plan_deliveries
from services.notify.store import DeliveryStore
from services.notify.triggers import from_routed
from services.routing.policy import load_policy
from services.routing.settings import default_policy_path
from services.routing.store import VersionRecord, state_of
from services.stats.parts import Facts, part_document
from shared.consuming import Origin
from shared.directory import default_directory_path, load_directory
from shared.mongo import now_ms, packed, packed_document, unpacked, unpacked_document
from tests.unit.notify.builders import directory, responder, routed
from tests.unit.routing.conftest import routed as routed_state

AT = datetime(2026, 12, 8, 9, 30, 15, 123000, tzinfo=UTC)


def as_stored(document: dict[str, Any]) -> dict[str, Any]:
    """The document as the server hands it back: through BSON, read as the client does."""
    return bson.decode(bson.encode(document), codec_options=bson.CodecOptions(tz_aware=True))


def test_a_packed_value_keeps_its_types_and_nesting() -> None:
    value = {"at": AT, "n": 3, "list": [1, {"deep": "值"}], "none": None}
    stored = as_stored({"v": packed(value)})["v"]
    assert isinstance(stored, bytes)
    assert unpacked(stored) == value
    assert unpacked(stored)["at"].tzinfo is not None


def test_a_value_stored_plain_before_packing_reads_the_same() -> None:
    value = {"at": AT, "n": 3}
    assert unpacked(as_stored({"v": value})["v"]) == value
    assert unpacked(None) == {}


def test_a_packed_document_keeps_its_queried_fields_plain() -> None:
    document = {"_id": "d-1", "partition": 2, "channel": "email", "at": AT}
    stored = as_stored(packed_document(document, keep=("_id", "partition")))
    assert set(stored) == {"_id", "partition", "packed"}
    assert unpacked_document(stored) == document
    # Written whole, before packing: read as it is.
    assert unpacked_document(as_stored(document)) == document


def test_a_routing_version_reads_the_same_packed_or_plain() -> None:
    state = routed_state(
        load_policy(default_policy_path()), load_directory(default_directory_path())
    )
    version = as_stored(VersionRecord(state, partition=1, cause="received").document(now_ms()))
    assert isinstance(version["state"], bytes)
    written_before = as_stored({**version, "state": state.model_dump(mode="python")})
    assert state_of(version) == state_of(written_before)
    assert state_of(version).timeline == state_of(written_before).timeline != []


def test_a_delivery_reads_its_trigger_back_in_every_stored_form() -> None:
    trigger = from_routed(routed())
    book = directory(
        [responder(r, "community", contact_details=True, channels=[]) for r in trigger.recipients]
    )
    planned = plan_deliveries(trigger, book)[0]
    store = DeliveryStore.__new__(DeliveryStore)  # only its helpers without I/O are used
    document = store.delivery_document(planned, trigger, Origin("t", 0, 0), partition=0, now=AT)
    assert store.trigger_of(unpacked_document(as_stored(packed_document(document)))) == trigger
    # As earlier versions stored it: a packed value, or a plain sub-document.
    assert (
        store.trigger_of(as_stored({"trigger": packed(trigger.model_dump(mode="json"))})) == trigger
    )
    assert store.trigger_of(as_stored({"trigger": trigger.model_dump(mode="json")})) == trigger


def test_stats_parts_read_their_facts_packed_or_plain() -> None:
    events = {"e1": {"type": "received", "at": AT}}
    notified = {"n1": {"outcome": "sent", "at": AT}}
    part = as_stored(part_document("c-1", 0, 3, events, notified, ["2026-12", "2026-12-08"]))
    assert isinstance(part["events"], bytes)
    facts = Facts.of(part)
    assert (facts.events, facts.notified, facts.partition) == (events, notified, 3)
    written_before = as_stored({**part, "events": events, "notified": notified})
    assert (Facts.of(written_before).events, Facts.of(written_before).notified) == (
        events,
        notified,
    )
