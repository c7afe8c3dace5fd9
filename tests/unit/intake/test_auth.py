"""API keys, scopes and rate limits."""

from __future__ import annotations

import json

import pytest

from services.intake.settings import DEMO_API_KEY, IntakeSettings
from shared.auth import (
    ApiKey,
    KeyRing,
    RateLimiter,
    build_key_ring,
    hash_key,
    responders_of,
    tracking_token,
    tracking_token_opens,
)


def key(*scopes: str, name: str = "k") -> ApiKey:
    return ApiKey(name=name, sha256=hash_key(name + "-secret"), scopes=frozenset(scopes))


def test_submit_scope_is_per_source() -> None:
    hotline = key("submit:hotline-12345")
    assert hotline.allows("submit", "hotline-12345")
    assert not hotline.allows("submit", "wechat-mp")
    assert not hotline.allows("update", "pf-dianzhong")
    assert not hotline.allows("read")


def test_wildcard_and_admin_scopes() -> None:
    assert key("update:*").allows("update", "fire")
    assert key("admin").allows("submit", "anything")
    assert key("admin").allows("read")


def test_keys_are_found_by_hash_only() -> None:
    ring = KeyRing([key("read", name="reader")])
    assert ring.identify("reader-secret") is not None
    assert ring.identify("reader-secretx") is None


def test_rate_limiter_refuses_past_the_burst_and_says_how_long_to_wait() -> None:
    limiter = RateLimiter(rate_per_second=10, burst=3)
    k = key("read")
    assert [limiter.try_take(k, now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.try_take(k, now=100.0)
    assert wait == pytest.approx(0.1)
    assert limiter.try_take(k, now=100.2) == 0.0


def test_local_stack_accepts_the_demo_key_when_no_keys_are_configured() -> None:
    ring = build_key_ring(keys_json=None, keys_file=None, environment="local")
    assert ring.holds(DEMO_API_KEY)


def test_production_refuses_to_start_without_keys_or_tracking_secret() -> None:
    with pytest.raises(ValueError, match="API_KEYS_FILE must be set in production"):
        IntakeSettings(environment="production")
    keys = json.dumps([{"name": "hl", "sha256": hash_key("s3cret"), "scopes": ["submit:hl"]}])
    with pytest.raises(ValueError, match="TRACKING_SECRET must be set in production"):
        IntakeSettings(environment="production", api_keys=keys)


def test_a_tracking_token_opens_its_own_complaint_only() -> None:
    token = tracking_token("s3cret", "c-1")
    assert tracking_token_opens("s3cret", "c-1", token)
    assert not tracking_token_opens("s3cret", "c-2", token)
    assert not tracking_token_opens("other", "c-1", token)


def test_a_responder_key_reads_only_its_own_and_an_operator_key_everything() -> None:
    assert responders_of(key("update:pf-dianzhong", "update:resident")) == {"pf-dianzhong"}
    assert responders_of(key("read")) is None
    assert responders_of(key("admin")) is None
    assert responders_of(key("update:*", "submit:hl")) == set()


def test_the_local_stack_has_one_documented_key_per_role() -> None:
    ring = build_key_ring(keys_json=None, keys_file=None, environment="local")
    firm = ring.identify("gongzhi-demo-pf-dianzhong")
    operator = ring.identify("gongzhi-demo-operator")
    assert firm is not None
    assert responders_of(firm) == {"pf-dianzhong"}
    assert firm.allows("update", "pf-dianzhong")
    assert not firm.allows("update", "fire")
    assert operator is not None
    assert responders_of(operator) is None
    assert not operator.allows("update", "pf-dianzhong")


def test_production_refuses_every_demo_key() -> None:
    keys = json.dumps(
        [{"name": "f", "sha256": hash_key("gongzhi-demo-fire"), "scopes": ["update:fire"]}]
    )
    with pytest.raises(ValueError, match="demo API keys are not allowed"):
        build_key_ring(keys_json=keys, keys_file=None, environment="production")


def test_production_refuses_the_demo_key() -> None:
    keys = json.dumps([{"name": "d", "sha256": hash_key(DEMO_API_KEY), "scopes": ["admin"]}])
    with pytest.raises(ValueError, match="demo API key"):
        build_key_ring(keys_json=keys, keys_file=None, environment="production")


def test_configured_keys_replace_the_demo_key() -> None:
    keys = json.dumps([{"name": "hl", "sha256": hash_key("s3cret"), "scopes": ["submit:hl"]}])
    ring = build_key_ring(keys_json=keys, keys_file=None, environment="local")
    assert ring.holds("s3cret")
    assert not ring.holds(DEMO_API_KEY)
