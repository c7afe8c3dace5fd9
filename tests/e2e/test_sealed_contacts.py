"""Reporters sealed on every topic: complaints, hidden and not, go through the four
processes (routing, reminders, escalations, a reopening, alerts, figures), and then
every topic but ``ingress.*`` is read back whole and every service's log scanned: no
full phone number and no hidden reporter's name, anywhere. The callback desk then opens
one contact through stats' audited door."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from devtools.loopback import produce
from shared.auth import hash_key
from shared.privacy import contains_full_phone
from shared.topics import (
    COMPLAINTS_ESCALATED,
    COMPLAINTS_RECEIVED,
    COMPLAINTS_REJECTED,
    COMPLAINTS_REMINDED,
    COMPLAINTS_ROUTED,
    COMPLAINTS_UPDATED,
    INGRESS_COMPLAINTS,
    NOTIFICATIONS_SENT,
    topic_specs,
)
from tests.e2e.conftest import Pipeline, PipelineFactory
from tests.support import collect, wait_for

pytestmark = pytest.mark.e2e

OPERATOR, DESK = "e2e-operator-key", "e2e-callback-desk-key"
KEYS = json.dumps(
    [
        {"name": "operator", "sha256": hash_key(OPERATOR), "scopes": ["admin"]},
        {"name": "callback-desk", "sha256": hash_key(DESK), "scopes": ["contact"]},
    ]
)
# Two keys: k2 seals, k1 is an older one still in the ring (a rotation in progress).
SEAL_KEYS = ",".join(f"{i}:{base64.b64encode(os.urandom(32)).decode()}" for i in ("k1", "k2"))
AS_OPERATOR = {"Authorization": f"Bearer {OPERATOR}"}
DUE_SCALE = "0.001"  # an urgent complaint's acknowledge window is 3.6 s

HIDDEN = {
    "S-1": ("隱名甲", "13911112222"),
    "S-3": ("隱名丙", "13933334444"),
    "S-4": ("隱名丁", "13944445555"),
    "S-5": ("隱名戊", "13955556666"),
}
OPEN = {"S-2": ("公開乙", "13922223333")}


def submission(ref: str, compound: str, description: str, **extra: Any) -> dict[str, Any]:
    name, phone = HIDDEN.get(ref) or OPEN[ref]
    return {
        "source": "hotline-12345",
        "source_ref": ref,
        "channel": "hotline",
        "compound_id": compound,
        "description": description,
        "reporter": {"name": name, "phone": phone, "hide_identity": ref in HIDDEN},
        **extra,
    }


def leaks(text: str) -> list[str]:
    """What must never be in clear: any full phone number, any hidden reporter's name."""
    found = [name for name, _ in HIDDEN.values() if name in text]
    return found + (["a full phone number"] if contains_full_phone(text) else [])


def as_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return json.dumps(value, ensure_ascii=False)


async def every_record(pipeline: Pipeline) -> list[dict[str, Any]]:
    """Every record of every topic of this deployment except ``ingress.*``."""
    probe = AIOKafkaConsumer(bootstrap_servers=pipeline.bootstrap_servers)
    await probe.start()
    try:
        existing = {t for t in await probe.topics() if t.startswith(pipeline.topic_prefix)}
    finally:
        await probe.stop()
    names = {pipeline.topic(spec.name) for spec in topic_specs()}
    ingress = {t for t in existing if t.removeprefix(pipeline.topic_prefix).startswith("ingress.")}
    # Every topic the services made is one the scan knows of.
    assert existing - ingress <= names, existing - ingress - names
    scanned = sorted(existing - ingress)
    return await collect(pipeline.bootstrap_servers, scanned, until=lambda r: False, timeout=10)


async def test_no_topic_but_ingress_and_no_log_holds_a_hidden_reporter_or_a_full_phone(
    start_pipeline: PipelineFactory,
) -> None:
    pipeline = start_pipeline(
        GONGZHI_DUE_SCALE=DUE_SCALE,
        GONGZHI_API_KEYS=KEYS,
        GONGZHI_CONTACT_SEAL_KEYS=SEAL_KEYS,
        GONGZHI_CONTACT_SEAL_KEY_ID="k2",
    )
    intake = httpx.AsyncClient(base_url=pipeline.url("intake"), timeout=30, headers=AS_OPERATOR)
    stats = httpx.AsyncClient(base_url=pipeline.url("stats"), timeout=30)

    async def submit(body: dict[str, Any]) -> str:
        answer = await intake.post("/v1/complaints", json=body)
        assert answer.status_code == 202, answer.text
        complaint_id: str = answer.json()["complaint_id"]
        return complaint_id

    async def view(complaint_id: str) -> dict[str, Any]:
        answer = await stats.get(f"/v1/complaints/{complaint_id}", headers=AS_OPERATOR)
        return answer.json() if answer.status_code == 200 else {}

    async def wait_until(complaint_id: str, check: Any) -> dict[str, Any]:
        async def reached() -> dict[str, Any] | None:
            current = await view(complaint_id)
            return current if current and check(current) else None

        found: dict[str, Any] = await wait_for(reached, timeout=90)
        return found

    try:
        # Urgent and never acknowledged: reminded, then escalated (alerts carry summaries).
        silent = await submit(
            submission("S-1", "cx-004", "消防通道被私家車長期占用，消防車開不進來，聯系13911112222")
        )
        # Not hidden: its name may travel; resolved, rated dissatisfied, so reopened.
        reopened = await submit(
            submission("S-2", "cx-007", "5棟電梯壞了兩個星期還沒修好", category="facility_repair")
        )
        # About the firm itself: the firm's alert shows neither name nor full phone.
        about_firm = await submit(
            submission("S-4", "cx-001", "物業公司收了停車費卻不管亂停車", category="property_fees")
        )
        # Over Kafka, as an outside system writes it: in clear on ingress.complaints only.
        over_kafka = submission("S-3", "cx-002", "供銷社宿舍2號樓有人飛線充電")
        refused = {**submission("S-5", "cx-002", "樓道堆放雜物"), "channel": "fax"}
        await produce(
            pipeline.bootstrap_servers,
            pipeline.topic(INGRESS_COMPLAINTS),
            [
                (b"hotline-12345:S-3", orjson.dumps(over_kafka)),
                (b"hotline-12345:S-5", orjson.dumps(refused)),
            ],
        )

        await wait_until(silent, lambda v: (v.get("escalation_level") or 0) >= 1)
        lead = (await wait_until(reopened, lambda v: v.get("lead") is not None))["lead"]
        for step in (
            {"type": "acknowledged", "actor_id": lead["responder_id"]},
            {"type": "resolved", "actor_id": lead["responder_id"], "note": "已更換電梯部件"},
            {"type": "rated", "actor_id": "resident", "rating": "dissatisfied"},
        ):
            answer = await intake.post(f"/v1/complaints/{reopened}/updates", json=step)
            assert answer.status_code == 202, answer.text
        await wait_until(
            reopened, lambda v: "reopened" in [t["type"] for t in v.get("timeline", [])]
        )
        await wait_until(about_firm, lambda v: v.get("lead") is not None)

        # The desk opens the silent complaint's contact: it was sealed with k2.
        desk = await stats.post(
            f"/v1/complaints/{silent}/contact",
            json={"reason": "回訪：核實消防通道占用情況"},
            headers={"Authorization": f"Bearer {DESK}"},
        )
        refused_desk = await stats.post(
            f"/v1/complaints/{silent}/contact",
            json={"reason": "回訪"},
            headers=AS_OPERATOR,
        )

        # Alerts have gone out for every complaint before the topics are read back.
        async def alerted() -> bool:
            records = await collect(
                pipeline.bootstrap_servers,
                [pipeline.topic(NOTIFICATIONS_SENT)],
                until=lambda r: False,
                timeout=2,
            )
            done = {r["value"]["complaint_id"] for r in records}
            return {silent, reopened, about_firm} <= done

        await wait_for(alerted, timeout=60)
        records = await every_record(pipeline)
        clear_input = await collect(
            pipeline.bootstrap_servers,
            [pipeline.topic(INGRESS_COMPLAINTS)],
            until=lambda r: len(r) >= 2,
            timeout=10,
        )
    finally:
        await intake.aclose()
        await stats.aclose()
        pipeline.stack.stop_all()  # so every log line is written before it is read

    assert desk.status_code == 200, desk.text
    assert (desk.json()["name"], desk.json()["phone"]) == HIDDEN["S-1"]
    assert refused_desk.status_code == 403

    # The scan sees what it must: every kind of event that carries a reporter, and the
    # clear input on ingress.complaints (so a clear phone would have been found).
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_topic.setdefault(record["topic"].removeprefix(pipeline.topic_prefix), []).append(record)
    for carrying in (
        COMPLAINTS_RECEIVED,
        COMPLAINTS_ROUTED,
        COMPLAINTS_UPDATED,
        COMPLAINTS_REMINDED,
        COMPLAINTS_ESCALATED,
        COMPLAINTS_REJECTED,
        NOTIFICATIONS_SENT,
    ):
        assert by_topic.get(carrying), f"nothing on {carrying}"
    assert any(leaks(as_text(r["value"])) for r in clear_input)
    received = [r["value"] for r in by_topic[COMPLAINTS_RECEIVED]]
    assert {e["reporter"]["contact"]["key_id"] for e in received} == {"k2"}
    assert {e["reporter"]["masked_phone"] for e in received} == {
        f"{phone[:3]}****{phone[-4:]}"
        for ref, (_, phone) in (HIDDEN | OPEN).items()
        if ref != "S-5"
    }
    # The reporter who did not ask to stay hidden keeps her name on the topics (policy).
    assert any(e["reporter"]["name"] == OPEN["S-2"][0] for e in received)

    found = {f"{r['topic']}@{r['offset']}": leaks(as_text(r["value"])) for r in records}
    assert {where: what for where, what in found.items() if what} == {}

    logs = sorted(pipeline.stack.log_dir.glob("*.log"))
    assert {p.stem for p in logs} >= {"intake", "routing", "notify", "stats"}
    for path in logs:
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            assert not leaks(line), f"{path.name}:{number}: {leaks(line)}"
