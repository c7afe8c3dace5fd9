"""docker-compose.yml run for real, without Docker: the real Kafka and the four services.

The configuration is the compose file's own, read with a ``.env`` made by
``deploy/new-env.sh`` (tests/integration/deploy/loopback.py says how names, ports and
mounts are mapped). Kafka runs the image's own setup step and broker from the cached
jars; MongoDB is FerretDB with authentication on (``--test-enable-new-auth``): it checks
passwords, but it has no roles, so the services' user is proven to authenticate apart
from root, not to be limited to readWrite (MongoDB enforces that; the unit tests check
the init script asks for it)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaConnectionError, KafkaError
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure

from devtools.compose_env import Compose, load_compose
from devtools.kafka_image import read_properties, server_properties
from devtools.stack import ServiceProcess
from shared.topics import STATS_SNAPSHOTS, topic_specs
from tests.integration.deploy.compose_kafka import (
    connects,
    env_values,
    new_env,
    run_kafka_init,
    sasl,
    wait_until_it_answers,
)
from tests.integration.deploy.loopback import (
    REPO,
    KafkaContainer,
    LoopbackMap,
    kafka_libs,
    process_environment,
)
from tests.support import wait_for

pytestmark = pytest.mark.integration

SERVICES = ("intake", "routing", "notify", "stats")
PRINCIPALS = ("admin", *SERVICES)
# A password that a mongodb:// URL would need escaped for (/ @ : % ? #).
AWKWARD_PASSWORD = "p/@ss:w%rd?#" + secrets.token_urlsafe(8)
API_KEY = secrets.token_urlsafe(24)


@dataclass
class Deployment:
    compose: Compose
    env: dict[str, str]
    loopback: LoopbackMap
    kafka: KafkaContainer
    root: Path


def dotenv(root: Path) -> dict[str, str]:
    out = new_env()
    path = root / ".env"
    path.write_text(out)
    env = env_values(out)
    env |= {
        "GONGZHI_PUBLIC_BASE_URL": "https://gongzhi.city.test",
        "GONGZHI_ALERT_BASE_URL": "http://alerts.city.test:9900",
        "MONGO_APP_PASSWORD": AWKWARD_PASSWORD,
    }
    return env


def operator_config(folder: Path) -> Path:
    """deploy/config as deploy/README.md has an operator fill it."""
    folder.mkdir(parents=True)
    shutil.copy(REPO / "shared" / "data" / "directory.yaml", folder / "directory.yaml")
    shutil.copy(REPO / "services" / "routing" / "data" / "policy.yaml", folder / "policy.yaml")
    keys = {
        "keys": [
            {
                "name": "hotline-12345",
                "sha256": hashlib.sha256(API_KEY.encode()).hexdigest(),
                "scopes": ["submit:hotline-12345", "update:resident", "read"],
            }
        ]
    }
    (folder / "api-keys.yaml").write_text(yaml.safe_dump(keys))
    shutil.copy(
        REPO / "deploy" / "config" / "kafka-systems.example.yaml", folder / "kafka-systems.yaml"
    )
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("compose")
    env = dotenv(root)
    compose = load_compose(REPO / "docker-compose.yml", env, profiles=frozenset({"monitoring"}))
    loopback = LoopbackMap(
        compose, root, sources={"./deploy/config": operator_config(root / "deploy-config")}
    )
    kafka = KafkaContainer(loopback, root / "kafka")
    kafka.setup()
    kafka.start()
    try:
        asyncio.run(
            wait_until_it_answers(loopback.address("kafka", 9092), env["KAFKA_ADMIN_PASSWORD"])
        )
        yield Deployment(compose, env, loopback, kafka, root)
    finally:
        kafka.stop()


@pytest.fixture
async def admin(deployment: Deployment) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(
        bootstrap_servers=deployment.loopback.address("kafka", 9092),
        **sasl("admin", deployment.env["KAFKA_ADMIN_PASSWORD"]),
    )
    await client.start()
    try:
        yield client
    finally:
        await client.close()


def test_the_broker_runs_the_configuration_the_image_writes(deployment: Deployment) -> None:
    written = read_properties(deployment.kafka.final_config.read_text())
    assert written == server_properties(deployment.loopback.environment("kafka"))
    log_dir = Path(written["log.dirs"])
    assert log_dir == deployment.loopback.mount_source("kafka-data")
    meta = read_properties((log_dir / "meta.properties").read_text())
    assert meta["cluster.id"] == deployment.env["KAFKA_CLUSTER_ID"]


@pytest.mark.parametrize("principal", PRINCIPALS)
async def test_each_principal_authenticates_on_the_client_listener(
    deployment: Deployment, principal: str
) -> None:
    password = deployment.env[f"KAFKA_{principal.upper()}_PASSWORD"]
    cluster = await connects(
        deployment.loopback.address("kafka", 9092), **sasl(principal, password)
    )
    assert cluster["cluster_id"] == deployment.env["KAFKA_CLUSTER_ID"]


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({}, id="no credentials"),
        pytest.param(sasl("intake", "not-the-password"), id="wrong password"),
        pytest.param(sasl("nobody", "x"), id="unknown principal"),
    ],
)
async def test_a_client_without_valid_credentials_is_refused(
    deployment: Deployment, options: dict[str, Any]
) -> None:
    with pytest.raises(KafkaConnectionError):
        await connects(deployment.loopback.address("kafka", 9092), **options)


async def test_the_controller_is_not_open_to_plaintext_clients(deployment: Deployment) -> None:
    with pytest.raises(KafkaConnectionError):
        await connects(deployment.loopback.address("kafka", 9093))


async def test_every_container_bootstraps_from_an_address_the_broker_advertises(
    deployment: Deployment,
) -> None:
    """A client follows the broker's metadata after the first answer: what the broker
    advertises must be what the containers were told (defect: localhost:19092)."""
    for name in deployment.compose.services:
        told = deployment.compose.environment(name).get("KAFKA_BOOTSTRAP_SERVERS")
        if told is None:
            continue
        client = deployment.loopback.environment(name)
        cluster = await connects(
            client["KAFKA_BOOTSTRAP_SERVERS"],
            **sasl(client["KAFKA_SASL_USERNAME"], client["KAFKA_SASL_PASSWORD"]),
        )
        advertised = {f"{b['host']}:{b['port']}" for b in cluster["brokers"]}
        assert advertised == {deployment.loopback.rewrite(name, told)}, name
        host = told.rpartition(":")[0]
        assert host in deployment.compose.services


@pytest.fixture(scope="module")
def kafka_init(deployment: Deployment) -> subprocess.CompletedProcess[str]:
    """The kafka-init job, run to completion with its compose environment."""
    return run_kafka_init(deployment.compose, deployment.loopback)


async def test_kafka_init_creates_every_topic_as_admin(
    kafka_init: subprocess.CompletedProcess[str], admin: AIOKafkaAdminClient
) -> None:
    assert kafka_init.returncode == 0, kafka_init.stderr
    topics = set(await admin.list_topics())
    assert {spec.name for spec in topic_specs()} <= topics
    [described] = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, STATS_SNAPSHOTS)]
    )
    configs = {entry[0]: entry[1] for entry in described.resources[0][4]}
    assert configs["cleanup.policy"] == "compact"


def test_the_compose_healthcheck_passes_against_the_broker(deployment: Deployment) -> None:
    test = deployment.compose.services["kafka"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    # The image's script, run from the jars: the same tool class.
    tool = deployment.root / "kafka-broker-api-versions.sh"
    tool.write_text(
        f"#!/bin/sh\nexec java -Xmx128m -cp '{kafka_libs()}/*' "
        'org.apache.kafka.tools.BrokerApiVersionsCommand "$@"\n'
    )
    tool.chmod(0o755)
    command = (
        deployment.loopback.rewrite("kafka", test[1])
        .replace("/opt/kafka/bin/kafka-broker-api-versions.sh", str(tool))
        .replace("/tmp/healthcheck.properties", str(deployment.root / "healthcheck.properties"))
    )
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.fixture(scope="module")
def mongodb(deployment: Deployment) -> Iterator[str]:
    """FerretDB on mongodb:27017's loopback port, authentication on, root from compose,
    then the services' user as deploy/mongo-init/ makes it (without roles: FerretDB
    has none)."""
    mongo = deployment.compose.environment("mongodb")
    port = deployment.loopback.port("mongodb", 27017)
    env = {
        **os.environ,
        "GONGZHI_LOCAL_DIR": str(deployment.root / "ferretdb"),
        "FERRETDB_DATA_DIR": str(deployment.root / "ferretdb"),
        "FERRETDB_PORT": str(port),
        "FERRETDB_DEBUG_PORT": "off",
        "FERRETDB_TEST_ENABLE_NEW_AUTH": "true",
        "FERRETDB_SETUP_DATABASE": "admin",
        "FERRETDB_SETUP_USERNAME": mongo["MONGO_INITDB_ROOT_USERNAME"],
        "FERRETDB_SETUP_PASSWORD": mongo["MONGO_INITDB_ROOT_PASSWORD"],
    }
    script = str(REPO / "deploy" / "local" / "ferretdb.sh")
    subprocess.run(["bash", script, "start"], env=env, check=True, stdout=subprocess.DEVNULL)
    try:
        asyncio.run(create_app_user(port, mongo))
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run(["bash", script, "stop"], env=env, check=False)


async def create_app_user(port: int, mongo: dict[str, str]) -> None:
    root: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        "127.0.0.1",
        port,
        username=mongo["MONGO_INITDB_ROOT_USERNAME"],
        password=mongo["MONGO_INITDB_ROOT_PASSWORD"],
        authSource="admin",
    )
    try:
        await root[mongo["MONGO_INITDB_DATABASE"]].command(
            "createUser",
            mongo["MONGO_INITDB_APP_USERNAME"],
            pwd=mongo["MONGO_INITDB_APP_PASSWORD"],
            roles=[],
        )
    finally:
        await root.close()


async def test_mongodb_refuses_anonymous_clients(mongodb: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(f"mongodb://{mongodb}/")
    try:
        with pytest.raises(OperationFailure, match="requires authentication"):
            await client["gongzhi"].list_collection_names()
    finally:
        await client.close()


async def test_mongodb_refuses_a_wrong_password(deployment: Deployment, mongodb: str) -> None:
    host, _, port = mongodb.partition(":")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        host,
        int(port),
        username=deployment.compose.environment("mongodb")["MONGO_INITDB_APP_USERNAME"],
        password="not-" + AWKWARD_PASSWORD,
        authSource="gongzhi",
        serverSelectionTimeoutMS=5000,
    )
    try:
        with pytest.raises(OperationFailure, match="Authentication failed"):
            await client["gongzhi"].list_collection_names()
    finally:
        await client.close()


@pytest.fixture(scope="module")
def services(
    deployment: Deployment, mongodb: str, kafka_init: subprocess.CompletedProcess[str]
) -> Iterator[dict[str, ServiceProcess]]:
    """The four services in compose's dependency order, each with its own environment."""
    assert kafka_init.returncode == 0, "compose starts no service before kafka-init succeeds"
    logs = deployment.root / "logs"
    started: dict[str, ServiceProcess] = {}
    try:
        for wave in (("routing", "notify", "stats"), ("intake",)):
            for name in wave:
                command = deployment.compose.services[name]["command"]
                assert command == ["python", "-m", f"services.{name}"]
                env = deployment.loopback.environment(name)
                port = int(env["GONGZHI_HTTP_PORT"].split(":")[-1])
                started[name] = ServiceProcess(
                    name=name,
                    port=deployment.loopback.port(name, port),
                    env=process_environment(env),
                    log_path=logs / f"{name}.log",
                )
                started[name].start()
            for name in wave:
                started[name].wait_healthy(timeout=120)
        yield started
    finally:
        for service in reversed(started.values()):
            service.terminate()


def test_the_four_services_come_up_healthy_with_the_compose_environment(
    services: dict[str, ServiceProcess],
) -> None:
    for name, service in services.items():
        response = httpx.get(f"{service.url}/health", timeout=5)
        assert response.status_code == 200, name
        assert response.json()["checks"] == {"mongodb": "ok", "kafka": "ok"}, name


def test_services_use_their_own_mongodb_user_with_an_unescaped_password(
    deployment: Deployment,
) -> None:
    for name in SERVICES:
        env = deployment.loopback.environment(name)
        assert env["MONGODB_PASSWORD"] == AWKWARD_PASSWORD
        assert (
            env["MONGODB_USERNAME"]
            != deployment.compose.environment("mongodb")["MONGO_INITDB_ROOT_USERNAME"]
        )


@pytest.fixture(scope="module")
async def routed_complaint(services: dict[str, ServiceProcess]) -> str:
    """A complaint submitted to intake and seen routed by stats: intake, routing and
    stats each produced or consumed with their own principal."""
    body = {
        "source": "hotline-12345",
        "source_ref": f"HL-{secrets.token_hex(4)}",
        "channel": "hotline",
        "compound_id": "cx-002",
        "description": "3棟2單元樓道有人飛線充電",
    }
    async with httpx.AsyncClient(timeout=10) as http:
        accepted = await http.post(
            f"{services['intake'].url}/v1/complaints",
            json=body,
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        assert accepted.status_code in (200, 201, 202), accepted.text
        complaint_id = accepted.json()["complaint_id"]

        async def routed() -> bool:
            view = await http.get(
                f"{services['stats'].url}/v1/complaints/{complaint_id}",
                headers={"Authorization": f"Bearer {API_KEY}"},
            )
            return view.status_code == 200 and view.json().get("status") not in (None, "received")

        await wait_for(routed, timeout=90)
    return str(complaint_id)


async def test_a_complaint_goes_through_with_the_per_service_principals(
    services: dict[str, ServiceProcess], routed_complaint: str
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        view = await http.get(
            f"{services['stats'].url}/v1/complaints/{routed_complaint}",
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
    assert view.json()["lead"], view.json()


def metric_names(text: str) -> set[str]:
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    return {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in suffixes.get(family.type, ())
    }


async def test_every_metric_on_the_dashboard_is_served(
    deployment: Deployment,
    services: dict[str, ServiceProcess],
    rates_exporter: subprocess.Popen[bytes],
    routed_complaint: str,
) -> None:
    served: set[str] = set()
    async with httpx.AsyncClient(timeout=10) as http:
        for service in services.values():
            served |= metric_names((await http.get(f"{service.url}/metrics")).text)
        text = await scrape_exporter(http, deployment, want="gongzhi_stats_rate_ratio")
        served |= metric_names(text)
    dashboard = (
        REPO / "deploy" / "monitoring" / "grafana" / "dashboards" / "gongzhi.json"
    ).read_text()
    used = set(re.findall(r"\b(gongzhi_\w+)\b", dashboard))
    assert used, "the dashboard queries no Gongzhi metric"
    assert used <= served, f"the dashboard queries metrics nothing serves: {used - served}"


@pytest.fixture(scope="module")
def rates_exporter(
    deployment: Deployment, services: dict[str, ServiceProcess]
) -> Iterator[subprocess.Popen[bytes]]:
    """The monitoring profile's exporter, reading the running stats."""
    spec = deployment.compose.services["rates-exporter"]
    env = deployment.loopback.environment("rates-exporter")
    # Its own listening address, moved like every other (ServiceProcess does this for
    # the services' GONGZHI_HTTP_PORT).
    env["GONGZHI_EXPORTER_HOST"] = "127.0.0.1"
    port = deployment.loopback.port("rates-exporter", int(env["GONGZHI_EXPORTER_PORT"]))
    env["GONGZHI_EXPORTER_PORT"] = str(port)
    log = (deployment.root / "logs" / "rates-exporter.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, *spec["command"][1:]],
        cwd=REPO,
        env=process_environment(env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    try:
        yield process
    finally:
        process.terminate()
        process.wait(30)


async def scrape_exporter(http: httpx.AsyncClient, deployment: Deployment, want: str) -> str:
    port = deployment.loopback.port("rates-exporter", 9108)
    found: list[str] = []

    async def ready() -> bool:
        try:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        except httpx.HTTPError:
            return False
        found[:] = [text]
        return "gongzhi_stats_figures_up 1.0" in text and f"{want}{{" in text

    await wait_for(ready, timeout=90, interval=1.0)
    return found[0]


async def test_kafka_keeps_topics_and_offsets_when_its_container_is_recreated(
    deployment: Deployment, services: dict[str, ServiceProcess]
) -> None:
    """A re-created container runs the image's setup again on the same volume."""
    bootstrap = deployment.loopback.address("kafka", 9092)
    credentials = sasl("admin", deployment.env["KAFKA_ADMIN_PASSWORD"])

    async def groups_and_topics() -> tuple[set[str], set[str]]:
        client = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **credentials)
        await client.start()
        try:
            groups = {g[0] for g in await client.list_consumer_groups()}
            return groups, set(await client.list_topics())
        finally:
            await client.close()

    groups_before, topics_before = await groups_and_topics()
    assert groups_before, "the services have committed no consumer group yet"
    deployment.kafka.stop()
    output = deployment.kafka.setup()
    assert "already formatted" in output.lower()
    deployment.kafka.start()

    async def back() -> bool:
        try:
            groups, topics = await groups_and_topics()
        except KafkaError:
            return False
        return groups_before <= groups and topics_before <= topics

    await wait_for(back, timeout=90, interval=1.0)
