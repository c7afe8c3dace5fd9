"""The compose deployment's Kafka as the deploy tests use it: a ``.env`` from
``deploy/new-env.sh``, SASL client options per principal, waiting for the broker to
answer, and the ``kafka-init`` job run with its compose environment."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from devtools.compose_env import Compose
from tests.integration.deploy.loopback import REPO, LoopbackMap, process_environment
from tests.support import wait_for


def new_env() -> str:
    """A ``.env`` as ``deploy/new-env.sh`` prints it."""
    return subprocess.run(
        ["bash", str(REPO / "deploy" / "new-env.sh")], check=True, capture_output=True, text=True
    ).stdout


def env_values(text: str) -> dict[str, str]:
    return {
        k: v for k, _, v in (line.partition("=") for line in text.splitlines()) if k and k[0] != "#"
    }


def sasl(principal: str, password: str) -> dict[str, Any]:
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN",
        "sasl_plain_username": principal,
        "sasl_plain_password": password,
    }


async def connects(bootstrap: str, **options: Any) -> dict[str, Any]:
    """The cluster as a client sees it after bootstrapping (raises when refused)."""
    client = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000, **options)
    try:
        await asyncio.wait_for(client.start(), 20)
        cluster: dict[str, Any] = await client.describe_cluster()
        return cluster
    finally:
        await client.close()


async def wait_until_it_answers(bootstrap: str, admin_password: str) -> None:
    """The port opens before the broker serves requests: wait for a real answer."""

    async def answers() -> bool:
        try:
            await connects(bootstrap, **sasl("admin", admin_password))
        except (KafkaError, TimeoutError):
            return False
        return True

    await wait_for(answers, timeout=90, interval=1.0)


def run_kafka_init(compose: Compose, loopback: LoopbackMap) -> subprocess.CompletedProcess[str]:
    """The kafka-init job, run to completion with its compose environment."""
    spec = compose.services["kafka-init"]
    assert spec["command"][:2] == ["python", "-m"]
    return subprocess.run(
        [sys.executable, *spec["command"][1:], "--timeout", "60"],
        cwd=REPO,
        env=process_environment(loopback.environment("kafka-init")),
        capture_output=True,
        text=True,
        timeout=120,
    )
