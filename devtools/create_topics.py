"""Create every Gongzhi topic and give the broker exactly the ACLs of ``shared/access.py``,
then exit: the compose deployment's ``kafka-init`` job.

Runs as the admin principal (the super user) over the authenticated client listener
(``KAFKA_*`` from the environment, as the services read them). The outside systems with
a principal of their own come from the file ``GONGZHI_KAFKA_SYSTEMS_PATH`` names
(``deploy/config/kafka-systems.yaml``; unset: none); each responder listed there gets
its update topic. The services never need to create a topic, and may not.

Idempotent: existing topics are left as they are; missing ACLs are created, and every
ACL on this deployment's topics and groups that the table does not hold is deleted, so
a system taken off the list loses its rights at the next run. Retries while the broker
is still starting."""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from pydantic_settings import BaseSettings, SettingsConfigDict

from devtools.kafka_acls import AclRequestError, Changes, apply_acls, current_acls, managed_by
from shared.access import Acl, OutsideSystems, acls, grants, load_outside_systems
from shared.broker import admin_client_options
from shared.settings import KafkaSettings
from shared.topics import TopicSpec, topic_specs

log = logging.getLogger("create_topics")


class InitSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GONGZHI_", extra="ignore")

    kafka_systems_path: Path | None = None
    """The operator's list of outside systems (``shared.access.OutsideSystems``)."""


def outside_systems(settings: InitSettings) -> OutsideSystems:
    if settings.kafka_systems_path is None:
        return OutsideSystems()
    return load_outside_systems(settings.kafka_systems_path)


@dataclass(frozen=True)
class Plan:
    """What a deployment's Kafka must hold."""

    topics: tuple[TopicSpec, ...]
    acls: frozenset[Acl]


def plan(settings: KafkaSettings, systems: OutsideSystems) -> Plan:
    """The topics and ACLs for these settings (prefix, partitions) and outside systems."""
    return Plan(
        topics=tuple(topic_specs(settings.topic_partitions, systems.responders)),
        acls=acls(grants(systems), settings.topic_prefix, settings.topic_partitions),
    )


class InitError(RuntimeError):
    """The broker refused to create a topic, or does not hold what was asked for."""


async def create_missing_topics(settings: KafkaSettings, specs: tuple[TopicSpec, ...]) -> list[str]:
    """Create the topics that do not exist yet; the full names it created."""
    admin = AIOKafkaAdminClient(**admin_client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(settings.topic(spec.name), spec.partitions, 1, topic_configs=spec.config)
            for spec in specs
            if settings.topic(spec.name) not in existing
        ]
        if not missing:
            return []
        response = await admin.create_topics(missing)
    finally:
        await admin.close()
    created = []
    for topic, error_code, *message in response.topic_errors:
        error = for_code(error_code) if error_code else None
        if error is None:
            created.append(topic)
        elif error is not TopicAlreadyExistsError:
            raise InitError(f"cannot create {topic}: {error.__name__} {message[:1]}")
    return sorted(created)


async def listed_topics(settings: KafkaSettings) -> set[str]:
    admin = AIOKafkaAdminClient(**admin_client_options(settings))
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def apply(settings: KafkaSettings, wanted: Plan) -> Changes:
    """Topics, then ACLs; then check that the broker holds exactly them."""
    created = await create_missing_topics(settings, wanted.topics)
    for topic in created:
        log.info("created topic %s", topic)
    owned = managed_by(settings.topic_prefix)
    changes = await apply_acls(settings, wanted.acls, owned)
    missing = {settings.topic(spec.name) for spec in wanted.topics} - await listed_topics(settings)
    if missing:
        raise InitError(f"topics still missing after creation: {', '.join(sorted(missing))}")
    held = await current_acls(settings, owned)
    if held != wanted.acls:
        raise InitError(
            f"the broker's ACLs differ from the table: missing {sorted(wanted.acls - held)}, "
            f"extra {sorted(map(str, held - wanted.acls))}"
        )
    return changes


async def init_kafka(settings: KafkaSettings, wanted: Plan, timeout: float) -> Changes:
    """``apply``, retried while the broker is not ready yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await apply(settings, wanted)
        except (KafkaError, OSError, InitError, AclRequestError) as error:
            if time.monotonic() >= deadline:
                raise
            log.warning("Kafka not ready (%s); retrying", error)
            await asyncio.sleep(2.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to keep retrying")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = KafkaSettings()
    wanted = plan(settings, outside_systems(InitSettings()))
    changes = asyncio.run(init_kafka(settings, wanted, args.timeout))
    log.info(
        "all %d topics exist on %s; %d ACLs (%d created, %d deleted)",
        len(wanted.topics),
        settings.bootstrap_servers,
        len(wanted.acls),
        len(changes.created),
        len(changes.deleted),
    )


if __name__ == "__main__":
    main()
