"""Accepting complaints: ids, exactly-once publishing, rejection reasons."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.intake.accept import (
    accept,
    body_hash,
    received_event,
    rejected_event,
    rejection_reasons,
)
from services.intake.store import Claim
from shared.events import ComplaintReceived, ComplaintSubmission


class FakeStore:
    """Claims and held events in dicts, unique by complaint id as in MongoDB."""

    def __init__(self) -> None:
        self.claims: dict[str, tuple[str, bool]] = {}
        self.held: dict[str, str] = {}

    async def hold(self, complaint_id: str, body_hash: str, event_json: str) -> bool:
        if complaint_id in self.held:
            return False
        self.held[complaint_id] = event_json
        return True

    async def release(self, complaint_id: str) -> None:
        self.held.pop(complaint_id, None)

    async def claim(self, complaint_id: str, body_hash: str) -> Claim:
        if complaint_id in self.claims:
            stored_hash, published = self.claims[complaint_id]
            return Claim(complaint_id, False, published, stored_hash)
        self.claims[complaint_id] = (body_hash, False)
        return Claim(complaint_id, True, False, body_hash)

    async def mark_published(self, complaint_id: str, body_hash: str) -> None:
        self.claims[complaint_id] = (body_hash, True)


def submission(**overrides: object) -> ComplaintSubmission:
    fields: dict[str, object] = {
        "source": "hotline-12345",
        "source_ref": "HL-2026-000123",
        "channel": "hotline",
        "compound_id": "cx-001",
        "description": "3棟2單元樓道有人飛線充電",
        "reporter": {"name": "張女士", "phone": "13812345678", "hide_identity": True},
    }
    fields.update(overrides)
    return ComplaintSubmission.model_validate(fields)


async def test_same_source_ref_gives_same_id_and_one_event() -> None:
    store, published = FakeStore(), []

    async def publish(event: ComplaintReceived) -> None:
        published.append(event)

    first = await accept(submission(), "http", store=store, publish=publish)
    again = await accept(submission(), "kafka", store=store, publish=publish)
    assert first.complaint_id == again.complaint_id
    assert (first.new, again.new) == (True, False)
    assert len(published) == 1
    assert store.held == {}  # nothing left for the relay


async def test_different_source_refs_get_different_ids() -> None:
    store = FakeStore()

    async def publish(event: ComplaintReceived) -> None:
        return None

    a = await accept(submission(source_ref="A"), "http", store=store, publish=publish)
    b = await accept(submission(source_ref="B"), "http", store=store, publish=publish)
    assert a.complaint_id != b.complaint_id


async def test_a_failed_publish_leaves_the_event_held_for_the_relay() -> None:
    store = FakeStore()

    async def broken(event: ComplaintReceived) -> None:
        raise ConnectionError("broker away")

    with pytest.raises(ConnectionError):
        await accept(submission(), "http", store=store, publish=broken)
    assert list(store.claims.values()) == [(body_hash(submission()), False)]
    held = ComplaintReceived.model_validate_json(next(iter(store.held.values())))
    assert held.event_id == received_event(submission(), "http").event_id


def test_body_hash_ignores_key_order_but_not_content() -> None:
    assert body_hash(submission()) == body_hash(
        ComplaintSubmission.model_validate_json(submission().model_dump_json())
    )
    assert body_hash(submission()) != body_hash(submission(description="另一件事情"))


def test_unknown_fields_and_bad_channel_are_named_in_the_reasons() -> None:
    with pytest.raises(ValidationError) as caught:
        ComplaintSubmission.model_validate(
            {**submission().model_dump(), "channel": "fax", "colour": "red"}
        )
    fields = {reason.field for reason in rejection_reasons(caught.value)}
    assert fields == {"channel", "colour"}


def test_rejected_event_masks_phones_and_is_stable_per_offset() -> None:
    raw = b'{"source": "x", "description": "call 13812345678"'
    first = rejected_event(
        raw, [], origin_topic="ingress.complaints", origin_partition=1, origin_offset=7
    )
    second = rejected_event(
        raw, [], origin_topic="ingress.complaints", origin_partition=1, origin_offset=7
    )
    assert first.event_id == second.event_id
    assert "13812345678" not in first.excerpt
    assert "138****5678" in first.excerpt
