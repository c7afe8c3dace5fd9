"""Property-based fuzzing of intake's two doors: the HTTP API and ``ingress.complaints``.

No input may cause a 5xx or a crash, and every message on the topic must end as
accepted, rejected with a reason, or dead-lettered: none unaccounted for."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.loopback import produce
from services.intake.settings import DEMO_API_KEY
from shared.http_errors import ErrorBody
from shared.ids import complaint_id_for
from shared.topics import (
    COMPLAINTS_RECEIVED,
    COMPLAINTS_REJECTED,
    INGRESS_COMPLAINTS,
    dead_letter_topic,
)
from tests.support import Infra, collect, lone_service, unique_name

pytestmark = pytest.mark.integration

AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}"}
FIELDS = ("source", "source_ref", "channel", "compound_id", "category", "description",
          "location", "reporter", "occurred_at")  # fmt: skip

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)


@st.composite
def near_valid(draw: st.DrawFn) -> dict[str, Any]:
    """A valid complaint with a few fields dropped, retyped, or added."""
    ref = draw(st.uuids()).hex
    body: dict[str, Any] = {
        "source": "fuzz",
        "source_ref": ref,
        "channel": draw(st.sampled_from(["hotline", "web", "wechat", "app", "fax", ""])),
        "compound_id": draw(st.sampled_from(["cx-001", "cx-002", "nowhere", ""])),
        "description": draw(st.text(min_size=0, max_size=120)),
        "reporter": {
            "name": draw(st.text(max_size=10)),
            "phone": draw(
                st.sampled_from(["13812345678", "not a phone", "12", "+86 139 1234 5678"])
            ),
            "hide_identity": draw(st.booleans()),
        },
        "occurred_at": draw(
            st.sampled_from(["2026-11-28T08:00:00+08:00", "yesterday", "2026-11-28T08:00:00"])
        ),
    }
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=3)):
        if draw(st.booleans()):
            body.pop(field, None)
        else:
            body[field] = draw(json_values)
    if draw(st.integers(0, 9)) == 0:
        body[draw(st.text(min_size=1, max_size=8))] = draw(json_values)
    return body


@pytest.fixture(scope="module")
def intake(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with lone_service(
        infra,
        "intake",
        tmp_path_factory.mktemp("fuzz"),
        GONGZHI_RATE_PER_SECOND="100000",
        GONGZHI_RATE_BURST="100000",
        GONGZHI_MAX_BODY_BYTES="8192",
    ) as (service, prefix):
        yield {"url": service.url, "prefix": prefix, "bootstrap": infra.bootstrap_servers}


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=near_valid() | st.dictionaries(st.text(max_size=12), json_values, max_size=6))
def test_http_answers_every_body_without_a_server_error(
    intake: dict[str, str], body: dict[str, Any]
) -> None:
    answer = httpx.post(f"{intake['url']}/v1/complaints", json=body, headers=AUTH, timeout=30)
    assert answer.status_code in (202, 413, 422), answer.text
    if answer.status_code == 202:
        assert answer.json()["complaint_id"] == complaint_id_for(body["source"], body["source_ref"])
    else:
        refused = ErrorBody.model_validate(answer.json())  # the one error model
        assert refused.errors


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_http_survives_arbitrary_bytes(intake: dict[str, str], raw: bytes) -> None:
    answer = httpx.post(
        f"{intake['url']}/v1/complaints",
        content=raw,
        headers={**AUTH, "content-type": "application/json"},
        timeout=30,
    )
    assert answer.status_code in (400, 413, 422), answer.text
    assert ErrorBody.model_validate(answer.json()).errors


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    messages=st.lists(
        near_valid().map(lambda b: json.dumps(b).encode())
        | st.binary(max_size=200)
        | st.text(max_size=100).map(str.encode),
        min_size=40,
        max_size=80,
    )
)
def test_every_ingress_message_is_accepted_rejected_or_dead_lettered(
    intake: dict[str, str], messages: list[bytes]
) -> None:
    asyncio.run(_account_for(intake, messages))


async def _account_for(intake: dict[str, str], messages: list[bytes]) -> None:
    prefix, bootstrap = intake["prefix"], intake["bootstrap"]
    marker = unique_name("batch")  # one key: the whole batch on one partition, in order
    ingress = prefix + INGRESS_COMPLAINTS
    await produce(bootstrap, ingress, [(marker.encode(), m) for m in messages])
    sent = await collect(
        bootstrap,
        [ingress],
        until=lambda r: sum(x["key"] == marker for x in r) >= len(messages),
        timeout=30,
    )
    by_offset = {int(r["offset"]): r["value"] for r in sent if r["key"] == marker}
    by_ref = {
        v["source_ref"]: offset
        for offset, v in by_offset.items()
        if isinstance(v, dict) and isinstance(v.get("source_ref"), str)
    }

    def accounted(records: list[dict[str, Any]]) -> set[int]:
        done: set[int] = set()
        for record in records:
            value = record["value"]
            if record["topic"].endswith(COMPLAINTS_RECEIVED):
                if value.get("source_ref") in by_ref:
                    done.add(by_ref[value["source_ref"]])
            elif record["key"] != marker:
                continue
            elif record["topic"].endswith(COMPLAINTS_REJECTED):
                done.add(value["origin_offset"])
            else:
                done.add(int(record["headers"]["x-origin-offset"]))
        return done

    outcomes = [
        prefix + t for t in (COMPLAINTS_RECEIVED, COMPLAINTS_REJECTED, dead_letter_topic("intake"))
    ]
    records = await collect(
        bootstrap, outcomes, until=lambda r: set(by_offset) <= accounted(r), timeout=60
    )
    missing = set(by_offset) - accounted(records)
    assert not missing, (
        f"messages at offsets {sorted(missing)} were neither accepted, rejected nor dead-lettered"
    )
