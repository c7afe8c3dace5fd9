"""Stats' settings, from the environment (``GONGZHI_*``)."""

from __future__ import annotations

from datetime import tzinfo

from pydantic import Field, SecretStr, model_validator

from services.stats.periods import zone
from shared.settings import ContactSealSettings, KeyedSettings

LOCAL_INTAKE_URL = "http://127.0.0.1:8080"
DEV_CONSOLE_SECRET = "gongzhi-dev-console-secret-not-for-production"


DEFAULT_TIMEZONE = "Asia/Shanghai"
"""The city's time zone, in which stats' days and months begin."""


class StatsSettings(ContactSealSettings, KeyedSettings):
    http_port: int = 8083
    timezone: str = DEFAULT_TIMEZONE
    """Days and months of the figures are the city's local calendar days."""
    snapshot_interval_seconds: float = Field(default=2.0, gt=0)
    """At most one snapshot per scope per interval: bursts of events coalesce."""
    snapshot_poll_seconds: float = Field(default=0.25, gt=0)
    public_figures: bool | None = None
    """Whether ``/v1/stats`` and ``/v1/scopes/…`` answer without a key (counts and rates
    only, no complaint's details). Unset: yes, except in production, where they need a
    key with the ``read`` scope. (``/dashboard`` now points to the console's desk, which
    always needs an operator's sign-in.)"""
    batch_max_records: int = Field(default=500, ge=1)
    """Records consumed per batch: each complaint's document is written once per batch
    and the scopes they touch are marked dirty once."""

    intake_url: str | None = None
    """Intake's public API, where the console posts a responder's updates with the
    responder's own key (``http://intake:8080``). Required in production; the local
    stack's intake otherwise."""
    console_secret: SecretStr | None = None
    """Seals the API keys of the console's signed-in users in its session store and
    signs its anti-forgery tokens (any long random string, shared by every stats copy).
    Required in production."""
    console_session_hours: float = Field(default=12.0, gt=0)
    """How long a console sign-in lasts."""
    policy_path: str | None = None
    """The routing policy (``GONGZHI_POLICY_PATH``, as routing reads it): the console
    names categories as the policy does. Unset: the shipped policy."""

    @model_validator(mode="after")
    def _console_settings_in_production(self) -> StatsSettings:
        if self.environment == "production":
            if not self.intake_url:
                raise ValueError("GONGZHI_INTAKE_URL must be set in production")
            if self.console_secret is None:
                raise ValueError("GONGZHI_CONSOLE_SECRET must be set in production")
        return self

    def intake_base_url(self) -> str:
        return self.intake_url or LOCAL_INTAKE_URL

    def console_key(self) -> str:
        if self.console_secret is not None:
            return self.console_secret.get_secret_value()
        return DEV_CONSOLE_SECRET

    @property
    def secure_cookies(self) -> bool:
        """Production is served over TLS (behind its proxy): its cookie says so."""
        return self.environment == "production"

    @property
    def tz(self) -> tzinfo:
        return zone(self.timezone)

    @property
    def figures_are_public(self) -> bool:
        if self.public_figures is None:
            return self.environment != "production"
        return self.public_figures
