"""Intake's settings, from the environment (``GONGZHI_*``)."""

from __future__ import annotations

from pydantic import Field

from shared.auth import DEMO_API_KEY as DEMO_API_KEY
from shared.settings import ContactSealSettings, KeyedSettings


class IntakeSettings(ContactSealSettings, KeyedSettings):
    http_port: int = 8080
    update_answer_seconds: float = Field(default=10.0, gt=0)
    """How long an HTTP update waits for routing's answer before it is answered
    ``queued`` (routing applies it when it catches up)."""
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    rate_per_second: float = Field(default=200.0, gt=0)
    rate_burst: int = Field(default=400, ge=1)
    batch_max_records: int = Field(default=500, ge=1)
    """``ingress.complaints`` records consumed, recorded and published per batch."""
    group_commit_ms: float = Field(default=2.0, ge=0)
    """How long the first HTTP submission of a group waits for others to join it."""
    group_commit_max: int = Field(default=256, ge=1)
    """Most HTTP submissions written and published together."""
    group_commit_in_flight: int = Field(default=4, ge=1)
    """Groups written at the same time."""
