"""Notify against the real broker, the real MongoDB-protocol server and real receivers."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.receivers import HttpReceiver, SmtpReceiver
from services.notify.settings import NotifySettings
from shared.privacy import contains_full_phone
from shared.settings import KafkaSettings, MongoSettings
from tests.unit.notify.builders import directory_data, responder

HOOK_SECRET = "new-hook-secret,old-hook-secret"
DING_SECRET = "SECdingtalk-test-secret"
RESPONDER_PHONE = "13900001111"


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


def directory_for(receiver: HttpReceiver) -> dict[str, Any]:
    hook = {"type": "webhook", "secret_env": "TEST_HOOK_SECRET"}
    return directory_data(
        [
            responder(
                "fire",
                "fire",
                contact_details=True,
                channels=[
                    {**hook, "url": f"{receiver.url}/hooks/fire"},
                    {"type": "email", "to": ["fire@example.org"]},
                ],
            ),
            responder(
                "pf-dianzhong",
                "property_firm",
                contact_details=False,
                channels=[
                    {**hook, "url": f"{receiver.url}/hooks/pf-dianzhong"},
                    {"type": "wecom", "key": "wecom-pf-key"},
                ],
            ),
            responder(
                "cx-001-committee",
                "committee",
                contact_details=False,
                channels=[
                    {
                        "type": "dingtalk",
                        "access_token": "ding-committee-token",
                        "secret_env": "TEST_DING_SECRET",
                    },
                    {"type": "sms", "phones": [RESPONDER_PHONE]},
                ],
            ),
            responder(
                "housing",
                "housing",
                contact_details=True,
                channels=[{**hook, "url": f"{receiver.url}/hooks/housing"}],
            ),
            responder(
                "cm-xueqiao",
                "community",
                contact_details=True,
                channels=[{**hook, "url": f"{receiver.url}/hooks/cm-xueqiao"}],
            ),
        ]
    )


@pytest.fixture
def notify_settings(
    tmp_path: Path,
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
    http_receiver: HttpReceiver,
    smtp_receiver: SmtpReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> NotifySettings:
    monkeypatch.setenv("TEST_HOOK_SECRET", HOOK_SECRET)
    monkeypatch.setenv("TEST_DING_SECRET", DING_SECRET)
    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(directory_for(http_receiver), allow_unicode=True))
    return NotifySettings(
        environment="test",
        kafka=kafka_settings,
        mongo=mongo_settings,
        directory_path=str(path),
        public_base_url="https://gongzhi.example",
        wecom_base_url=http_receiver.url,
        dingtalk_base_url=http_receiver.url,
        sms_gateway_url=f"{http_receiver.url}/sms",
        smtp_host="127.0.0.1",
        smtp_port=smtp_receiver.port,
        smtp_starttls=False,
        delivery_timeout_seconds=2.0,
        delivery_max_attempts=3,
        delivery_retry_base_seconds=0.05,
        delivery_retry_cap_seconds=0.5,
    )


@pytest.fixture(autouse=True)
def no_full_phone_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Whatever a notify test did, no log record may hold a full phone number."""
    caplog.set_level(logging.INFO)
    yield
    leaks = [
        record.getMessage()
        for record in caplog.records
        if contains_full_phone(record.getMessage())
        or contains_full_phone(json.dumps(_logged_fields(record), default=str, ensure_ascii=False))
    ]
    assert not leaks, leaks


_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({})))


def _logged_fields(record: logging.LogRecord) -> dict[str, object]:
    """What a handler put on the record (``extra=``) and its traceback: not the record's
    own timings and ids, whose digits can read as a phone number (a ``relativeCreated``
    of 573412.18012345678 holds one), which failed this check at random."""
    fields = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES}
    return fields | {"exc_text": record.exc_text}
