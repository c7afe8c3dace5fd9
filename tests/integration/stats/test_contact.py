"""The callback desk's door to a reporter's contact, on the real broker and database:
stats keeps the contact sealed, opens it only for a key with the contact scope, and
records every opening."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from services.stats.app import create_app
from services.stats.contact import OPENINGS
from services.stats.settings import StatsSettings
from services.stats.store import COMPLAINTS
from shared.auth import hash_key
from shared.events import Channel, ComplaintReceived, Reporter
from shared.privacy import contains_full_phone
from shared.sealing import ContactKeyRing
from shared.settings import KafkaSettings, MongoSettings
from shared.topics import COMPLAINTS_RECEIVED
from tests.integration.stats.service import publish
from tests.support import serving, unique_name, wait_for

pytestmark = pytest.mark.integration

PHONE = "13812345678"
SEAL_KEY = os.urandom(32)
RING = ContactKeyRing({"k7": SEAL_KEY}, "k7")
KEYS = {
    "callback-desk": ("desk-key", ["contact"]),
    "operator": ("operator-key", ["read"]),
    "everything": ("admin-key", ["admin"]),
}


def settings(kafka: KafkaSettings, mongo: MongoSettings) -> StatsSettings:
    keys = [
        {"name": name, "sha256": hash_key(raw), "scopes": scopes}
        for name, (raw, scopes) in KEYS.items()
    ]
    return StatsSettings(
        environment="test",
        kafka=kafka,
        mongo=mongo,
        api_keys=json.dumps(keys),
        contact_seal_keys=f"k7:{base64.b64encode(SEAL_KEY).decode()}",
        snapshot_interval_seconds=0.5,
    )


def received(complaint_id: str, reporter: Reporter | None) -> ComplaintReceived:
    return ComplaintReceived(
        complaint_id=complaint_id,
        source="hotline-12345",
        source_ref=complaint_id,
        channel=Channel.HOTLINE,
        compound_id="cx-001",
        category="sanitation",
        description="垃圾堆放多日無人清理",
        reporter=None if reporter is None else RING.sealed_reporter(complaint_id, reporter),
        ingress="http",
    )


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[name][0]}"}


async def test_only_a_contact_key_opens_a_reporters_contact_and_each_opening_is_recorded(
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hidden, anonymous = unique_name("c"), unique_name("c")
    app = create_app(settings(kafka_settings, mongo_settings))
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_settings.url.get_secret_value()
    )
    db = client[mongo_settings.database]
    try:
        async with serving(app) as stats:
            await publish(
                kafka_settings.bootstrap_servers,
                kafka_settings,
                [
                    (
                        COMPLAINTS_RECEIVED,
                        received(hidden, Reporter(name="張女士", phone=PHONE, hide_identity=True)),
                    ),
                    (COMPLAINTS_RECEIVED, received(anonymous, None)),
                ],
            )

            async def both_counted() -> bool:
                answers = [
                    await stats.get(f"/v1/complaints/{c}", headers=bearer("operator"))
                    for c in (hidden, anonymous)
                ]
                return all(a.status_code == 200 for a in answers)

            await wait_for(both_counted, timeout=60)
            path = f"/v1/complaints/{hidden}/contact"
            reason = {"reason": "回訪：居民對處理結果的評價"}

            async def post(headers: dict[str, str], body: Any = reason) -> httpx.Response:
                return await stats.post(path, json=body, headers=headers)

            no_key = await post({})
            unknown_key = await post({"Authorization": "Bearer made-up"})
            read_only = await post(bearer("operator"))
            admin = await post(bearer("everything"))
            no_reason = await post(bearer("callback-desk"), {})
            opened = await post(bearer("callback-desk"))
            unknown = await stats.post(
                "/v1/complaints/c-no-such/contact", json=reason, headers=bearer("callback-desk")
            )
            nothing_sealed = await stats.post(
                f"/v1/complaints/{anonymous}/contact", json=reason, headers=bearer("callback-desk")
            )
            view = await stats.get(f"/v1/complaints/{hidden}", headers=bearer("operator"))
        stored = await db[COMPLAINTS].find_one({"_id": hidden})
        openings = [d async for d in db[OPENINGS].find({})]
    finally:
        await client.close()

    assert no_key.status_code == 401
    assert unknown_key.status_code == 401
    assert read_only.status_code == 403
    assert admin.status_code == 403  # admin does not imply the dedicated scope
    assert no_reason.status_code == 422
    assert unknown.status_code == 404
    assert nothing_sealed.status_code == 404
    assert opened.status_code == 200, opened.text
    contact = opened.json()
    assert (contact["name"], contact["phone"], contact["hide_identity"]) == (
        "張女士",
        PHONE,
        True,
    )
    # The refused callers learn nothing, the complaint's view stays masked.
    for refused in (no_key, unknown_key, read_only, admin, no_reason):
        assert PHONE not in refused.text
        assert "張女士" not in refused.text
    assert view.json()["reporter"] == {"name": None, "phone": "138****5678", "hide_identity": True}
    assert "contact" not in view.json()
    # Stored sealed, never in clear.
    assert stored is not None
    assert not contains_full_phone(json.dumps(stored, default=str, ensure_ascii=False))
    assert "張女士" not in json.dumps(stored, default=str, ensure_ascii=False)
    # One opening, one audit record: who, when, which complaint, why.
    [opening] = openings
    assert opening["_id"] == contact["opening_id"]
    assert (opening["complaint_id"], opening["key_name"], opening["reason"]) == (
        hidden,
        "callback-desk",
        reason["reason"],
    )
    assert opening["at"] is not None
    assert opening["seal_key_id"] == "k7"
    # It is logged (the service's JSON lines on stderr), and no log line holds the contact.
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line[:1] == "{"]
    logged = [line for line in lines if line["msg"] == "reporter contact opened"]
    assert len(logged) == 1
    assert (logged[0]["key_name"], logged[0]["complaint_id"]) == ("callback-desk", hidden)
    for line in lines:
        text = json.dumps(line, ensure_ascii=False)
        assert not contains_full_phone(text)
        assert "張女士" not in text
