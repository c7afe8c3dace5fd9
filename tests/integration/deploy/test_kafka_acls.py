"""Kafka authorisation on the real broker: docker-compose.yml's kafka (SASL/PLAIN, the
StandardAuthorizer, nothing allowed without an ACL), its topics and ACLs made by the
kafka-init job from shared/access.py, run as compose runs it.

Besides the four services there are four outside systems: a source (the 12345 hotline),
two responders' systems (a property firm and the fire brigade) and a reader. Every
refusal is checked twice: the client gets an authorisation error, and the topic's end
offsets are what they were, so nothing was written. Each is paired with the same act by
a principal the table allows, so a refusal cannot come from a broken client."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    TopicAuthorizationFailedError,
    for_code,
)

from devtools.compose_env import Compose, load_compose
from devtools.kafka_acls import AclRequestError, apply_acls, current_acls, managed_by
from shared.access import Acl, Grant, OutsideSystems, acls, grants
from shared.broker import ensure_topics
from shared.settings import KafkaSettings
from shared.topics import (
    COMPLAINTS_RECEIVED,
    COMPLAINTS_ROUTED,
    INGRESS_COMPLAINTS,
    INGRESS_UPDATES,
    NOTIFICATIONS_SENT,
    STATS_SNAPSHOTS,
    responder_updates_topic,
    topic_specs,
)
from tests.integration.deploy.compose_kafka import (
    env_values,
    new_env,
    run_kafka_init,
    wait_until_it_answers,
)
from tests.integration.deploy.loopback import REPO, KafkaContainer, LoopbackMap

pytestmark = pytest.mark.integration

SOURCE = "hotline-12345"
FIRM = "pf-dianzhong"
FIRE = "fire"
READER = "city-data-office"
SYSTEMS = OutsideSystems(
    sources=(SOURCE,), responders=(FIRM, FIRE), readers={READER: (STATS_SNAPSHOTS,)}
)
SERVICES = ("intake", "routing", "notify", "stats")
PARTITIONS = 4
"""docker-compose.yml's KAFKA_TOPIC_PARTITIONS default: every topic has this many."""
WAIT = 30.0
"""Seconds a read waits for the records it expects."""
REFUSED_WRITE = (TopicAuthorizationFailedError, ClusterAuthorizationFailedError)
"""A principal that may write some topic is refused the others by topic; one that may
write none is refused its producer id first (idempotence needs WRITE on some topic)."""


@dataclass
class Broker:
    compose: Compose
    loopback: LoopbackMap
    passwords: dict[str, str]
    systems_file: Path

    @property
    def bootstrap(self) -> str:
        return self.loopback.address("kafka", 9092)

    def settings(self, principal: str) -> KafkaSettings:
        return KafkaSettings(
            bootstrap_servers=self.bootstrap,
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="PLAIN",
            sasl_username=principal,
            sasl_password=self.passwords[principal],
            topic_prefix="",
            topic_partitions=PARTITIONS,
        )

    def client(self, principal: str) -> dict[str, Any]:
        return {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "PLAIN",
            "sasl_plain_username": principal,
            "sasl_plain_password": self.passwords[principal],
            "request_timeout_ms": 15_000,
        }

    def init(self, systems: OutsideSystems) -> None:
        """kafka-init with this list of outside systems, as compose runs it."""
        self.systems_file.write_text(yaml.safe_dump(systems.model_dump(mode="json")))
        result = run_kafka_init(self.compose, self.loopback)
        assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    root = tmp_path_factory.mktemp("kafka-acls")
    env = env_values(new_env())
    outside = {name: secrets.token_urlsafe(18) for name in (SOURCE, FIRM, FIRE, READER)}
    env |= {
        "GONGZHI_PUBLIC_BASE_URL": "https://gongzhi.city.test",
        "GONGZHI_ALERT_BASE_URL": "http://alerts.city.test:9900",
        # As an operator adds them to .env (deploy/README.md).
        "KAFKA_SYSTEM_USERS": " ".join(f'user_{n}="{p}"' for n, p in outside.items()),
    }
    config = root / "deploy-config"
    config.mkdir()
    compose = load_compose(REPO / "docker-compose.yml", env)
    loopback = LoopbackMap(compose, root, sources={"./deploy/config": config})
    passwords = {
        "admin": env["KAFKA_ADMIN_PASSWORD"],
        **{name: env[f"KAFKA_{name.upper()}_PASSWORD"] for name in SERVICES},
        **outside,
    }
    deployment = Broker(compose, loopback, passwords, config / "kafka-systems.yaml")
    kafka = KafkaContainer(loopback, root / "kafka")
    kafka.setup()
    kafka.start()
    try:
        asyncio.run(wait_until_it_answers(deployment.bootstrap, passwords["admin"]))
        deployment.init(SYSTEMS)
        yield deployment
    finally:
        kafka.stop()


# --- Helpers: write, read, count --------------------------------------------------------


async def end_offsets(broker: Broker, topic: str) -> dict[int, int]:
    """The topic's end offset per partition, as the super user sees them."""
    consumer = AIOKafkaConsumer(**broker.client("admin"))
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        ends = await consumer.end_offsets(partitions)
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def send(broker: Broker, principal: str, topic: str, value: bytes = b"{}") -> None:
    """One record as the services send them (idempotent, acks=all)."""
    producer = AIOKafkaProducer(**broker.client(principal), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await asyncio.wait_for(producer.send_and_wait(topic, value, key=b"c-probe"), WAIT)
    finally:
        await producer.stop()


async def refused_write(broker: Broker, principal: str, topic: str) -> None:
    before = await end_offsets(broker, topic)
    with pytest.raises(REFUSED_WRITE):
        await send(broker, principal, topic)
    assert await end_offsets(broker, topic) == before, f"{principal} wrote to {topic}"


async def allowed_write(broker: Broker, principal: str, topic: str) -> None:
    before = await end_offsets(broker, topic)
    await send(broker, principal, topic)
    after = await end_offsets(broker, topic)
    assert sum(after.values()) == sum(before.values()) + 1, f"{principal} -> {topic}"


def marker() -> bytes:
    return f'{{"probe": "{secrets.token_hex(6)}"}}'.encode()


async def read_in_group(
    broker: Broker, principal: str, group: str, topics: Sequence[str], wanted: dict[str, bytes]
) -> None:
    """Join ``group``, read until each topic's ``wanted`` record arrives, commit."""
    consumer = AIOKafkaConsumer(
        *topics,
        **broker.client(principal),
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        missing = dict(wanted)

        async def drain() -> None:
            while missing:
                batches = await consumer.getmany(timeout_ms=500)
                for tp, records in batches.items():
                    if any(r.value == missing.get(tp.topic) for r in records):
                        missing.pop(tp.topic)

        await asyncio.wait_for(drain(), WAIT)
        await consumer.commit()
    finally:
        await consumer.stop()


async def read_without_group(
    broker: Broker, principal: str, topic: str, wanted: bytes, wait: float = WAIT
) -> bool:
    """Every partition of ``topic`` from the start, as shared/tail.py reads: whether
    ``wanted`` arrived within ``wait`` seconds."""
    consumer = AIOKafkaConsumer(**broker.client(principal), group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)

        async def drain() -> None:
            await consumer.seek_to_beginning(*partitions)
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                if any(r.value == wanted for rs in batches.values() for r in rs):
                    return

        try:
            await asyncio.wait_for(drain(), wait)
        except TimeoutError:
            return False
        return True
    finally:
        await consumer.stop()


async def topic_error(broker: Broker, principal: str, topic: str) -> type[Exception] | None:
    """The error the broker answers ``principal``'s request for ``topic``'s metadata."""
    admin = AIOKafkaAdminClient(**broker.client(principal))
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    code = described["error_code"]
    return for_code(code) if code else None


def grant_of(principal: str, systems: OutsideSystems = SYSTEMS) -> Grant:
    [grant] = [g for g in grants(systems) if g.principal == principal]
    return grant


# --- What kafka-init leaves -------------------------------------------------------------


async def test_kafka_init_gives_the_broker_exactly_the_tables_acls(broker: Broker) -> None:
    held = await current_acls(broker.settings("admin"), managed_by(""))
    assert held == acls(grants(SYSTEMS))
    assert Acl(f"User:{FIRM}", "TOPIC", responder_updates_topic(FIRM), "WRITE") in held


async def test_each_responder_system_has_its_update_topic_like_ingress_updates(
    broker: Broker,
) -> None:
    admin = AIOKafkaAdminClient(**broker.client("admin"))
    await admin.start()
    try:
        described = await admin.describe_topics(
            [INGRESS_UPDATES, *(responder_updates_topic(r) for r in SYSTEMS.responders)]
        )
    finally:
        await admin.close()
    counts = {t["topic"]: len(t["partitions"]) for t in described}
    assert set(counts.values()) == {PARTITIONS}, counts
    assert len(counts) == 1 + len(SYSTEMS.responders)


# --- The two doors of the issue ---------------------------------------------------------


@pytest.mark.parametrize("principal", ["notify", SOURCE, FIRM])
async def test_only_routing_writes_complaints_routed(broker: Broker, principal: str) -> None:
    await refused_write(broker, principal, COMPLAINTS_ROUTED)
    await allowed_write(broker, "routing", COMPLAINTS_ROUTED)


async def test_a_firm_cannot_post_an_update_as_another_responder(broker: Broker) -> None:
    await refused_write(broker, FIRM, responder_updates_topic(FIRE))
    await refused_write(broker, FIRM, INGRESS_UPDATES)
    await allowed_write(broker, FIRM, responder_updates_topic(FIRM))
    await allowed_write(broker, FIRE, responder_updates_topic(FIRE))


async def test_an_outside_system_writes_only_its_ingress_topic(broker: Broker) -> None:
    await allowed_write(broker, SOURCE, INGRESS_COMPLAINTS)
    await refused_write(broker, SOURCE, INGRESS_UPDATES)
    await refused_write(broker, SOURCE, COMPLAINTS_RECEIVED)
    await refused_write(broker, FIRM, INGRESS_COMPLAINTS)


# --- Every grant of the table works, as the services use it ------------------------------


@pytest.mark.parametrize("principal", [*SERVICES, SOURCE, FIRM, FIRE])
async def test_every_principal_writes_each_topic_it_is_granted(
    broker: Broker, principal: str
) -> None:
    for topic in grant_of(principal).writes:
        await allowed_write(broker, principal, topic)


@pytest.mark.parametrize("principal", [*SERVICES, READER])
async def test_every_principal_reads_its_topics_in_its_group(
    broker: Broker, principal: str
) -> None:
    grant = grant_of(principal)
    assert grant.groups, principal
    wanted = {topic: marker() for topic in grant.reads}
    for topic, value in wanted.items():
        await send(broker, "admin", topic, value)
    # Routing's hot-spot stage has a group of its own; each group may read every topic.
    for group in grant.groups:
        await read_in_group(broker, principal, group, grant.reads, wanted)


@pytest.mark.parametrize("principal", ["intake", "routing"])
async def test_services_follow_their_views_without_a_group(broker: Broker, principal: str) -> None:
    for topic in grant_of(principal).follows:
        value = marker()
        await send(broker, "admin", topic, value)
        assert await read_without_group(broker, principal, topic, value), (principal, topic)


# --- Reading what was not granted, joining another's group -----------------------------


@pytest.mark.parametrize(
    ("principal", "topic"),
    [
        ("notify", COMPLAINTS_RECEIVED),
        ("intake", COMPLAINTS_ROUTED),
        (FIRM, COMPLAINTS_ROUTED),
        (FIRM, responder_updates_topic(FIRE)),
        (SOURCE, COMPLAINTS_RECEIVED),
        (READER, COMPLAINTS_ROUTED),
    ],
)
async def test_a_principal_cannot_see_a_topic_it_was_not_granted(
    broker: Broker, principal: str, topic: str
) -> None:
    value = marker()
    await send(broker, "admin", topic, value)
    assert await topic_error(broker, principal, topic) is TopicAuthorizationFailedError
    # aiokafka retries the refused metadata without raising: the records never come.
    assert not await read_without_group(broker, principal, topic, value, wait=3.0)
    assert await read_without_group(broker, "admin", topic, value)


@pytest.mark.parametrize(
    ("principal", "topic"),
    [
        ("intake", COMPLAINTS_RECEIVED),
        ("notify", NOTIFICATIONS_SENT),
        (SOURCE, INGRESS_COMPLAINTS),
        (FIRM, responder_updates_topic(FIRM)),
    ],
)
async def test_writing_a_topic_does_not_allow_reading_it(
    broker: Broker, principal: str, topic: str
) -> None:
    """Describing the topic is allowed (it is written), so the fetch itself is refused."""
    assert await topic_error(broker, principal, topic) is None
    await send(broker, principal, topic)
    with pytest.raises(TopicAuthorizationFailedError):
        await read_without_group(broker, principal, topic, b"never")


async def test_a_principal_cannot_read_an_ungranted_topic_in_its_own_group(
    broker: Broker,
) -> None:
    value = marker()
    await send(broker, "admin", COMPLAINTS_RECEIVED, value)
    with pytest.raises(TopicAuthorizationFailedError):
        await read_in_group(
            broker, "notify", "gongzhi-notify", [COMPLAINTS_RECEIVED], {COMPLAINTS_RECEIVED: value}
        )


@pytest.mark.parametrize(
    ("principal", "group"),
    [("notify", "gongzhi-routing"), ("stats", "gongzhi-notify"), (READER, "gongzhi-stats")],
)
async def test_a_principal_cannot_join_another_services_group(
    broker: Broker, principal: str, group: str
) -> None:
    # A topic the intruder may read: only the group is refused.
    topic = grant_of(principal).reads[0]
    value = marker()
    await send(broker, "admin", topic, value)
    with pytest.raises(GroupAuthorizationFailedError):
        await read_in_group(broker, principal, group, [topic], {topic: value})


# --- No principal but admin creates topics or changes ACLs ------------------------------


@pytest.mark.parametrize("principal", [*SERVICES, FIRM])
async def test_only_admin_creates_topics(broker: Broker, principal: str) -> None:
    name = f"ingress.updates.{principal}-{secrets.token_hex(3)}"
    admin = AIOKafkaAdminClient(**broker.client(principal))
    await admin.start()
    try:
        response = await admin.create_topics([NewTopic(name, 1, 1)])
        [(topic, error_code, *_)] = response.topic_errors
        assert for_code(error_code) is TopicAuthorizationFailedError, (topic, error_code)
    finally:
        await admin.close()
    admin = AIOKafkaAdminClient(**broker.client("admin"))
    await admin.start()
    try:
        assert name not in await admin.list_topics()
    finally:
        await admin.close()


async def test_no_service_can_grant_itself_more(broker: Broker) -> None:
    more = Acl("User:notify", "TOPIC", COMPLAINTS_ROUTED, "WRITE")
    with pytest.raises(AclRequestError, match="ClusterAuthorizationFailed"):
        await apply_acls(broker.settings("notify"), [more], managed_by("\0nothing"))
    await refused_write(broker, "notify", COMPLAINTS_ROUTED)


async def test_services_find_their_topics_at_start_without_creating_any(broker: Broker) -> None:
    """shared.broker.ensure_topics, as each service calls it in its lifespan."""
    for service in SERVICES:
        counts = await ensure_topics(broker.settings(service))
        # The base table: ensure_topics does not know the responders' topics yet.
        used = grant_of(service, OutsideSystems()).topics
        assert used <= set(counts), f"{service} does not find {used - set(counts)}"
        assert set(counts.values()) == {PARTITIONS}


# --- kafka-init takes rights away again ----------------------------------------------------


async def test_kafka_init_revokes_a_removed_system_and_hand_made_acls(broker: Broker) -> None:
    hand_made = Acl("User:notify", "TOPIC", COMPLAINTS_ROUTED, "WRITE")
    await apply_acls(broker.settings("admin"), [*acls(grants(SYSTEMS)), hand_made], managed_by(""))
    await allowed_write(broker, "notify", COMPLAINTS_ROUTED)  # the hand-made ACL works

    without_fire = SYSTEMS.model_copy(update={"responders": (FIRM,)})
    try:
        await asyncio.to_thread(broker.init, without_fire)
        held = await current_acls(broker.settings("admin"), managed_by(""))
        assert held == acls(grants(without_fire))
        await refused_write(broker, "notify", COMPLAINTS_ROUTED)
        await refused_write(broker, FIRE, responder_updates_topic(FIRE))
        await allowed_write(broker, FIRM, responder_updates_topic(FIRM))
    finally:
        await asyncio.to_thread(broker.init, SYSTEMS)
    await allowed_write(broker, FIRE, responder_updates_topic(FIRE))


async def test_every_topic_of_the_deployment_exists(broker: Broker) -> None:
    admin = AIOKafkaAdminClient(**broker.client("admin"))
    await admin.start()
    try:
        listed = set(await admin.list_topics())
    finally:
        await admin.close()
    assert {spec.name for spec in topic_specs(PARTITIONS, SYSTEMS.responders)} <= listed
