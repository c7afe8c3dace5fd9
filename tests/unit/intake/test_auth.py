"""API keys, scopes and rate limits."""

from __future__ import annotations

import json

import pytest

from services.intake.app import build_key_ring
from services.intake.auth import ApiKey, KeyRing, RateLimiter, hash_key
from services.intake.settings import DEMO_API_KEY, IntakeSettings


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
    ring = build_key_ring(IntakeSettings(environment="local"))
    assert ring.holds(DEMO_API_KEY)


def test_production_refuses_to_start_without_keys() -> None:
    with pytest.raises(ValueError, match="must be set in production"):
        IntakeSettings(environment="production")


def test_production_refuses_the_demo_key() -> None:
    keys = json.dumps([{"name": "d", "sha256": hash_key(DEMO_API_KEY), "scopes": ["admin"]}])
    with pytest.raises(ValueError, match="demo API key"):
        build_key_ring(IntakeSettings(environment="production", api_keys=keys))


def test_configured_keys_replace_the_demo_key() -> None:
    keys = json.dumps([{"name": "hl", "sha256": hash_key("s3cret"), "scopes": ["submit:hl"]}])
    ring = build_key_ring(IntakeSettings(environment="local", api_keys=keys))
    assert ring.holds("s3cret")
    assert not ring.holds(DEMO_API_KEY)
