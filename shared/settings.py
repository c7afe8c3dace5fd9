"""Settings every service shares; each service extends this with its own class."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    linger_ms: int = Field(default=5, ge=0)
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
    """How to reach the MongoDB-protocol server (credentials belong in the URL)."""

    model_config = SettingsConfigDict(env_prefix="MONGODB_", extra="ignore")

    url: SecretStr = SecretStr("mongodb://127.0.0.1:27017/")
    database: str = "gongzhi"


class ServiceSettings(BaseSettings):
    """The part of a service's settings that every service has."""

    model_config = SettingsConfigDict(env_prefix="GONGZHI_", extra="ignore")

    environment: Literal["local", "dev", "test", "production"] = "local"
    http_host: str = "127.0.0.1"
    log_level: str = "INFO"
    directory_path: str | None = None
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    mongo: MongoSettings = Field(default_factory=MongoSettings)
