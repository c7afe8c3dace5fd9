"""The committed AsyncAPI document is what the code publishes: other systems build on it."""

from __future__ import annotations

import json
from pathlib import Path

from devtools.asyncapi import TOPIC_SCHEMAS, render

DOCUMENT = Path(__file__).resolve().parent.parent.parent / "docs" / "asyncapi.json"


def test_committed_document_matches_the_code() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == render(), (
        "docs/asyncapi.json is out of date: run `make docs` and commit it"
    )


def test_every_public_topic_is_documented_with_its_schema() -> None:
    document = json.loads(render())
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert set(TOPIC_SCHEMAS) <= addresses
    schemas = document["components"]["schemas"]
    for model in TOPIC_SCHEMAS.values():
        assert model.__name__ in schemas
    assert "EmptyPayload" not in schemas
    received = schemas["ComplaintReceived"]
    assert {"event_id", "occurred_at", "schema_version", "complaint_id"} <= set(
        received["properties"]
    )
