"""Fixtures for the real Kafka broker and MongoDB-protocol server.

Order of preference: ``KAFKA_BOOTSTRAP_SERVERS``/``MONGODB_URL`` when set (CI and
``make test`` start the local infrastructure and set them); else testcontainers when
a Docker engine answers; else this session starts a private local infrastructure."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from shared.settings import KafkaSettings, MongoSettings
from tests.support import Infra, start_local_infra, stop_local_infra, unique_name


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    bootstrap, mongodb_url = (
        os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
        os.environ.get("MONGODB_URL"),
    )
    if bootstrap and mongodb_url:
        yield Infra(bootstrap_servers=bootstrap, mongodb_url=mongodb_url)
        return
    if _docker_answers():
        from testcontainers.kafka import KafkaContainer
        from testcontainers.mongodb import MongoDbContainer

        with KafkaContainer().with_kraft() as kafka, MongoDbContainer() as mongo:
            yield Infra(
                bootstrap_servers=kafka.get_bootstrap_server(),
                mongodb_url=mongo.get_connection_url(),
            )
        return
    root = Path(tempfile.mkdtemp(prefix="gongzhi-infra-"))
    started = start_local_infra(root)
    try:
        yield started
    finally:
        stop_local_infra(started)


@pytest.fixture
def kafka_settings(infra: Infra) -> KafkaSettings:
    """Topics under a fresh prefix per test, so tests never read each other's events."""
    return KafkaSettings(
        bootstrap_servers=infra.bootstrap_servers,
        topic_prefix=unique_name("t") + ".",
        # Every test makes its own topics: two partitions each still lets two
        # instances share the work, and keeps a whole run light on the broker.
        topic_partitions=2,
    )


@pytest.fixture
def mongo_settings(infra: Infra) -> MongoSettings:
    """A fresh database per test, so tests never see each other's documents."""
    return MongoSettings(url=infra.mongodb_url, database=unique_name("test"))


@pytest.fixture
async def mongo_db(
    mongo_settings: MongoSettings,
) -> AsyncIterator[object]:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        mongo_settings.url.get_secret_value(), tz_aware=True
    )
    try:
        yield client[mongo_settings.database]
        await client.drop_database(mongo_settings.database)
    finally:
        await client.close()
