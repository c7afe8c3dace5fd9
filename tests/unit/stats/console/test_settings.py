"""The console's settings have no defaults in production."""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import ValidationError

from services.stats.settings import DEV_CONSOLE_SECRET, LOCAL_INTAKE_URL, StatsSettings
from shared.auth import hash_key

KEYS = json.dumps([{"name": "ops", "sha256": hash_key("s3cret-ops"), "scopes": ["read"]}])
SEAL_KEYS = "k1:" + base64.b64encode(bytes(range(32))).decode()


def production(**console: str) -> StatsSettings:
    return StatsSettings(
        environment="production",
        api_keys=KEYS,
        tracking_secret="Tr4ck-1ng-x",
        contact_seal_keys=SEAL_KEYS,
        **console,  # type: ignore[arg-type]
    )


def test_production_needs_the_intake_url_and_the_console_secret() -> None:
    with pytest.raises(ValidationError, match="GONGZHI_INTAKE_URL must be set in production"):
        production(console_secret="9f8e7d6c5b4a")
    with pytest.raises(ValidationError, match="GONGZHI_CONSOLE_SECRET must be set in production"):
        production(intake_url="http://intake:8080")
    with pytest.raises(ValidationError, match="GONGZHI_CONSOLE_SECRET holds an example value"):
        production(intake_url="http://intake:8080", console_secret="change-me")
    settings = production(intake_url="http://intake:8080", console_secret="9f8e7d6c5b4a")
    assert settings.intake_base_url() == "http://intake:8080"
    assert settings.console_key() == "9f8e7d6c5b4a"
    assert settings.secure_cookies


def test_the_local_stack_talks_to_its_own_intake_with_a_dev_secret() -> None:
    settings = StatsSettings()
    assert settings.intake_base_url() == LOCAL_INTAKE_URL
    assert settings.console_key() == DEV_CONSOLE_SECRET
    assert not settings.secure_cookies
