"""The four services answer as their OpenAPI documents say (schemathesis).

The services run as processes on the real broker and database, as the e2e tests
start them; schemathesis loads each one's ``/openapi.json`` and generates requests
for every operation, valid and invalid, with an operator's key, and for intake and
stats with a property firm's key too (refused the figures and other responders'
updates: 403). Its ``ignored_auth`` check repeats each successful request without
the key and with a wrong one, which must answer 401. Every built-in check runs: no 5xx, every status, content type,
header and body as documented, invalid input refused and valid input accepted.

The figures are run private (``GONGZHI_PUBLIC_FIGURES=false``), so their doors are
checked too; that the public setting is documented is a unit test's business."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation

from devtools.loopback import free_port
from devtools.receivers import HttpReceiver, SmtpReceiver
from devtools.stack import Stack
from shared.auth import hash_key
from tests.support import Infra, unique_name, wait_for

Case = schemathesis.Case[Any]

pytestmark = pytest.mark.integration

OPERATOR_KEY = "conformance-operator-key"
FIRM_KEY = "conformance-firm-key"
AUTH = {"Authorization": f"Bearer {OPERATOR_KEY}"}
FIRM = {"Authorization": f"Bearer {FIRM_KEY}"}
"""A property firm's key: acts as pf-dianzhong only, reads only its complaints, and is
refused the figures (403), which the documents must say too."""
SERVICES = ("intake", "routing", "notify", "stats")

# Bounded so that the four together stay within a few minutes on two cores; each
# example is a real request through Kafka and MongoDB.
EXAMPLES = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    receiver = HttpReceiver().start()
    smtp = SmtpReceiver().start()
    ports = {name: free_port() for name in SERVICES}
    keys = [
        # ``contact`` too (admin does not imply it), so the callback desk's door is opened.
        {"name": "operator", "sha256": hash_key(OPERATOR_KEY), "scopes": ["admin", "contact"]},
        {"name": "firm", "sha256": hash_key(FIRM_KEY), "scopes": ["update:pf-dianzhong"]},
    ]
    stack = Stack(
        env=infra.service_env(
            KAFKA_TOPIC_PREFIX=unique_name("oa") + ".",
            MONGODB_DATABASE=unique_name("oa"),
            KAFKA_TOPIC_PARTITIONS="2",
            GONGZHI_ENVIRONMENT="test",
            GONGZHI_API_KEYS=json.dumps(keys),
            GONGZHI_PUBLIC_FIGURES="false",
            # Generated requests come fast; the 429 door is tested on its own.
            GONGZHI_RATE_PER_SECOND="100000",
            GONGZHI_RATE_BURST="100000",
            GONGZHI_ALERT_BASE_URL=receiver.url,
            GONGZHI_WEBHOOK_SECRET="conformance-webhook-secret",
            GONGZHI_SMTP_HOST="127.0.0.1",
            GONGZHI_SMTP_PORT=str(smtp.port),
            GONGZHI_PUBLIC_BASE_URL=f"http://127.0.0.1:{ports['stats']}",
        ),
        log_dir=Path(tmp_path_factory.mktemp("openapi-logs")),
        ports=ports,
    )
    for name in ("routing", "intake", "notify", "stats"):
        stack.add(name)
    try:
        stack.start_all()
        yield stack
    finally:
        stack.stop_all()
        receiver.stop()
        smtp.stop()


def api(stack: Stack, name: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{stack[name].url}/openapi.json")


@pytest.fixture(scope="module")
def intake_api(stack: Stack) -> schemathesis.BaseSchema:
    return api(stack, "intake")


@pytest.fixture(scope="module")
def routing_api(stack: Stack) -> schemathesis.BaseSchema:
    return api(stack, "routing")


@pytest.fixture(scope="module")
def notify_api(stack: Stack) -> schemathesis.BaseSchema:
    return api(stack, "notify")


@pytest.fixture(scope="module")
def stats_api(stack: Stack) -> schemathesis.BaseSchema:
    return api(stack, "stats")


intake = schemathesis.pytest.from_fixture("intake_api")
routing = schemathesis.pytest.from_fixture("routing_api")
notify = schemathesis.pytest.from_fixture("notify_api")
stats = schemathesis.pytest.from_fixture("stats_api")


SEEN: Counter[tuple[str, str, int]] = Counter()
"""Requests sent per operation and status, printed at the end (``-s``)."""


@pytest.fixture(scope="module", autouse=True)
def tally() -> Iterator[None]:
    yield
    print("\nschemathesis requests per service, operation and status:")
    for (service, label, status), count in sorted(SEEN.items()):
        print(f"  {count:5d}  {status}  {service} {label}")
    operations = {(service, label) for service, label, _ in SEEN}
    print(f"  {SEEN.total():5d}  in all, {len(operations)} operations")


def conform(service: str, case: Case, credentials: dict[str, str] = AUTH) -> None:
    """Send the case with a key and run every check on the answer."""
    for name, value in list((case.headers or {}).items()):
        # A key reused with another body is refused (422 idempotency_conflict, as
        # documented); generated cases reuse short keys often, and a schema-valid
        # request must then be accepted, so each valid key is made fresh.
        if name.lower() == "idempotency-key" and isinstance(value, str) and len(value) <= 200:
            case.headers[name] = uuid.uuid4().hex
    headers = credentials
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER):
        # The case broke its headers on purpose (left out Authorization, say): adding
        # the key would mend it, and a mended request is rightly answered 200.
        headers = {}
    response = case.call_and_validate(headers=headers)
    SEEN[(service, case.operation.label, response.status_code)] += 1


@intake.parametrize()
@EXAMPLES
def test_intake_answers_as_documented(case: Case) -> None:
    conform("intake", case)


@intake.parametrize()
@EXAMPLES
def test_intake_answers_a_firms_key_as_documented(case: Case) -> None:
    conform("intake", case, FIRM)


@routing.parametrize()
@EXAMPLES
def test_routing_answers_as_documented(case: Case) -> None:
    conform("routing", case)


@notify.parametrize()
@EXAMPLES
def test_notify_answers_as_documented(case: Case) -> None:
    conform("notify", case)


@stats.parametrize()
@EXAMPLES
def test_stats_answers_as_documented(case: Case) -> None:
    conform("stats", case)


@stats.parametrize()
@EXAMPLES
def test_stats_answers_a_firms_key_as_documented(case: Case) -> None:
    conform("stats", case, FIRM)


def test_a_real_complaint_and_its_figures_read_as_documented(
    stack: Stack, stats_api: schemathesis.BaseSchema, intake_api: schemathesis.BaseSchema
) -> None:
    """Generated ids name no complaint, so a real one is submitted and its view, the
    figures (JSON and CSV), the opening of its contact and routing's answers to its updates are
    checked against the documents."""
    complaint = {
        "source": "hotline-12345",
        "source_ref": unique_name("oa"),
        "channel": "hotline",
        "compound_id": "cx-001",
        "category": "flying_wire_charging",
        "description": "3棟2單元樓道有人飛線充電",
        "reporter": {"name": "張女士", "phone": "13812345678", "hide_identity": True},
    }
    answer = httpx.post(f"{stack['intake'].url}/v1/complaints", json=complaint, headers=AUTH)
    assert answer.status_code == 202, answer.text
    complaint_id = answer.json()["complaint_id"]
    token = answer.json()["tracking_token"]

    async def routed() -> bool:
        async with httpx.AsyncClient() as client:
            view = await client.get(
                f"{stack['stats'].url}/v1/complaints/{complaint_id}", headers=AUTH
            )
        return view.status_code == 200 and view.json()["lead"] is not None

    asyncio.run(wait_for(routed, timeout=60))
    view = stats_api["/v1/complaints/{complaint_id}"]["GET"]
    checked: list[tuple[Case, dict[str, Any]]] = [
        (view.Case(path_parameters={"complaint_id": complaint_id}), AUTH),
        (view.Case(path_parameters={"complaint_id": complaint_id}), {"X-Tracking-Token": token}),
        (stats_api["/v1/stats"]["GET"].Case(query={}), AUTH),
        (stats_api["/v1/stats"]["GET"].Case(query={"format": "csv"}), AUTH),
    ]
    for case, headers in checked:
        response = case.call_and_validate(headers=headers)
        assert response.status_code == 200, response.text
    masked = view.Case(path_parameters={"complaint_id": complaint_id}).call(
        headers={"X-Tracking-Token": token}
    )
    assert "13812345678" not in masked.text

    # The callback desk opens the sealed contact: the full phone, as documented.
    contact = stats_api["/v1/complaints/{complaint_id}/contact"]["POST"].Case(
        path_parameters={"complaint_id": complaint_id},
        body={"reason": "callback about the rating"},
        media_type="application/json",
    )
    opened = contact.call_and_validate(headers=AUTH)
    assert opened.status_code == 200, opened.text
    assert opened.json()["phone"] == "13812345678"

    # Routing's answers to updates, which generated ids never reach: each status and
    # body as the update operation documents it.
    shown = view.Case(path_parameters={"complaint_id": complaint_id}).call(headers=AUTH).json()
    lead = shown["lead"]["responder_id"]
    support = shown["support"][0]["responder_id"]
    update = intake_api["/v1/complaints/{complaint_id}/updates"]["POST"]
    steps = [
        ({"type": "resolved", "actor_id": lead}, 409, "not_allowed"),
        ({"type": "acknowledged", "actor_id": support}, 403, "not_assigned"),
        ({"type": "acknowledged", "actor_id": lead}, 202, None),
        ({"type": "rated", "actor_id": "resident", "rating": "satisfied"}, 409, "not_allowed"),
    ]
    for body, status, code in steps:
        case = update.Case(
            path_parameters={"complaint_id": complaint_id},
            body=body,
            media_type="application/json",
        )
        response = case.call_and_validate(headers=AUTH)
        assert response.status_code == status, (body, response.text)
        if code is not None:
            assert response.json()["code"] == code, response.text
