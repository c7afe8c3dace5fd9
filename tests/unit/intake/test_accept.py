"""Accepting complaints in batches: ids, one event per complaint, rejection reasons."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import orjson
import pytest
from pydantic import ValidationError

from services.intake.accept import body_hash, rejected_event, rejection_reasons
from services.intake.handlers import (
    IdempotencyConflictError,
    IntakeDeps,
    Submitted,
    admit,
    admit_requests,
)
from shared.consuming import Origin, Refusal
from shared.events import ComplaintReceived, ComplaintSubmission
from shared.mongo import Document
from shared.privacy import contains_full_phone
from shared.sealing import dev_key_ring
from tests.unit.fakes import FakePublisher

CONTACTS = dev_key_ring()

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


class FakeStore:
    """Submissions and idempotency keys in dicts, unique by ``_id`` as in MongoDB."""

    def __init__(self) -> None:
        self.submissions: dict[str, Document] = {}
        self.keys: dict[str, Document] = {}
        self.record_fails: BaseException | None = None

    async def known(self, complaint_ids: Iterable[str]) -> set[str]:
        return set(complaint_ids) & set(self.submissions)

    async def record(self, records: Sequence[Document]) -> None:
        if self.record_fails is not None:
            raise self.record_fails
        for record in records:
            self.submissions.setdefault(record["_id"], record)

    async def remember_keys(self, records: Sequence[Document]) -> dict[str, Document]:
        earlier = {r["_id"]: self.keys[r["_id"]] for r in records if r["_id"] in self.keys}
        for record in records:
            self.keys.setdefault(record["_id"], record)
        return earlier

    async def forget_keys_before(self, cutoff: datetime) -> int:
        return 0


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


def deps(store: FakeStore, received: FakePublisher | None = None) -> IntakeDeps:
    return IntakeDeps(
        store=store,
        received=received or FakePublisher(),
        rejected=FakePublisher(),
        contacts=CONTACTS,
        clock=lambda: NOW,
    )


def event_ids(publisher: FakePublisher) -> list[str]:
    return [orjson.loads(body)["event_id"] for _, body in publisher.sent]


async def test_same_source_ref_gives_same_id_and_one_event() -> None:
    store, received = FakeStore(), FakePublisher()
    [first] = await admit([submission()], "http", deps(store, received))
    [again] = await admit([submission()], "kafka", deps(store, received))
    assert first == again
    assert len(received.sent) == 1
    assert received.sent[0][0] == first.encode()  # keyed by the complaint id


async def test_a_resend_within_one_batch_publishes_once() -> None:
    received = FakePublisher()
    ids = await admit(
        [submission(), submission(source_ref="OTHER"), submission()],
        "kafka",
        deps(FakeStore(), received),
    )
    assert ids[0] == ids[2] != ids[1]
    assert len(received.sent) == 2


async def test_nothing_is_recorded_until_its_event_is_out() -> None:
    store = FakeStore()
    broken = FakePublisher(fail_with=ConnectionError("broker away"))
    with pytest.raises(ConnectionError):
        await admit([submission()], "http", deps(store, broken))
    assert store.submissions == {}  # so the retry publishes it
    received = FakePublisher()
    await admit([submission()], "http", deps(store, received))
    assert len(received.sent) == 1


async def test_a_crash_between_publishing_and_recording_republishes_the_same_event() -> None:
    store, first_try = FakeStore(), FakePublisher()
    store.record_fails = ConnectionError("database away")
    with pytest.raises(ConnectionError):
        await admit([submission()], "kafka", deps(store, first_try))
    store.record_fails = None
    retry = FakePublisher()
    await admit([submission()], "kafka", deps(store, retry))
    # A copy with the same event id, which consumers drop; the complaint is not lost.
    assert event_ids(first_try) == event_ids(retry)
    assert len(store.submissions) == 1


async def test_different_source_refs_get_different_ids() -> None:
    a, b = await admit(
        [submission(source_ref="A"), submission(source_ref="B")], "http", deps(FakeStore())
    )
    assert a != b


async def test_an_idempotency_key_reused_with_another_body_is_refused() -> None:
    store = FakeStore()
    same = Submitted(submission(), "hotline:req-42")
    other = Submitted(submission(description="另一件事：垃圾堆放"), "hotline:req-42")
    first = await admit_requests([same, same, other], deps(store))
    later = await admit_requests([other, same], deps(store))
    assert first[0] == first[1]
    assert isinstance(first[2], IdempotencyConflictError)
    assert isinstance(later[0], IdempotencyConflictError)
    assert later[1] == first[0]


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
    refusal = Refusal(Origin("ingress.complaints", 1, 7), raw, "not JSON")
    first, second = rejected_event(refusal), rejected_event(refusal)
    assert first.event_id == second.event_id
    assert "13812345678" not in first.excerpt
    assert "138****5678" in first.excerpt
    assert first.reasons[0].message == "not valid JSON"


@pytest.mark.parametrize("hidden", [True, False])
async def test_the_event_carries_the_phone_masked_and_the_contact_sealed(hidden: bool) -> None:
    store, received = FakeStore(), FakePublisher()
    reporter = {"name": "張女士", "phone": "13812345678", "hide_identity": hidden}
    [complaint_id] = await admit([submission(reporter=reporter)], "http", deps(store, received))
    body = received.sent[0][1]
    assert not contains_full_phone(body.decode())
    assert ("張女士" in body.decode()) is not hidden  # the name only when not hidden
    event = ComplaintReceived.model_validate_json(body)
    assert event.reporter is not None
    assert event.reporter.masked_phone == "138****5678"
    opened = CONTACTS.open_reporter(complaint_id, event.reporter)
    assert opened is not None
    assert (opened.name, opened.phone, opened.hide_identity) == ("張女士", "13812345678", hidden)


async def test_phones_and_a_hidden_name_in_the_residents_words_are_withheld() -> None:
    store, received = FakeStore(), FakePublisher()
    words = submission(
        description="我是張女士，樓道飛線充電，請打13812345678", location="3棟 張女士家門口"
    )
    await admit([words], "http", deps(store, received))
    event = ComplaintReceived.model_validate_json(received.sent[0][1])
    assert event.description == "我是***，樓道飛線充電，請打138****5678"
    assert event.location == "3棟 ***家門口"


def test_rejected_event_withholds_the_reporters_name() -> None:
    raw = orjson.dumps(
        {"source": "x", "channel": "fax", "reporter": {"name": "張女士", "phone": "13812345678"}}
    )
    escaped = b'{"channel": "fax", "reporter": {"name": "\\u5f35\\u5973\\u58eb"}}'
    for body in (raw, escaped):
        refusal = Refusal(Origin("ingress.complaints", 1, 7), body, "invalid")
        event = rejected_event(refusal, orjson.loads(body))
        assert "張女士" not in event.excerpt
        assert "\\u5f35" not in event.excerpt
        assert "***" in event.excerpt
        assert not contains_full_phone(event.excerpt)
