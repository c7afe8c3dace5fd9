"""The docker-compose deployment cannot run here (no Docker engine), so check that it
holds every service, port and variable the code needs, and nothing the code ignores."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from shared.directory import (
    DingTalkChannel,
    WebhookChannel,
    default_directory_path,
    load_directory,
)
from shared.topics import topic_specs

REPO = Path(__file__).resolve().parent.parent.parent
SERVICES = {"intake": 8080, "routing": 8081, "notify": 8082, "stats": 8083}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return document


def settings_class(service: str) -> type[BaseSettings]:
    module = importlib.import_module(f"services.{service}.settings")
    cls: type[BaseSettings] = getattr(module, f"{service.capitalize()}Settings")
    return cls


def known_variables(cls: type[BaseSettings]) -> set[str]:
    """Environment variable names a settings class reads (top level and nested)."""
    names: set[str] = set()
    for name, field in cls.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
            prefix = annotation.model_config.get("env_prefix", "")
            names |= {f"{prefix}{sub}".upper() for sub in annotation.model_fields}
        else:
            names.add(f"{cls.model_config.get('env_prefix', '')}{name}".upper())
    return names


def directory_secrets() -> set[str]:
    """Variables the directory names for channel secrets (read by notify)."""
    directory = load_directory(default_directory_path())
    return {
        channel.secret_env
        for responder in directory.responders
        for channel in responder.channels
        if isinstance(channel, WebhookChannel | DingTalkChannel) and channel.secret_env
    }


def test_infrastructure_uses_the_official_images_with_healthchecks(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert "KAFKA_PROCESS_ROLES" in services["kafka"]["environment"]  # KRaft, no ZooKeeper
    assert services["mongodb"]["image"].startswith("mongo:")
    for name in ("kafka", "mongodb"):
        assert services[name]["healthcheck"]["test"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_runs_its_module_on_its_port_after_healthy_dependencies(
    compose: dict[str, Any], service: str
) -> None:
    spec = compose["services"][service]
    port = SERVICES[service]
    assert spec["command"] == ["python", "-m", f"services.{service}"]
    assert f"{port}:{port}" in spec["ports"]
    assert spec["environment"]["GONGZHI_HTTP_PORT"] == str(port)
    assert spec["healthcheck"]["test"]
    for dependency in ("kafka", "mongodb"):
        assert spec["depends_on"][dependency]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_is_one_the_service_reads(compose: dict[str, Any], service: str) -> None:
    environment = compose["services"][service]["environment"]
    assert {"KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL"} <= set(environment)
    unknown = set(environment) - known_variables(settings_class(service)) - directory_secrets()
    assert not unknown, f"{service} is given variables its settings ignore: {sorted(unknown)}"


def test_production_secrets_are_required_not_defaulted(compose: dict[str, Any]) -> None:
    text = (REPO / "docker-compose.yml").read_text()
    for secret in ("KAFKA_PASSWORD", "MONGO_PASSWORD", "GONGZHI_CONTACT_SEAL_KEY"):
        assert re.search(r"\$\{" + secret + r":\?", text), f"{secret} must use ${{VAR:?}}"
    intake = compose["services"]["intake"]["environment"]
    assert "GONGZHI_API_KEYS_FILE" in intake or "GONGZHI_API_KEYS" in intake
    assert compose["services"]["intake"]["depends_on"]["routing"]["condition"] == (
        "service_healthy"
    )
    assert intake["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    assert "@mongodb:" in intake["MONGODB_URL"]


def test_every_topic_is_created_at_start(compose: dict[str, Any]) -> None:
    script = "\n".join(compose["services"]["kafka-init"]["command"])
    for spec in topic_specs():
        assert spec.name in script, f"kafka-init does not create {spec.name}"
    assert "cleanup.policy=compact" in script
