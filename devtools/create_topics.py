"""Create every Gongzhi topic, then exit: the compose deployment's ``kafka-init`` job.

Runs as the admin principal over the authenticated client listener (``KAFKA_*`` from the
environment, as the services read them), so the services themselves only ever find
their topics already there and need no right to create any. Idempotent: existing
topics are left as they are. Retries while the broker is still starting."""

from __future__ import annotations

import argparse
import asyncio
import logging
import time

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from shared.broker import admin_client_options, ensure_topics
from shared.settings import KafkaSettings
from shared.topics import topic_specs

log = logging.getLogger("create_topics")


async def create_topics(settings: KafkaSettings, timeout: float) -> list[str]:
    """Ensure every topic exists; the names the broker lists afterwards."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await ensure_topics(settings)
            return await _listed(settings)
        except (KafkaError, OSError) as error:
            if time.monotonic() >= deadline:
                raise
            log.warning("Kafka not ready (%s); retrying", error)
            await asyncio.sleep(2.0)


async def _listed(settings: KafkaSettings) -> list[str]:
    admin = AIOKafkaAdminClient(**admin_client_options(settings))
    await admin.start()
    try:
        return sorted(await admin.list_topics())
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to keep retrying")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = KafkaSettings()
    listed = set(asyncio.run(create_topics(settings, args.timeout)))
    wanted = {settings.topic(spec.name) for spec in topic_specs(settings.topic_partitions)}
    missing = sorted(wanted - listed)
    if missing:
        raise SystemExit(f"topics still missing after creation: {', '.join(missing)}")
    log.info("all %d topics exist on %s", len(wanted), settings.bootstrap_servers)


if __name__ == "__main__":
    main()
