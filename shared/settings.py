"""Settings every service shares; each service extends this with its own class."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.sealing import LEGACY_KEY_ID, ContactKeyRing, dev_key_ring, legacy_key, parse_keys

EXAMPLE_SECRET = re.compile(
    r"change[-_ ]?me|replace[-_ ]?me|example|placeholder|not[-_]for[-_]production"
    r"|^(secret|password|passw0rd|test|todo|xxx+|<.*>)$",
    re.IGNORECASE,
)
"""Values that come from a template or a demo, never from an operator: refused in
production (``${VAR:?}`` in compose only refuses empty ones)."""

SECRET_VARIABLE = re.compile(r"^GONGZHI_\w*(SECRET|PASSWORD|TOKEN|_KEY)$")
"""Environment variables read outside the settings classes that hold secrets: the
directory's ``secret_env`` names (``GONGZHI_WEBHOOK_SECRET`` ...)."""


class KafkaSettings(BaseSettings):
    """How to reach Kafka. SASL/TLS are optional and come only from the environment."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    topic_partitions: int = Field(default=4, ge=1)
    linger_ms: int = Field(default=0, ge=0)
    """How long the producer holds a batch for more. Every service hands a whole batch's
    events over before it awaits any, and aiokafka gathers what comes while a produce
    request is in flight, so a linger only delays: at 5 ms, each HTTP group commit
    waited it out and intake answered 1,783 requests/s against 2,139 at 0 (bench)."""
    fetch_wait_ms: int = Field(default=20, ge=0)
    """How long the broker may hold a consumer's fetch to gather ``fetch_min_bytes``: at
    moderate rates a batch then carries what arrived in that time, instead of the one or
    two records there were, and each batch's round trips (writes, produce, commit) are
    paid once for them. It is also the most a hop waits when records trickle in."""
    fetch_min_bytes: int = Field(default=256 * 1024, ge=1)
    poll_timeout_ms: int = Field(default=10, ge=1)
    """How long a batch consumer waits for records before it looks again. FastStream
    also sleeps this long after a poll that found none, so it bounds what an idle
    consumer adds to a hop (its default, 200 ms, added up to 200 ms per hop)."""
    topic_prefix: str = ""
    """Prepended to every topic name: lets several deployments (or test runs) share a
    cluster. Empty in production, so the public names hold as documented."""

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def group(self, name: str) -> str:
        """Consumer groups share the prefix: deployments on one cluster must not join
        each other's groups (every join or leave would pause all members)."""
        return f"{self.topic_prefix}{name}"


class MongoSettings(BaseSettings):
    """How to reach the MongoDB-protocol server.

    The credentials may be in the URL (percent-encoded) or, so that a password needs no
    escaping, in ``MONGODB_USERNAME``/``MONGODB_PASSWORD``; the user's database goes in
    the URL (``?authSource=gongzhi``)."""

    model_config = SettingsConfigDict(env_prefix="MONGODB_", extra="ignore")

    url: SecretStr = SecretStr("mongodb://127.0.0.1:27017/")
    database: str = "gongzhi"
    username: str | None = None
    password: SecretStr | None = None

    @model_validator(mode="after")
    def _username_with_password(self) -> MongoSettings:
        if (self.username is None) != (self.password is None):
            raise ValueError("MONGODB_USERNAME and MONGODB_PASSWORD must be set together")
        return self


class ServiceSettings(BaseSettings):
    """The part of a service's settings that every service has."""

    model_config = SettingsConfigDict(env_prefix="GONGZHI_", extra="ignore")

    environment: Literal["local", "dev", "test", "production"] = "local"
    http_host: str = "127.0.0.1"
    log_level: str = "INFO"
    directory_path: str | None = None
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    mongo: MongoSettings = Field(default_factory=MongoSettings)

    @model_validator(mode="after")
    def _no_example_secrets_in_production(self) -> ServiceSettings:
        if self.environment == "production":
            refuse_example_secrets(self, os.environ)
        return self


def refuse_example_secrets(settings: BaseModel, environ: Mapping[str, str]) -> None:
    """Fail, naming the variable, when a secret still holds a template's value.

    Checks every secret field (nested settings too) and the secret-looking ``GONGZHI_*``
    variables that code reads directly. A comma-separated value (old and new secret
    during a rotation) is checked part by part."""
    found = dict(_secret_fields(settings))
    found |= {name: value for name, value in environ.items() if SECRET_VARIABLE.match(name)}
    for name, value in sorted(found.items()):
        for part in value.split(","):
            if EXAMPLE_SECRET.search(part.strip()):
                raise ValueError(f"{name} holds an example value; set a real secret for production")


def _secret_fields(model: BaseModel) -> Iterator[tuple[str, str]]:
    """``(variable name, value)`` of every secret field, nested settings included."""
    prefix = str(model.model_config.get("env_prefix", ""))
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            yield f"{prefix}{name}".upper(), value.get_secret_value()
        elif isinstance(value, BaseModel):
            yield from _secret_fields(value)


DEV_TRACKING_SECRET = "gongzhi-dev-tracking-secret-not-for-production"


class KeyedSettings(ServiceSettings):
    """What a service that checks API keys and tracking tokens is given (intake, stats)."""

    api_keys_file: str | None = None
    """YAML list of ``{name, sha256, scopes, rate_per_second?, burst?}``; keys stored hashed."""
    api_keys: str | None = None
    """The same as JSON, for deployments that pass secrets as environment variables."""
    tracking_secret: SecretStr | None = None
    """Signs the tracking tokens residents get; intake and stats must share it."""

    @model_validator(mode="after")
    def _keys_and_secret_in_production(self) -> KeyedSettings:
        if self.environment == "production":
            if not (self.api_keys or self.api_keys_file):
                raise ValueError(
                    "GONGZHI_API_KEYS or GONGZHI_API_KEYS_FILE must be set in production"
                )
            if self.tracking_secret is None:
                raise ValueError("GONGZHI_TRACKING_SECRET must be set in production")
        return self

    def tracking_key(self) -> str:
        if self.tracking_secret is not None:
            return self.tracking_secret.get_secret_value()
        return DEV_TRACKING_SECRET


class ContactSealSettings(ServiceSettings):
    """What a service that seals or opens reporters' contacts is given (intake, notify,
    stats): the key ring of ``shared.sealing``, the same in all three."""

    contact_seal_keys: SecretStr | None = None
    """``id:base64,id:base64`` keys of 32 bytes; older ids stay while their blobs may
    still be read (topic retention, stored complaints)."""
    contact_seal_key_id: str | None = None
    """The key that seals; may be left out when the ring has one key."""
    contact_seal_key: SecretStr | None = None
    """The former single key (any string): still accepted, as key id ``legacy``."""

    @model_validator(mode="after")
    def _seal_keys_in_production(self) -> ContactSealSettings:
        if (
            self.environment == "production"
            and self.contact_seal_keys is None
            and self.contact_seal_key is None
        ):
            raise ValueError("GONGZHI_CONTACT_SEAL_KEYS must be set in production")
        self.contact_key_ring()  # a malformed ring fails at start, not at the first complaint
        return self

    def contact_key_ring(self) -> ContactKeyRing:
        keys: dict[str, bytes] = {}
        if self.contact_seal_keys is not None:
            keys = parse_keys(self.contact_seal_keys.get_secret_value())
        if self.contact_seal_key is not None:
            keys.setdefault(LEGACY_KEY_ID, legacy_key(self.contact_seal_key.get_secret_value()))
        if not keys:
            return dev_key_ring()
        current = self.contact_seal_key_id
        if current is None:
            if len(keys) > 1:
                raise ValueError(
                    "GONGZHI_CONTACT_SEAL_KEY_ID must name the sealing key when the ring "
                    "has several"
                )
            current = next(iter(keys))
        if current not in keys:
            raise ValueError(f"GONGZHI_CONTACT_SEAL_KEY_ID {current!r} is not in the key ring")
        return ContactKeyRing(keys, current)
