"""Notify's settings, from the environment (``GONGZHI_*``)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.settings import ContactSealSettings


class NotifySettings(ContactSealSettings):
    http_port: int = 8082
    public_base_url: str = "http://127.0.0.1:8083"
    """Stats' public address: a person opens a complaint at
    ``{public_base_url}/console/complaints/{id}`` (the alerts' texts), a system reads it
    at ``{public_base_url}/v1/complaints/{id}`` (the webhook's ``link``)."""
    templates_dir: str | None = None
    """A folder of message templates that replaces the shipped ones (same file names)."""

    wecom_base_url: str = "https://qyapi.weixin.qq.com"
    dingtalk_base_url: str = "https://oapi.dingtalk.com"
    sms_gateway_url: str | None = None
    sms_gateway_token: SecretStr | None = None

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "gongzhi@localhost"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool | None = None
    """True: require STARTTLS; False: never; unset: use it when the server offers it."""
    smtp_use_tls: bool = False
    """Implicit TLS from the first byte (port 465)."""

    delivery_timeout_seconds: float = Field(default=10.0, gt=0)
    delivery_max_attempts: int = Field(default=5, ge=1)
    delivery_retry_base_seconds: float = Field(default=2.0, gt=0)
    delivery_retry_cap_seconds: float = Field(default=300.0, gt=0)
    delivery_concurrency: int = Field(default=64, ge=1)
    """Attempts in flight at once, over every destination."""
    per_destination_concurrency: int = Field(default=8, ge=1)
    """Attempts in flight at once to one destination (a host, the SMTP server): a dead
    receiver holds no more than these."""
    smtp_sessions: int = Field(default=4, ge=1)
    """SMTP sessions kept open and reused."""
    outcome_flush_seconds: float = Field(default=0.05, gt=0)
    outcome_batch: int = Field(default=200, ge=1)
    """Outcomes are recorded and reported together, at most this long after the first
    or as soon as this many are waiting."""
    batch_max_records: int = Field(default=500, ge=1)
